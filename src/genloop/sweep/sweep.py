"""Running a sweep: validate every grid point, prepare the directory, dispatch the units.

The directory layout and the :class:`~genloop.sweep.directory.Sweep` reader live in
:mod:`genloop.sweep.directory`; the executors in :mod:`genloop.sweep.executors`.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from genloop.core.config import load_raw, resolve
from genloop.core.errors import ConfigError, DataError, GenloopError
from genloop.core.names import check_name
from genloop.core.run_dir import (
    RunDir,
    atomic_write_text,
    child,
    config_changes,
    config_digest,
    default_root,
    directory_lock,
    stamped_name,
)
from genloop.core.runner import plan_units, progress_bar, variant_digests
from genloop.core.version import __version__
from genloop.provenance.ledger import seal
from genloop.sweep.directory import SPEC_FILE, Sweep, is_sweep
from genloop.sweep.executors import UnitTask, make_executor
from genloop.sweep.grid import column_names, expand, parse_grid, point_id


def _plan_points(recipe, grid_items, seeds, overrides, quick, variants):
    """Validate every grid point's config: ``(name, spec, {point id: Recipe})``."""
    raw = load_raw(recipe) if not isinstance(recipe, dict) else dict(recipe)
    user = dict(overrides or {})
    grid = parse_grid(grid_items) if grid_items else (raw.get("grid") or {})
    if not grid:
        raise ConfigError("no grid: pass --grid key=v1,v2,... or give the recipe a grid: section")
    if not isinstance(grid, dict):
        raise ConfigError("grid must map a dotted config key to a non-empty list of values")
    clash = sorted(set(grid) & set(user))
    if clash and grid_items:
        raise ConfigError(f"{clash[0]!r} is set with --set and varied with --grid; keep one")
    grid = {k: v for k, v in grid.items() if k not in user}
    if not grid:
        raise ConfigError("every grid key is pinned by --set; nothing left to sweep")
    columns = column_names(list(grid))
    points = {}
    for values in expand(grid):
        pid = check_name("grid point", point_id(values, columns))
        try:
            points[pid] = (
                values,
                resolve(
                    raw,
                    overrides=user | values,
                    quick=quick,
                    seeds=seeds,
                    variants=variants,
                    expand_grid=False,
                ),
            )
        except GenloopError as exc:
            raise type(exc)(f"grid point {pid}: {exc}") from None
    first = next(iter(points.values()))[1]
    spec = {
        "genloop_version": __version__,
        "recipe": first.name,
        "bench": first.bench,
        "grid": grid,
        "columns": columns,
        "seeds": first.seeds,
        "variants": list(first.variants),
        "overrides": user,
        "quick": quick,
        "points": [{"id": pid, "values": values} for pid, (values, _) in points.items()],
        # Each point's resolved config, so --resume can rebuild a point whose
        # config.yaml a kill prevented.
        "configs": {pid: rec.raw for pid, (_, rec) in points.items()},
    }
    return first.name, spec, {pid: rec for pid, (_, rec) in points.items()}


def _same_sweep(saved: dict, spec: dict) -> bool:
    """Whether a saved ``sweep.json`` describes the sweep ``spec`` would run."""
    keys = ("recipe", "grid", "seeds", "variants", "overrides", "quick", "points", "configs")
    return all(saved.get(k) == json.loads(json.dumps(spec[k], default=str)) for k in keys)


def previous_sweep(name: str, spec: dict, root: Path | None = None) -> Path | None:
    """The newest sweep directory under ``root`` (default ``runs/``) of this same sweep.

    Running the same ``genloop sweep`` command again without ``--out`` continues that
    directory, so that finished units are skipped, instead of starting a new one.
    """
    root = Path(root) if root is not None else default_root()
    if not root.is_dir():
        return None
    prefix = f"sweep-{name}__"  # compared as text: a name is never a glob pattern
    candidates = [p for p in root.iterdir() if p.name.startswith(prefix) and is_sweep(p)]
    for path in sorted(candidates, key=lambda p: (p / SPEC_FILE).stat().st_mtime, reverse=True):
        try:
            if _same_sweep(Sweep(path).spec, spec):
                return path
        except (GenloopError, OSError, ValueError):
            continue  # a damaged sweep is never reused silently
    return None


def _prepare(path: Path, spec: dict, recipes: dict) -> None:
    """Write sweep.json and each point's config/meta (or check they match a resumed sweep)."""
    if is_sweep(path):
        if not _same_sweep(Sweep(path).spec, spec):
            raise DataError(
                f"{path} holds a different sweep; use --resume {path} to continue "
                "it or choose another --out"
            )
    else:
        # First, so that a sweep killed while writing point configs is still a sweep.
        atomic_write_text(path / SPEC_FILE, json.dumps(spec, indent=2, default=str))
    for pid, recipe in recipes.items():
        run_dir = RunDir(path / "points" / pid)
        if run_dir.exists():
            if run_dir.read_config() != json.loads(json.dumps(recipe.raw)):
                raise DataError(
                    f"point {pid}: its saved config.yaml differs from the recipe "
                    f"now; use --resume {path} to keep the saved configs"
                )
        else:
            run_dir.path.mkdir(parents=True, exist_ok=True)
            run_dir.write_config(recipe.raw)


def run_sweep(
    recipe: str | Path | dict | None = None,
    *,
    grid: list[str] | None = None,
    seeds: Any = None,
    overrides: dict[str, Any] | list[str] | None = None,
    quick: bool = False,
    variants: list[str] | None = None,
    out: str | Path | None = None,
    resume: str | Path | None = None,
    backend: str = "local",
    workers: int | None = None,
    retries: int = 1,
    ray_address: str | None = None,
    progress: bool = False,
) -> Sweep:
    """Run (or continue) a sweep and aggregate it.

    Parameters
    ----------
    recipe : str, Path or dict
        A shipped recipe name, a YAML path or a mapping (not needed with ``resume``).
    grid : list of "key=v1,v2,...", optional
        The grid (default: the recipe's ``grid:`` section); replaces the recipe's grid.
    seeds, overrides, quick, variants
        As for :func:`genloop.run`; ``overrides`` apply to every point.
    out : path, optional
        The sweep directory. By default the newest ``runs/sweep-<recipe>__*`` directory
        of this same sweep (recipe, grid, seeds, variants, overrides, every point's config)
        is continued, else a new ``runs/sweep-<recipe>__<seeds>__<time>`` is made. An
        existing sweep directory of the same sweep is continued.
    resume : path, optional
        Continue this sweep directory with its saved configs.
    backend : {"local", "ray"}
    workers : int, optional
        Units at once (default: the number of CPU cores).
    retries : int
        Extra attempts for a failed unit.
    ray_address : str, optional
        An existing Ray cluster (``ray://host:10001`` or ``auto``); default a local Ray.
    progress : bool
        Show a progress bar of units with ETA.

    Returns
    -------
    Sweep
    """
    if isinstance(overrides, list):
        from genloop.core.config import parse_override

        overrides = dict(map(parse_override, overrides))
    # Check the backend before anything is written.
    executor = make_executor(backend, workers, retries, ray_address)
    if resume is not None:
        sweep = Sweep(resume)
        with directory_lock(sweep.path):
            for pid in sweep.points:
                run_dir = sweep.point_dir(pid)
                if not run_dir.exists():
                    run_dir.path.mkdir(parents=True, exist_ok=True)
                    run_dir.write_config(sweep.spec["configs"][pid])
            recipes = {pid: _saved_point(sweep, pid) for pid in sweep.points}
            _execute(sweep, recipes, executor, progress)
        return sweep
    else:
        if recipe is None:
            raise ConfigError("name a recipe (see `genloop recipes`) or pass --resume SWEEP_DIR")
        name, spec, recipes = _plan_points(recipe, grid, seeds, overrides, quick, variants)
        if out is None:
            out = previous_sweep(name, spec)
        if out is None:
            out = child(default_root(), stamped_name(name, spec["seeds"], prefix="sweep-"))
        path = Path(out)
        if not is_sweep(path) and path.exists() and any(path.iterdir()):
            raise DataError(f"output directory {path} is not empty and is not a sweep")
        path.mkdir(parents=True, exist_ok=True)
        with directory_lock(path):
            _prepare(path, spec, recipes)
            sweep = Sweep(path)
            _execute(sweep, recipes, executor, progress)
    return sweep


def _saved_point(sweep: Sweep, pid: str):
    """The recipe of one point of a resumed sweep, which must be the config sweep.json saved.

    A point's config.yaml edited since the sweep started would mix two experiments in one
    point (its finished units ran the saved config): that is one line naming the keys.
    """
    saved = sweep.spec.get("configs", {}).get(pid)
    config = sweep.point_dir(pid).read_config()
    if saved is not None and config_digest(config) != config_digest(saved):
        changed = ", ".join(config_changes(saved, config)) or "its hash"
        raise ConfigError(f"point {pid}: config.yaml differs from the config sweep.json saved "
                          f"({changed}); restore it, or start a new sweep")
    return resolve(config)


def _execute(sweep: Sweep, recipes: dict, executor, progress: bool) -> None:
    from contextlib import ExitStack

    with ExitStack() as locks:
        # Each point is a run directory: `genloop run --resume` of one must wait too.
        for pid in recipes:
            locks.enter_context(sweep.point_dir(pid).lock())
        _dispatch(sweep, recipes, executor, progress)


def _dispatch(sweep: Sweep, recipes: dict, executor, progress: bool) -> None:
    """Run every unfinished unit of every point, then aggregate and log."""
    tasks, skipped = [], 0
    for pid, recipe in recipes.items():
        run_dir = sweep.point_dir(pid)
        meta = run_dir.read_meta() or {
            "genloop_version": __version__,
            "recipe": recipe.name,
            "bench": recipe.bench,
            "variants": list(recipe.variants),
            "seeds": recipe.seeds,
            "engine": {},
            "sweep": str(sweep.path),
            "point": pid,
            "values": sweep.points[pid],
        }
        # As runner.execute saves it: a `genloop run --resume` of this point checks it.
        meta |= {"config": recipe.raw, "config_sha256": config_digest(recipe.raw),
                 "variant_sha256": variant_digests(recipe)}
        run_dir.write_meta(meta)
        for unit, variant, seeds, engine, steps in plan_units(recipe):
            if run_dir.unit_done(unit):
                skipped += 1
                continue
            tasks.append(
                UnitTask(pid, str(run_dir.path), unit, variant, tuple(seeds), engine, steps)
            )
    log_path = sweep.path / "logs" / "sweep.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    engines: dict[str, dict[str, str]] = {pid: {} for pid in recipes}
    seconds: dict[str, float] = dict.fromkeys(recipes, 0.0)
    started = time.time()
    with (
        open(log_path, "a", encoding="utf-8") as log,
        progress_bar(
            progress, len(tasks) + skipped, f"sweep {sweep.spec['recipe']}", "units"
        ) as live,
    ):
        task_id = live.task_ids[0] if live is not None else None
        if live is not None:
            live.advance(task_id, skipped)
        log.write(
            f"{datetime.now().isoformat(timespec='seconds')} start: {len(tasks)} units "
            f"to run, {skipped} finished, backend {executor.name}, "
            f"{executor.workers} workers\n"
        )
        log.flush()

        def on_done(task: UnitTask, result: dict) -> None:
            engines[task.point][task.variant] = result["engine"]
            seconds[task.point] += result["seconds"]
            log.write(
                f"{datetime.now().isoformat(timespec='seconds')} done {task.point}/"
                f"{task.unit} in {result['seconds']} s ({result['engine']})\n"
            )
            log.flush()
            if live is not None:
                live.advance(task_id, 1)

        def on_error(task: UnitTask, message: str) -> None:
            failures.append(f"{task.point}/{task.unit}: {message}")
            log.write(
                f"{datetime.now().isoformat(timespec='seconds')} FAILED {task.point}/"
                f"{task.unit}: {message}\n"
            )
            log.flush()
            if live is not None:
                live.advance(task_id, 1)

        executor.run(tasks, on_done, on_error)
    for pid in recipes:
        run_dir = sweep.point_dir(pid)
        meta = run_dir.read_meta()
        meta["engine"].update(engines[pid])
        meta["seconds"] = round(meta.get("seconds", 0) + seconds[pid], 3)
        run_dir.write_meta(meta)
        seal(run_dir.path, recipes[pid])
    sweep.aggregate()
    spec_meta = sweep.path / "logs" / "last_run.json"
    atomic_write_text(
        spec_meta,
        json.dumps(
            {
                "units_run": len(tasks),
                "units_skipped": skipped,
                "failed": len(failures),
                "backend": executor.name,
                "workers": executor.workers,
                "seconds": round(time.time() - started, 3),
            },
            indent=2,
        ),
    )
    if failures:
        raise GenloopError(
            f"{len(failures)} of {len(tasks)} units failed (see "
            f"{log_path}); first: {failures[0]}; rerun to retry them"
        )
