"""SQL over every run and sweep under a folder, with DuckDB (the ``query`` extra).

Views:

``metrics``
    Long-format metrics of every run and sweep: ``run`` (the directory, relative to the
    root), ``kind`` (``run`` or ``sweep``), ``point`` and one column per grid key for
    sweeps (``policy`` for ``mixing.policy``; NULL for plain runs), ``variant, seed,
    generation, metric, value``.
``configs``
    One row per run × variant (per point × variant in sweeps): ``run, kind, point,
    variant``, then the variant's validated config flattened, dots as underscores
    (``mixing_policy``, ``family_name``, ``family_n_components``, ``n``); lists as JSON.
``runs``
    One row per run or sweep: ``run, kind, recipe, bench, path, seeds, points,
    genloop_version, seconds``.
``summaries``
    Every ``summary.parquet`` (sweeps), with ``run``.
``ledgers``
    Every provenance ledger (``**/gen*.ledger.parquet``), with ``run``, when any exist.

A run's metrics come from its ``metrics.parquet``, or from its finished unit files when
it was interrupted before collecting; a sweep's from its aggregated ``metrics.parquet``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from genloop.core.errors import ConfigError, DataError


def find_runs(root: str | Path) -> list[tuple[str, Path]]:
    """``(kind, path)`` of every sweep and every run outside a sweep under ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"runs folder not found: {root}")
    found, sweeps = [], []
    for marker in sorted(root.rglob("sweep.json")):
        sweeps.append(marker.parent)
        found.append(("sweep", marker.parent))
    for config in sorted(root.rglob("config.yaml")):
        path = config.parent
        if any(s == path or s in path.parents for s in sweeps):
            continue
        found.append(("run", path))
    return found


def flatten_config(mapping: dict, prefix: str = "", sep: str = "_") -> dict:
    """Nested mappings to one level: ``{"mixing": {"policy": x}}`` -> ``{"mixing_policy": x}``."""
    flat = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_config(value, f"{name}{sep}", sep))
        elif isinstance(value, (list, tuple)):
            flat[name] = json.dumps(value, default=str)
        else:
            flat[name] = value
    return flat


def _variant_configs(run_dir: Path) -> dict[str, dict]:
    """Each variant's config: validated (with defaults) when possible, else as saved."""
    from genloop.core.config import COMMON_KEYS, apply_overrides, resolve
    from genloop.core.errors import DataError, GenloopError
    from genloop.core.run_dir import RunDir

    raw = RunDir(run_dir).read_config()
    try:
        recipe = resolve(raw)
        return {v: c.model_dump(mode="json") for v, c in recipe.variants.items()}
    except GenloopError:
        base = {k: v for k, v in raw.items() if k not in COMMON_KEYS}
        variants = raw.get("variants") or {"default": {}}
        if not isinstance(variants, dict) or not all(
                isinstance(c, dict) or c is None for c in variants.values()):
            raise DataError(f"{run_dir}/config.yaml: variants must map names to "
                            "overrides") from None
        return {v: apply_overrides(base, c or {}) for v, c in variants.items()}


def _point_configs(name: str, kind: str, points) -> list[dict]:
    """The ``configs`` rows of one run or sweep (one per point × variant)."""
    rows = []
    for point, point_path in points:
        if not (point_path / "config.yaml").is_file():
            continue
        for variant, config in _variant_configs(point_path).items():
            rows.append({"run": name, "kind": kind, "point": point, "variant": variant}
                        | flatten_config(config))
    return rows


def _tables(root: Path):
    import logging

    from genloop.core.errors import GenloopError

    metric_files, summary_files, ledger_files = [], [], []
    config_rows, run_rows = [], []
    for kind, path in find_runs(root):
        name = str(path.relative_to(root)) if path != root else path.name
        try:
            tables = _run_tables(name, kind, path)
        except (GenloopError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
            # One damaged or foreign folder must not hide every other run from a query.
            text = str(error).splitlines()[0] if str(error) else type(error).__name__
            logging.getLogger("genloop").warning("skipped %s: %s", name, text)
            continue
        for into, rows in zip((metric_files, summary_files, ledger_files, config_rows,
                               run_rows), tables, strict=True):
            into.extend(rows)
    return metric_files, summary_files, ledger_files, config_rows, run_rows


def _run_tables(name: str, kind: str, path: Path):
    """The five tables' rows for one run or sweep (see :func:`_tables`)."""
    from genloop.core.run_dir import RunDir

    metric_files, summary_files, ledger_files = [], [], []
    run_rows = []
    if kind == "sweep":
        spec = json.loads((path / "sweep.json").read_text(encoding="utf-8"))
        points = [(p["id"], path / "points" / p["id"]) for p in spec["points"]]
        files = [path / "metrics.parquet"] if (path / "metrics.parquet").is_file() else []
        if (path / "summary.parquet").is_file():
            summary_files.append((name, path / "summary.parquet"))
        run_rows.append(
            {
                "run": name,
                "kind": kind,
                "recipe": spec["recipe"],
                "bench": spec["bench"],
                "path": str(path),
                "seeds": json.dumps(spec["seeds"]),
                "points": len(points),
                "genloop_version": spec["genloop_version"],
                "seconds": None,
            }
        )
    else:
        points = [(None, path)]
        files = (
            [path / "metrics.parquet"]
            if (path / "metrics.parquet").is_file()
            else sorted((path / "units").glob("*.parquet"))
        )
        meta = RunDir(path).read_meta()
        run_rows.append(
            {
                "run": name,
                "kind": kind,
                "recipe": meta.get("recipe"),
                "bench": meta.get("bench"),
                "path": str(path),
                "seeds": json.dumps(meta.get("seeds")),
                "points": None,
                "genloop_version": meta.get("genloop_version"),
                "seconds": meta.get("seconds"),
            }
        )
    metric_files += [(name, kind, f) for f in files]
    ledger_files += [(name, f) for f in sorted(path.rglob("*.ledger.parquet"))]
    config_rows = _point_configs(name, kind, points)
    return metric_files, summary_files, ledger_files, config_rows, run_rows


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def connect(root: str | Path = "runs"):
    """A DuckDB connection with the views ``metrics``, ``configs``, ``runs`` (and more).

    Parameters
    ----------
    root : path
        The folder searched recursively for run and sweep directories.

    Returns
    -------
    duckdb.DuckDBPyConnection
    """
    try:
        import duckdb
    except ImportError:
        raise ConfigError("genloop query needs DuckDB: pip install 'genloop[query]'") from None
    root = Path(root)
    metric_files, summary_files, ledger_files, config_rows, run_rows = _tables(root)
    con = duckdb.connect()
    files = pd.DataFrame(
        [(str(f), run, kind) for run, kind, f in metric_files], columns=["filename", "run", "kind"]
    )
    con.register("_metric_files", files)
    if len(files):
        listing = ", ".join(_quote(Path(f)) for f in files["filename"])
        con.execute(
            "create view metrics as select f.run, f.kind, m.* exclude (filename) "
            f"from read_parquet([{listing}], union_by_name = true, filename = true) m "
            "join _metric_files f using (filename)"
        )
    else:
        con.execute(
            "create view metrics as select null::varchar as run, null::varchar as "
            "kind, null::varchar as variant, null::bigint as seed, null::bigint as "
            "generation, null::varchar as metric, null::double as value where false"
        )
    configs = pd.DataFrame(
        config_rows or [{"run": None, "kind": None, "point": None, "variant": None}]
    )
    con.register("_configs", configs)
    con.execute("create view configs as select * from _configs where run is not null")
    runs = pd.DataFrame(
        run_rows,
        columns=[
            "run",
            "kind",
            "recipe",
            "bench",
            "path",
            "seeds",
            "points",
            "genloop_version",
            "seconds",
        ],
    )
    con.register("_runs", runs)
    con.execute("create view runs as select * from _runs")
    for view, items in (("summaries", summary_files), ("ledgers", ledger_files)):
        if items:
            table = pd.DataFrame([(str(f), run) for run, f in items], columns=["filename", "run"])
            con.register(f"_{view}_files", table)
            listing = ", ".join(_quote(f) for _, f in items)
            con.execute(
                f"create view {view} as select f.run, m.* exclude (filename) from "
                f"read_parquet([{listing}], union_by_name = true, filename = true) m "
                f"join _{view}_files f using (filename)"
            )
    return con


def query(sql: str, root: str | Path = "runs") -> pd.DataFrame:
    """Run ``sql`` over the views of :func:`connect` and return a DataFrame.

    A SQL error becomes a one-line :class:`~genloop.core.errors.ConfigError` that lists the
    views.
    """
    import duckdb

    con = connect(root)
    try:
        return con.execute(sql).df()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise ConfigError(
            f"query failed: {first} (views: metrics, configs, runs, summaries, ledgers)"
        ) from None
    finally:
        con.close()
