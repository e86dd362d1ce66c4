"""The run directory: config, metrics, checkpoints and completion markers.

Layout::

    runs/<recipe>__<seeds>__<timestamp>/
      config.yaml                 the resolved recipe (what ran)
      meta.json                   genloop version, bench, engine path, units, timings
      units/<unit>.parquet        one finished unit (a variant × seed, or a batch of seeds)
      units/<unit>.partial/       an unfinished unit: marker.json names the last finished
                                  generation; state_<g>.safetensors and rows_<g>.parquet
                                  hold what is needed to resume after it
      metrics.parquet             all finished units in long format
      artifacts/<unit>/           snapshots, samples, per-seed figures
      figures/                    what `genloop plot` wrote
      .lock                       held (fcntl.flock) by the one process running the run;
                                  holds that process's id

Metrics are long format: ``variant`` (str), ``seed`` (int), ``generation`` (int),
``metric`` (str), ``value`` (float). Every file is written to a temporary name and then
renamed, so a killed run leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from genloop.core.errors import ConfigError, DataError

METRIC_COLUMNS = ["variant", "seed", "generation", "metric", "value"]


# mkstemp makes files readable by the owner only; results should get the usual mode.
_UMASK = os.umask(0)
os.umask(_UMASK)


def _temporary(path: Path) -> Path:
    """A fresh, uniquely named file beside ``path``: writers never share a temporary."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, 0o666 & ~_UMASK)
    os.close(fd)
    return Path(tmp)


def atomic_write_with(path: Path, write) -> None:
    """Call ``write(temporary_path)``, then rename the temporary onto ``path``.

    A process killed at any moment leaves either the old file or the new one, never a
    part of one (at worst a stray ``.<name>.*.tmp`` beside it).
    """
    tmp = _temporary(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename."""
    atomic_write_with(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_parquet(path: Path, frame: pd.DataFrame) -> None:
    atomic_write_with(path, lambda tmp: frame.to_parquet(tmp, index=False))


def rows_frame(rows: list[tuple]) -> pd.DataFrame:
    """Long-format metrics from ``(variant, seed, generation, metric, value)`` tuples."""
    frame = pd.DataFrame(rows, columns=METRIC_COLUMNS)
    return frame.astype(
        {"variant": str, "seed": "int64", "generation": "int64", "metric": str, "value": "float64"}
    )


def columns_frame(variant: str, seeds: np.ndarray, blocks: list[tuple]) -> pd.DataFrame:
    """Long-format metrics of a batch of seeds from ``(generation, metric, values)`` blocks.

    Fast paths log one value per seed (``values`` of shape (S,), aligned with ``seeds``)
    for each metric and generation; NaN values are dropped. The frame is built from numpy
    columns (no Python object per row: 10,000 seeds x 100 generations x 10 metrics is 10
    million rows), already ordered by seed, generation and metric, with ``variant`` and
    ``metric`` as categoricals (:func:`write_metrics` stores them as plain strings).
    """
    if not blocks:
        return rows_frame([])
    names = sorted({block[1] for block in blocks})
    code = {name: i for i, name in enumerate(names)}
    # Order the blocks (few) rather than the rows (many): then a transpose sorts the rows.
    blocks = sorted(blocks, key=lambda block: (block[0], code[block[1]]))
    values = np.stack([block[2] for block in blocks], axis=1)  # (S, blocks)
    keep = ~np.isnan(values)
    per_seed = keep.sum(axis=1)
    generation = np.array([block[0] for block in blocks], dtype=np.int64)
    metric = np.array([code[block[1]] for block in blocks], dtype=np.int32)
    columns = np.broadcast_to(np.arange(len(blocks)), values.shape)[keep]
    return pd.DataFrame({
        "variant": pd.Categorical.from_codes(np.zeros(keep.sum(), np.int8), [variant]),
        "seed": np.repeat(np.asarray(seeds, dtype=np.int64), per_seed),
        "generation": generation[columns],
        "metric": pd.Categorical.from_codes(metric[columns], names),
        "value": values[keep],
    })


def write_metrics(path: Path, frame: pd.DataFrame) -> None:
    """Write a long-format metrics frame atomically; categorical columns as plain strings.

    Categoricals are written dictionary-encoded (cheap for millions of rows) without the
    Arrow/pandas schema metadata, so readers get the same string columns as from a frame
    of Python strings.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    atomic_write_with(path, lambda tmp: pq.write_table(table, tmp, store_schema=False))


def read_parquet(path: Path) -> pd.DataFrame:
    """Read a Parquet file, naming the file when it is missing or corrupted."""
    try:
        return pd.read_parquet(path)
    except FileNotFoundError:
        raise DataError(f"missing file: {path}") from None
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise DataError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None


def read_metrics(path: Path) -> pd.DataFrame:
    """A long-format metrics file with ``variant`` and ``metric`` as categoricals.

    Categories are sorted, so sorting and comparing behave as on strings, while masks,
    group-bys and takes over millions of rows work on integer codes.
    """
    frame = _read_unit(path)
    for name in ("variant", "metric"):
        frame[name] = frame[name].cat.reorder_categories(sorted(frame[name].cat.categories))
    return frame


def _read_unit(path: Path) -> pd.DataFrame:
    """A unit file with ``variant`` and ``metric`` as categoricals (no string per row)."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path, columns=METRIC_COLUMNS, read_dictionary=["variant", "metric"])
    except FileNotFoundError:
        raise DataError(f"missing file: {path}") from None
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise DataError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None
    return table.to_pandas()


def _sorted_metrics(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate long-format frames, ordered by variant, seed, generation, metric."""
    from pandas.api.types import union_categoricals

    def categories(name):
        return union_categoricals(
            [pd.Categorical(f[name].astype(str) if f[name].dtype != "category" else f[name])
             for f in frames], sort_categories=True,
        )

    variant, metric = categories("variant"), categories("metric")
    seed = np.concatenate([f["seed"].to_numpy(np.int64) for f in frames])
    generation = np.concatenate([f["generation"].to_numpy(np.int64) for f in frames])
    value = np.concatenate([f["value"].to_numpy(np.float64) for f in frames])
    keys = [variant.codes.astype(np.int64), seed, generation, metric.codes.astype(np.int64)]
    sizes = [len(variant.categories), int(seed.max(initial=0)) + 1,
             int(generation.max(initial=0)) + 1, len(metric.categories)]
    if min(int(seed.min(initial=0)), int(generation.min(initial=0))) >= 0 and (
        float(np.prod(np.asarray(sizes, dtype=float))) < 2.0**62
    ):
        # One mixed-radix integer key; stable argsort is near-linear on ordered units.
        key = keys[0]
        for part, size in zip(keys[1:], sizes[1:], strict=True):
            key = key * size + part
        if np.all(key[1:] >= key[:-1]):
            # Ordered units in name order (the usual case): nothing to move.
            return pd.DataFrame({"variant": variant, "seed": seed, "generation": generation,
                                 "metric": metric, "value": value})
        order = np.argsort(key, kind="stable")
    else:
        order = np.lexsort(keys[::-1])
    return pd.DataFrame({
        "variant": variant[order], "seed": seed[order], "generation": generation[order],
        "metric": metric[order], "value": value[order],
    })


LEDGER_DIR = "ledger"  # provenance ledgers, one folder per unit (genloop.provenance.ledger)


def child(folder: str | Path, name: str) -> Path:
    """``folder / name``, checked to be a direct child of ``folder`` (else one line).

    Every file a run writes is named from recipe, variant and unit names; those are
    checked when the recipe is loaded (:mod:`genloop.core.names`), and this second check,
    where the paths are built, keeps a name that slipped past (a hand-edited config, a
    plugin's bench) from writing outside the run directory (``../x``, ``/abs/x``) or into
    a subfolder that no reader looks in (``units/a/b.parquet``). It compares normalised
    paths (``..`` folded, symbolic links not followed): it is about names, and a user may
    well keep ``runs/`` on a linked disk.
    """
    path = Path(folder) / name
    if os.path.dirname(os.path.abspath(path)) != os.path.abspath(folder):
        raise DataError(f"{path} lies outside {folder}: a name must not hold '/' or '..'")
    return path


def default_root() -> Path:
    """Where new runs go unless ``--out`` says otherwise (``runs/`` in the working folder)."""
    return Path("runs")


def stamped_name(name: str, seeds: list[int], prefix: str = "") -> str:
    """A new run's folder name: ``<prefix><name>__<first>-<last seed>__<time>``."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    seed_text = f"{seeds[0]}-{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])
    return f"{prefix}{name}__{seed_text}__{stamp}"


def config_digest(config: dict) -> str:
    """The sha256 of a resolved config (canonical JSON: sorted keys, values as saved)."""
    import hashlib

    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def config_changes(old: dict, new: dict) -> list[str]:
    """The dotted keys whose values differ between two configs (added and removed too)."""

    def flat(node, prefix=""):
        if isinstance(node, dict) and node:
            out = {}
            for key, value in node.items():
                out |= flat(value, f"{prefix}{key}.")
            return out
        return {prefix[:-1]: json.loads(json.dumps(node, default=str))}

    before, after = flat(old), flat(new)
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


class _ConfigDumper(yaml.SafeDumper):
    """Safe YAML whose lists of plain numbers stay on one line (``seeds: [0, 1, 2]``)."""

    def ignore_aliases(self, data) -> bool:
        # A value shared by several keys (an override copied into every variant) is written
        # out each time: `&id001` / `*id001` anchors only puzzle a reader of config.yaml.
        return True


def _represent_list(dumper: yaml.SafeDumper, data: list):
    flow = bool(data) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                              for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow or None)


_ConfigDumper.add_representer(list, _represent_list)


def dump_config(raw: dict) -> str:
    """The text of ``config.yaml``: safe YAML in the recipe's key order."""
    return yaml.dump(raw, Dumper=_ConfigDumper, sort_keys=False, allow_unicode=True)


LOCK_FILE = ".lock"
# The directories whose lock this process holds (absolute paths). flock conflicts between
# two open files even within one process, so a nested lock() is the outer one.
_HELD: set[str] = set()


@contextmanager
def directory_lock(path: str | Path):
    """Hold the advisory lock of a run (or sweep) directory: one writer at a time.

    The lock is ``fcntl.flock`` on ``<path>/.lock``, which holds the holder's process id.
    The kernel releases it when the holder ends, however it ends (a SIGKILL included), so
    a stale lock file never blocks a later ``--resume``. While it is held, temporaries
    (``.<name>.*.tmp``) found in the directory were left by a killed earlier writer and
    are deleted; nobody else may delete them, since they may be another writer's files
    in flight. Nested calls in one process share the outer lock.

    Raises
    ------
    DataError
        Another process holds the lock (the message names its process id), or ``path``
        is not a directory.
    """
    import fcntl

    key = os.path.abspath(path)
    if key in _HELD:
        yield
        return
    if not Path(path).is_dir():
        raise DataError(f"{path} is not a directory")
    lock_path = Path(path) / LOCK_FILE
    handle = open(lock_path, "a+", encoding="utf-8")  # noqa: SIM115 (held across the yield)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "(starting)"
        handle.close()
        raise DataError(f"{path} is in use by genloop process {holder} (lock {lock_path}); "
                        "wait for it to end, then --resume") from None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    _HELD.add(key)
    try:
        for stray in Path(path).rglob(".*.tmp"):
            stray.unlink(missing_ok=True)
        yield
    finally:
        _HELD.discard(key)
        handle.close()  # closing releases the flock


class RunDir:
    """One run directory on disk."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    # --- creation ---------------------------------------------------------------------
    @classmethod
    def create(cls, root: str | Path, name: str, seeds: list[int], out: str | Path | None):
        """Make a new run directory under ``root`` (or exactly ``out`` when given)."""
        if out is not None:
            path = Path(out)
        else:
            path = child(root, stamped_name(name, seeds))
        if path.exists() and any(path.iterdir()):
            raise DataError(
                f"output directory {path} is not empty; use --resume {path} to continue it"
            )
        path.mkdir(parents=True, exist_ok=True)
        return cls(path)

    def discard_if_empty(self, remove_folder: bool) -> bool:
        """Delete this run directory's files when no unit finished; True when deleted.

        Called when a new run fails before producing anything worth resuming, so that no
        orphan directory holding only ``config.yaml`` is left. ``remove_folder`` removes
        the folder itself too (False when the user made it, empty, beforehand).
        """
        import shutil

        if any((self.path / "units").glob("*.parquet")):
            return False
        if remove_folder:
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            for child in self.path.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        return True

    def lock(self):
        """The directory's writer lock (:func:`directory_lock`), a context manager."""
        return directory_lock(self.path)

    def finished(self) -> bool:
        """Whether the run ran to its end: metrics collected and its time recorded."""
        return (self.path / "metrics.parquet").is_file() and "seconds" in self.read_meta()

    def exists(self) -> bool:
        return (self.path / "config.yaml").is_file()

    # --- config and meta ----------------------------------------------------------------
    def write_config(self, raw: dict) -> None:
        atomic_write_text(self.path / "config.yaml", dump_config(raw))

    def read_config(self) -> dict:
        path = self.path / "config.yaml"
        if not path.is_file():
            raise DataError(f"{self.path} is not a genloop run directory (no config.yaml)")
        # The recipe reader's strict YAML (duplicate keys, depth cap; one-line errors), but
        # not its size cap: a saved config lists every seed of a large run.
        from genloop.core.config import parse_yaml

        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:  # a damaged file: say where, not a traceback
            raise DataError(f"cannot read {path}: not UTF-8 text (byte {exc.start})") from None
        try:
            raw = parse_yaml(text, str(path))
        except ConfigError as exc:  # a saved file is data: damaged, not a wrong recipe
            raise DataError(str(exc)) from None
        if not isinstance(raw, dict):
            raise DataError(f"{path} does not hold a recipe mapping")
        return raw

    def write_meta(self, meta: dict) -> None:
        atomic_write_text(self.path / "meta.json", json.dumps(meta, indent=2, default=str))

    def read_meta(self) -> dict:
        path = self.path / "meta.json"
        if not path.is_file():
            return {}
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise DataError(f"cannot read {path}: not valid JSON") from None

    # --- units ----------------------------------------------------------------------------
    def unit_file(self, unit: str) -> Path:
        return child(self.path / "units", f"{unit}.parquet")

    def partial_dir(self, unit: str) -> Path:
        return child(self.path / "units", f"{unit}.partial")

    def ledger_dir(self, unit: str) -> Path:
        """Where a unit's provenance ledger goes (the ledger writer creates it)."""
        return child(self.path / LEDGER_DIR, unit)

    def artifact_dir(self, unit: str) -> Path:
        path = child(self.path / "artifacts", unit)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def unit_done(self, unit: str) -> bool:
        """True when the unit's result exists and is readable (else it is recomputed)."""
        path = self.unit_file(unit)
        if not path.is_file():
            return False
        try:
            pd.read_parquet(path)
        except Exception:
            path.unlink(missing_ok=True)  # damaged: recompute rather than read half a file
            return False
        return True

    def forget_units(self, keep: set[str]) -> list[str]:
        """Delete every unit's files (result, checkpoint, ledger, artifacts) not in ``keep``.

        Used when a resumed run's config changed on purpose (``--force-new-config``): the
        units that ran the old config start afresh instead of being mixed with new ones.

        Returns
        -------
        list of str
            The unit ids whose files were deleted.
        """
        found = {p.name.removesuffix(".parquet").removesuffix(".partial")
                 for p in (self.path / "units").glob("*") if p.suffix in (".parquet", ".partial")}
        for folder in (LEDGER_DIR, "artifacts"):
            if (self.path / folder).is_dir():
                found |= {p.name for p in (self.path / folder).iterdir() if p.is_dir()}
        gone = sorted(found - keep)
        for unit in gone:
            self.unit_file(unit).unlink(missing_ok=True)
            for folder in (self.partial_dir(unit), self.ledger_dir(unit),
                           self.path / "artifacts" / unit):
                shutil.rmtree(folder, ignore_errors=True)
        return gone

    def finish_unit(self, unit: str, rows: list[tuple] | pd.DataFrame) -> None:
        """Write the unit's metrics (tuples, or a frame from :func:`columns_frame`)."""
        if isinstance(rows, pd.DataFrame):
            write_metrics(self.unit_file(unit), rows)
        else:
            atomic_write_parquet(self.unit_file(unit), rows_frame(rows))
        shutil.rmtree(self.partial_dir(unit), ignore_errors=True)

    # --- checkpoints within a unit ---------------------------------------------------------
    def save_checkpoint(self, unit: str, generation: int, rows: list[tuple], arrays: dict) -> None:
        """Store the state after ``generation`` and the rows logged so far, then mark it."""
        from safetensors.numpy import save_file

        partial = self.partial_dir(unit)
        partial.mkdir(parents=True, exist_ok=True)
        state = partial / f"state_{generation}.safetensors"
        contiguous = {k: np.require(v, requirements="C") for k, v in arrays.items()}
        atomic_write_with(state, lambda tmp: save_file(contiguous, str(tmp)))
        atomic_write_parquet(partial / f"rows_{generation}.parquet", rows_frame(rows))
        marker = partial / "marker.json"
        previous = self._marker_generation(marker)
        atomic_write_text(marker, json.dumps({"generation": generation}))
        if previous is not None and previous != generation:
            (partial / f"state_{previous}.safetensors").unlink(missing_ok=True)
            (partial / f"rows_{previous}.parquet").unlink(missing_ok=True)

    @staticmethod
    def _marker_generation(marker: Path) -> int | None:
        try:
            return int(json.loads(marker.read_text())["generation"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def load_checkpoint(self, unit: str):
        """``(generation, rows, arrays)`` of the unit's last checkpoint, or ``None``.

        A damaged checkpoint is discarded (the unit restarts), never half-read.
        """
        from safetensors.numpy import load_file

        partial = self.partial_dir(unit)
        generation = self._marker_generation(partial / "marker.json")
        if generation is None:
            return None
        try:
            arrays = load_file(str(partial / f"state_{generation}.safetensors"))
            frame = pd.read_parquet(partial / f"rows_{generation}.parquet")
        except Exception:
            shutil.rmtree(partial, ignore_errors=True)
            return None
        rows = list(frame[METRIC_COLUMNS].itertuples(index=False, name=None))
        return generation, rows, arrays

    # --- results ------------------------------------------------------------------------------
    def collect(self) -> pd.DataFrame:
        """Concatenate finished units into ``metrics.parquet`` and return it.

        Rows are ordered by variant, seed, generation and metric (stable). Batch units of
        fast paths hold millions of rows, so the strings are read dictionary-encoded and
        the order comes from one integer key (near-linear on already ordered units);
        ``variant`` and ``metric`` are categoricals in the returned frame.
        """
        files = sorted((self.path / "units").glob("*.parquet"))
        if not files:
            frame = rows_frame([])
            atomic_write_parquet(self.path / "metrics.parquet", frame)
            return frame
        frame = _sorted_metrics([_read_unit(f) for f in files])
        write_metrics(self.path / "metrics.parquet", frame)
        return frame

    def metrics(self) -> pd.DataFrame:
        """The run's metrics (from ``metrics.parquet``, or the finished units so far)."""
        path = self.path / "metrics.parquet"
        if path.is_file():
            return read_metrics(path)
        return self.collect()
