"""The provenance ledger: where every row of every pool came from, and what filters said.

Layout inside a run directory (one folder per unit, i.e. variant × seed)::

    ledger/<variant>__seed<seed:06d>/
      gen00007.pool.parquet       the rows model_7 trains on: sample_id, origin, data columns
      gen00007.ledger.parquet     one row per pool row (in_pool=True) plus one per candidate
                                  that curation dropped for this pool (in_pool=False), and
                                  one per prompt the candidates grew from that no pool
                                  holds (in_pool=False; self-training's problems)
      gen00007.manifest.json      sha256 of both files + the previous manifest's sha256

Ledger columns: ``sample_id``, ``generation`` (the pool's), ``origin`` (``real`` or
``gen:<k>``), ``model_id`` (``<variant>/seed<s>/gen<k>``, ``""`` for real rows),
``parent_id`` (the prompt's sample id for LM continuations, the problem's for
self-training answers, else ``""``),
``content_hash``, ``in_pool``, and ``filter.<name>`` per filter: ``""`` kept, the reason
when this filter dropped the row, ``"-"`` when it did not look at the row (an earlier
filter dropped it, or the row entered the pool without passing this generation's
curation: real rows, rows carried over from earlier pools). A bench may append its own
per-sample columns after these (self-training: ``correct``, ``confidence``, ``problem``, ...).

Pool data columns: ``x0..x{d-1}`` (vectors), ``value`` (categorical), or ``tokens``
(list of int) and ``text`` (decoded by the source) for text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from genloop.core.errors import DataError
from genloop.core.run_dir import (
    LEDGER_DIR,  # noqa: E402, F401  (readers import it from here)
    atomic_write_with,
)
from genloop.provenance.certificate import verify_certificate
from genloop.provenance.manifest import generation_stem, write_manifest

# the verdict of a filter for a row an earlier filter already dropped
NOT_SEEN = "-"
# Above this many ledger files (3 per generation per seed) `ledger: auto` turns the
# ledger off: a million small Parquet files cost more than the simulation they record.
LEDGER_FILE_LIMIT = 20_000
REAL_ORIGIN = "real"


def unit_folder(variant: str, seed: int) -> str:
    """The ledger folder name of one unit (the runner's unit id)."""
    return f"{variant}__seed{seed:06d}"


def origin_labels(origin: np.ndarray) -> np.ndarray:
    """``real`` / ``gen:<k>`` for integer origins (``-1`` real)."""
    origin = np.asarray(origin)
    return np.where(origin < 0, REAL_ORIGIN, np.char.add("gen:", origin.astype(str))).astype(object)


@dataclass
class Curated:
    """What one generation's curation saw and decided (for the next pool's ledger).

    Attributes
    ----------
    ids : ndarray of str, shape (m,)
        Sample ids of every row that passed through the filters.
    verdicts : dict
        Filter name → reasons array of shape (m,) (see :meth:`Pipeline.apply`).
    dropped : Pool or None
        The rows the filters dropped.
    """

    ids: np.ndarray
    verdicts: dict[str, np.ndarray] = field(default_factory=dict)
    dropped: object = None


class LedgerWriter:
    """Writes one unit's pool data, ledger and manifest per generation.

    Parameters
    ----------
    directory : Path
        The unit's ledger folder (created).
    variant, seed :
        The unit, for model ids.
    filter_names : list of str
        The curation filters, one ``filter.<name>`` column each.
    decode : callable, optional
        ``decode(tokens) -> str`` for text pools.
    """

    def __init__(self, directory: Path, variant: str, seed: int, filter_names=(), decode=None):
        self.directory = Path(directory)
        # Stray temporaries of a killed earlier attempt are deleted by the run directory's
        # lock holder (core.run_dir.directory_lock), never here: here they may be another
        # process's files in flight.
        self.directory.mkdir(parents=True, exist_ok=True)
        self.variant, self.seed = variant, seed
        self.filter_names = list(filter_names)
        self.decode = decode

    def model_ids(self, origin: np.ndarray) -> np.ndarray:
        prefix = f"{self.variant}/seed{self.seed}/gen"
        origin = np.asarray(origin)
        return np.where(origin < 0, "", np.char.add(prefix, origin.astype(str))).astype(object)

    def _rows(self, pool, generation: int, in_pool: bool, curated: Curated | None) -> dict:
        ids = pool.ids
        columns = {
            "sample_id": ids,
            "generation": np.full(len(pool), generation, dtype=np.int64),
            "origin": origin_labels(pool.origin),
            "model_id": self.model_ids(pool.origin),
            "parent_id": pool.parent_ids(),
            "content_hash": np.asarray(pool.hashes, dtype=object),
            "in_pool": np.full(len(pool), in_pool),
        }
        where = None
        if curated is not None and len(curated.ids):
            where = pd.Index(curated.ids).get_indexer(ids)
        for name in self.filter_names:
            reasons = np.full(len(pool), NOT_SEEN, dtype=object)
            if where is not None and name in curated.verdicts:
                seen = where >= 0
                reasons[seen] = np.asarray(curated.verdicts[name], dtype=object)[where[seen]]
            columns[f"filter.{name}"] = reasons
        return columns

    def write(self, generation: int, pool, curated: Curated | None = None, *,
              prompts=None, columns: pd.DataFrame | None = None) -> None:
        """Write generation ``generation``'s pool data, ledger and manifest (atomically).

        Parameters
        ----------
        generation : int
            The generation whose model trains on ``pool``.
        pool : Pool
        curated : Curated, optional
            The curation that made this pool (its dropped rows join the ledger).
        prompts : Pool, optional
            Rows this generation's candidates grew from that no pool holds (the problems a
            learner answered): ledger rows with ``in_pool`` False, so that lineage finds
            the parent of every candidate.
        columns : DataFrame, optional
            Extra per-sample columns indexed by sample id (unique), appended to the
            ledger columns; a sample not in it gets nulls.
        """
        import pyarrow as pa

        stem = generation_stem(generation)
        frames = [self._rows(pool, generation, True, curated)]
        if curated is not None and curated.dropped is not None and len(curated.dropped):
            frames.append(self._rows(curated.dropped, generation, False, curated))
        if prompts is not None and len(prompts):
            frames.append(self._rows(prompts, generation, False, None))
        ledger = {k: np.concatenate([f[k] for f in frames]) for k in frames[0]}
        if columns is not None:
            ledger |= extra_columns(columns, ledger["sample_id"])
        data = {"sample_id": frames[0]["sample_id"], "origin": frames[0]["origin"]}
        data |= pool_columns(pool.X, self.decode)
        names = {f"{stem}.pool.parquet": pa.table(data), f"{stem}.ledger.parquet": pa.table(ledger)}
        for name, table in names.items():
            _write_table(self.directory / name, table)
        unit = unit_folder(self.variant, self.seed)
        write_manifest(self.directory, unit, generation, {n: t.num_rows for n, t in names.items()})


def extra_columns(columns: pd.DataFrame, ids: np.ndarray) -> dict:
    """``columns`` (indexed by sample id) as Arrow arrays aligned with ``ids``."""
    import pyarrow as pa

    aligned = columns.reindex(pd.Index(ids, dtype=object))
    out = {}
    for name in aligned.columns:
        array = pa.Array.from_pandas(aligned[name])  # NaN and missing rows become null
        if pa.types.is_large_string(array.type):  # pandas' str dtype; the core columns are string
            array = array.cast(pa.string())
        out[str(name)] = array
    return out


def _write_table(path: Path, table) -> None:
    import pyarrow.parquet as pq

    # No pandas schema metadata: the bytes depend on the rows only, so a resumed run
    # rewrites a generation byte for byte.
    atomic_write_with(path, lambda tmp: pq.write_table(table, tmp, store_schema=False))


def pool_columns(X: np.ndarray, decode=None) -> dict:
    """The data columns of a pool (see the module docstring)."""
    import pyarrow as pa

    if X.dtype == object:
        tokens = pa.array([np.asarray(row, dtype=np.int64) for row in X], type=pa.list_(pa.int64()))
        columns = {"tokens": tokens}
        if decode is not None:
            columns["text"] = np.array([decode(row) for row in X], dtype=object)
        return columns
    if X.ndim == 2:
        return {f"x{j}": np.ascontiguousarray(X[:, j]) for j in range(X.shape[1])}
    return {"value": np.asarray(X)}


# --- reading -----------------------------------------------------------------------------

def unit_dirs(run_dir) -> dict[tuple[str, int], Path]:
    """Every unit ledger folder of a run: ``(variant, seed) -> path``."""
    root = Path(run_dir) / LEDGER_DIR
    found = {}
    for path in sorted(root.glob("*__seed*")) if root.is_dir() else []:
        variant, _, seed = path.name.rpartition("__seed")
        if path.is_dir() and seed.isdigit():
            found[(variant, int(seed))] = path
    return found


def find_unit(run_dir, variant: str | None = None,
              seed: int | None = None) -> tuple[str, int, Path]:
    """The ledger folder of one unit.

    ``variant`` may be omitted when the run has one; ``seed`` defaults to the lowest seed.
    """
    units = unit_dirs(run_dir)
    if not units:
        raise DataError(f"{run_dir} has no provenance ledger (ledger off, or a fast engine ran)")
    variants = sorted({v for v, _ in units})
    if variant is None:
        if len(variants) > 1:
            raise DataError(f"{run_dir} has variants {', '.join(variants)}; name one with variant")
        variant = variants[0]
    seeds = sorted(s for v, s in units if v == variant)
    if not seeds:
        raise DataError(f"{run_dir} has no ledger for variant {variant!r}; it has "
                        f"{', '.join(variants)}")
    if seed is None:
        seed = seeds[0]
    if (variant, seed) not in units:
        raise DataError(f"{run_dir} has no ledger for variant {variant!r} seed {seed}; seeds: "
                        f"{', '.join(map(str, seeds))}")
    return variant, seed, units[(variant, seed)]


def _read(path: Path) -> pd.DataFrame:
    from genloop.core.run_dir import read_parquet

    return read_parquet(path)


def load_pool(run_dir, generation: int, variant: str | None = None,
              seed: int | None = None) -> pd.DataFrame:
    """The rows generation ``generation``'s model trained on.

    Parameters
    ----------
    run_dir : path
    generation : int
    variant : str, optional
        Needed when the run has several variants.
    seed : int, optional
        Default: the lowest seed with a ledger.

    Returns
    -------
    DataFrame
        ``sample_id``, ``origin`` and the data columns (``x0..``, ``value`` or
        ``tokens``/``text``), one row per pool row, in pool order.
    """
    _, _, directory = find_unit(run_dir, variant, seed)
    path = directory / f"{generation_stem(generation)}.pool.parquet"
    if not path.is_file():
        raise DataError(f"no pool for generation {generation} in {directory}")
    return _read(path)


def load_ledger(run_dir, variant: str | None = None, seed: int | None = None,
                generation: int | None = None) -> pd.DataFrame:
    """Ledger rows of one unit: one generation, or all generations concatenated.

    Returns
    -------
    DataFrame
        The ledger columns (module docstring), ordered by generation.
    """
    _, _, directory = find_unit(run_dir, variant, seed)
    if generation is not None:
        path = directory / f"{generation_stem(generation)}.ledger.parquet"
        if not path.is_file():
            raise DataError(f"no ledger for generation {generation} in {directory}")
        return _read(path)
    files = sorted(directory.glob("gen*.ledger.parquet"))
    if not files:
        raise DataError(f"{directory} holds no ledger files")
    return pd.concat([_read(f) for f in files], ignore_index=True)


def seal(run_dir, recipe) -> str | None:
    """Write the run manifest of a run that keeps a ledger; its sha256, else None.

    Called when a run (or a sweep point) finished its units, and again after a resume.
    The units that keep a ledger are the bench's choice (``ledger_plan``) for the units
    that run on the sample loop; those whose result file exists are finished.
    """
    from genloop.core.run_dir import RunDir, config_digest
    from genloop.core.runner import ledger_plan, plan_units
    from genloop.provenance.manifest import write_run_manifest

    plan = ledger_plan(recipe)
    planned = [unit for unit, variant, _, engine, _ in plan_units(recipe)
               if engine is None and plan.get(variant) == "on"]
    run = RunDir(run_dir)
    # A finished unit without a ledger folder is recorded too: verify reports it missing.
    finished = [unit for unit in planned if run.unit_file(unit).is_file()]
    if not finished:
        return None
    config = run.read_meta().get("config_sha256") or config_digest(recipe.raw)
    return write_run_manifest(run.path, config, planned, finished)


def verify(run_dir, expect: str | None = None) -> list[str]:
    """Check a run's ledger; one line per problem (empty: intact).

    Each unit's manifest chain is checked (:func:`~genloop.provenance.manifest.verify_unit`,
    its first problem), and the run manifest proves the set: every unit it records is
    there with its generations and last manifest, no other unit folder is, the planned
    units finished, and config.yaml is the config the run ran. ``expect``, a sha256 kept
    outside the run, must be the run manifest's own hash: only that catches a consistent
    rewrite of everything (docs/curation.md).
    """
    from genloop.core.run_dir import RunDir, config_digest
    from genloop.provenance.manifest import (
        RUN_MANIFEST,
        file_sha256,
        read_run_manifest,
        run_manifest_path,
        verify_unit,
    )

    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise DataError(f"{run_dir} is not a genloop run directory (no config.yaml)")
    problems = []
    units = unit_dirs(run_dir)
    sealed = read_run_manifest(run_dir)
    where = f"{LEDGER_DIR}/{RUN_MANIFEST}"
    if expect is not None:
        found = file_sha256(run_manifest_path(run_dir)) if sealed is not None else None
        if found != expect.strip().lower():
            problems.append(f"{where} has sha256 {found or '(no file)'}, expected {expect}: "
                            "the ledger changed after that hash was taken")
    if sealed == {}:
        problems.append(f"{where} is not a readable run manifest")
    elif sealed is None and units:
        problems.append(f"{where} is missing: the run did not finish (resume it) or the file "
                        "was removed, so which units and generations belong to it is unproven")
    recorded = (sealed or {}).get("units", {})
    if sealed:
        if sealed.get("config_sha256") != config_digest(RunDir(run_dir).read_config()):
            problems.append("config.yaml is not the config the run manifest records "
                            "(edited after the run)")
        for unit in sorted(set(sealed.get("planned", [])) - set(recorded)):
            problems.append(f"{_label(unit)}: did not finish (resume the run to complete it)")
        for unit in sorted(set(recorded) - {p.name for p in units.values()}):
            problems.append(f"{_label(unit)}: ledger folder missing (the run manifest lists it)")
    for (variant, seed), directory in units.items():
        label = f"variant {variant}, seed {seed}"
        if sealed and directory.name not in recorded:
            problems.append(f"{label}: ledger folder {directory.name} is not in the run "
                            "manifest (added or copied)")
            continue
        problems += verify_unit(directory, label, recorded.get(directory.name) if sealed
                                else None)
    if sealed is None:
        # No run manifest: at least the units meta.json plans and that finished.
        run = RunDir(run_dir)
        try:
            meta = run.read_meta()
        except DataError:
            meta = {}
        for variant, state in (meta.get("ledger") or {}).items():
            if str(state).startswith("on"):
                for seed in meta.get("seeds") or []:
                    unit = unit_folder(variant, seed)
                    if run.unit_file(unit).is_file() and (variant, seed) not in units:
                        problems.append(f"{_label(unit)}: ledger folder missing")
    return problems + verify_certificate(run_dir, units)


def _label(unit: str) -> str:
    """``variant v, seed s`` of a per-seed unit id (the id itself otherwise)."""
    variant, _, seed = unit.rpartition("__seed")
    return f"variant {variant}, seed {int(seed)}" if seed.isdigit() else f"unit {unit}"


def pool_from_ledger(directory: Path, generation: int):
    """The :class:`~genloop.provenance.pool.Pool` generation ``generation`` trained on.

    Rebuilt from the unit's pool and ledger files: values, origins, batch indices (from
    the sample ids) and parents.

    Raises
    ------
    DataError
        The rebuilt rows' ids (content hash, origin, index) are not the recorded ones: the
        files do not hold the pool bit for bit.
    """
    from genloop.provenance.pool import REAL, Pool

    stem = generation_stem(generation)
    data = _read(Path(directory) / f"{stem}.pool.parquet")
    ledger = _read(Path(directory) / f"{stem}.ledger.parquet")
    in_pool = ledger[ledger["in_pool"].astype(bool)]
    if "tokens" in data:
        X = np.empty(len(data), dtype=object)
        X[:] = [np.asarray(row, dtype=np.int64) for row in data["tokens"]]
    elif "value" in data:
        X = data["value"].to_numpy()
    else:
        columns = sorted((c for c in data if c.startswith("x") and c[1:].isdigit()),
                         key=lambda c: int(c[1:]))
        X = np.column_stack([data[c].to_numpy() for c in columns])
    # origin labels back to integers: "real" -> -1, "gen:k" -> k (inverse of origin_labels)
    origin = (data["origin"].astype(str).replace(REAL_ORIGIN, str(REAL))
              .str.removeprefix("gen:").astype(np.int64).to_numpy())
    recorded = data["sample_id"].astype(str)
    index = recorded.str.rsplit("-", n=1).str[1].astype(np.int64).to_numpy()
    parents = in_pool["parent_id"].astype(object).to_numpy()[: len(data)]
    has_parents = bool(len(parents)) and any(p for p in parents)
    pool = Pool(X, origin, index, parents.copy() if has_parents else None)
    if not np.array_equal(pool.ids.astype(str), recorded.to_numpy(dtype=str)):
        raise DataError(f"{directory}: generation {generation}'s pool files do not rebuild "
                        "the recorded rows")
    return pool
