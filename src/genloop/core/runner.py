"""Run a validated recipe into a run directory: every variant × seed, resumably.

The runner is the same for every bench. It owns the run directory, skips finished units
when resuming, gives each unit a :class:`~genloop.core.bench.SeedContext` whose
``checkpoint``/``restore`` persist state between generations, and drives the progress bar.
"""

from __future__ import annotations

import time
from contextlib import nullcontext

import numpy as np
import pandas as pd

from genloop.core.bench import BatchContext, SeedContext
from genloop.core.config import Recipe
from genloop.core.errors import ConfigError
from genloop.core.registry import resolve
from genloop.core.run_dir import RunDir, columns_frame, config_changes, config_digest, rows_frame
from genloop.core.version import __version__


def unit_name(variant: str, seed: int) -> str:
    """The unit id of one variant × seed (a file-name-safe string)."""
    return f"{variant}__seed{seed:06d}"


def _steps_per_seed(config) -> int:
    generations = getattr(config, "generations", None)
    if isinstance(generations, int):
        return generations + 1
    total = getattr(config, "progress_steps", None)
    return int(total()) if callable(total) else 1


def progress_bar(enabled: bool, total: int, label: str, unit: str = ""):
    """A started rich progress bar with one task (or a null context when disabled).

    ``unit`` is shown after the counts (e.g. ``"units"`` for sweeps).
    """
    if not enabled:
        return nullcontext(None)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn(unit), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
        transient=True,
    )
    progress.start()
    progress.add_task(label, total=total)
    return progress


def _plan(recipe: Recipe, bench) -> list[tuple[str, list[int], str | None]]:
    """The units to run: ``(variant, seeds, batch engine or None)``.

    A variant whose config has a fast path runs all its seeds as one batch unit;
    otherwise each seed is its own unit.
    """
    units = []
    for variant, config in recipe.variants.items():
        engine = bench.batch_engine(config) if bench.batch_engine else None
        if engine:
            units.append((variant, list(recipe.seeds), engine))
        else:
            units += [(variant, [seed], None) for seed in recipe.seeds]
    return units


def batch_unit_name(variant: str, seeds: list[int]) -> str:
    """The unit id of a batch of seeds run at once."""
    return f"{variant}__seeds{seeds[0]:06d}-{seeds[-1]:06d}__n{len(seeds)}"


def unit_id(variant: str, seeds: list[int], engine: str | None) -> str:
    """The id of a unit: a batch of seeds on a fast path, else one seed."""
    return batch_unit_name(variant, seeds) if engine else unit_name(variant, seeds[0])


def ledger_plan(recipe: Recipe) -> dict[str, str]:
    """Per variant: ``"on"``, or ``"off: <why>"``; empty when the bench keeps no ledger.

    The bench decides (its :attr:`~genloop.core.bench.Bench.ledger_plan` hook): which of
    its configs keep a provenance ledger depends on the bench's own loop.
    """
    bench = resolve("bench", recipe.bench)
    if bench.ledger_plan is None:
        return {}
    return bench.ledger_plan(recipe.variants, recipe.seeds)


def _run_unit(bench, config, run_dir: RunDir, variant, seeds, engine, advance,
              ledger: bool = False) -> str:
    """Run one unit (a seed, or a batch of seeds) and write its result file."""
    unit = unit_id(variant, seeds, engine)
    rows: list[tuple] = []
    saved = run_dir.load_checkpoint(unit)
    if saved is not None:
        rows = list(saved[1])

    def checkpoint(generation, arrays):
        run_dir.save_checkpoint(unit, generation, rows, arrays)

    def restore():
        return None if saved is None else (saved[0], saved[2])

    extra = {"variant": variant}
    if ledger and not engine:
        extra["ledger_dir"] = run_dir.ledger_dir(unit)
    common = dict(artifact_dir=run_dir.artifact_dir(unit), advance=advance,
                  checkpoint=checkpoint, restore=restore, extra=extra)
    if engine:
        seed_array = np.asarray(seeds, dtype=np.int64)
        # Whole columns per (generation, metric), not a tuple per row: a batch of 10,000
        # seeds x 100 generations x 10 metrics is 10 million rows.
        blocks: list[tuple] = []

        def log_batch(generation, values):
            for metric, column in values.items():
                column = np.broadcast_to(np.asarray(column, dtype=float), seed_array.shape)
                blocks.append((int(generation), metric, column.copy()))

        def checkpoint_batch(generation, arrays):
            frame = columns_frame(variant, seed_array, blocks)
            batch_rows = rows + list(frame.itertuples(index=False, name=None))
            run_dir.save_checkpoint(unit, generation, batch_rows, arrays)

        common["checkpoint"] = checkpoint_batch
        used = bench.run_batch(config, BatchContext(seeds=list(seeds), log=log_batch, **common))
        frame = columns_frame(variant, seed_array, blocks)
        if rows:
            frame = pd.concat([rows_frame(rows), frame], ignore_index=True)
        run_dir.finish_unit(unit, frame)
        return used or engine
    else:
        seed = seeds[0]

        def log(generation, values):
            for metric, value in values.items():
                rows.append((variant, seed, int(generation), metric, float(value)))

        used = bench.run_seed(config, SeedContext(seed=seed, log=log, **common))
    run_dir.finish_unit(unit, rows)
    return used or engine or "samples"


def variant_digests(recipe: Recipe) -> dict[str, str]:
    """Per variant, the sha256 of its validated bench config (what its units ran)."""
    return {variant: config_digest(config.model_dump(mode="json"))
            for variant, config in recipe.variants.items()}


def check_config(recipe: Recipe, run_dir: RunDir, meta: dict, new_config: bool) -> None:
    """Stop a resume whose config differs from the one the run started with.

    ``meta`` holds the config the finished units ran (``config``, its ``config_sha256``
    and each variant's ``variant_sha256``), saved when the run started. A different
    config would silently mix two experiments in one directory (seeds 0-1 of one, 2-3 of
    another), so it is an error naming the changed keys, unless ``new_config``: then the
    units whose variant config or seed changed start afresh and the rest are kept.

    Raises
    ------
    ConfigError
        The config changed and ``new_config`` is False.
    """
    saved = meta.get("config_sha256")
    if saved is None or saved == config_digest(recipe.raw):
        return  # a run started before genloop saved its config hash cannot be checked
    changed = config_changes(meta.get("config") or {}, recipe.raw)
    if not new_config:
        shown = ", ".join(changed[:8]) or "its hash"
        shown += f", ... (+{len(changed) - 8})" if len(changed) > 8 else ""
        raise ConfigError(
            f"{run_dir.path}: config.yaml changed since the run started ({shown}); finished "
            "units ran the old config. Restore it, or pass --force-new-config to rerun the "
            "changed units afresh"
        )
    before = meta.get("variant_sha256") or {}
    now = variant_digests(recipe)
    keep = {unit for unit, variant, *_ in plan_units(recipe)
            if before.get(variant) == now[variant]}
    # Units of removed seeds are not planned, and a batch unit's id names its seeds.
    run_dir.forget_units(keep)
    meta.pop("seconds", None)
    meta["engine"] = {}


def execute(recipe: Recipe, run_dir: RunDir, *, progress: bool = True,
            new_config: bool = False) -> RunDir:
    """Run (or continue) every unit of ``recipe`` in ``run_dir``.

    The run directory's lock (:meth:`RunDir.lock`) is held throughout: a second process
    on the same directory stops with one line naming this one.

    Parameters
    ----------
    recipe : Recipe
        The validated recipe.
    run_dir : RunDir
        A new directory, or one being resumed: finished units are skipped and
        unfinished ones continue from their last checkpoint.
    progress : bool
        Show a rich progress bar on the terminal.
    new_config : bool
        When resuming a directory whose config changed since it started, rerun the
        changed units afresh (else that is an error; see :func:`check_config`).

    Returns
    -------
    RunDir
    """
    bench = resolve("bench", recipe.bench)
    run_dir.path.mkdir(parents=True, exist_ok=True)
    with run_dir.lock():
        meta = run_dir.read_meta() or {
            "genloop_version": __version__, "recipe": recipe.name, "bench": recipe.bench,
            "variants": list(recipe.variants), "seeds": recipe.seeds, "engine": {},
        }
        check_config(recipe, run_dir, meta, new_config)
        if not run_dir.exists() or new_config:
            run_dir.write_config(recipe.raw)
        # What the units run, saved before the first of them starts: --resume compares it.
        meta |= {"variants": list(recipe.variants), "seeds": recipe.seeds,
                 "config": recipe.raw, "config_sha256": config_digest(recipe.raw),
                 "variant_sha256": variant_digests(recipe)}
        ledgers = ledger_plan(recipe)
        if ledgers:
            meta["ledger"] = ledgers
        run_dir.write_meta(meta)
        _run_units(recipe, bench, run_dir, meta, ledgers, progress)
    return run_dir


def _run_units(recipe: Recipe, bench, run_dir: RunDir, meta: dict, ledgers: dict,
               progress: bool) -> None:
    """Every unit not yet finished, then ``metrics.parquet`` and the run's time."""
    started = time.time()
    units = plan_units(recipe)
    total = sum(steps for *_, steps in units)
    with progress_bar(progress, total, recipe.name) as live:
        task = live.task_ids[0] if live is not None else None
        for unit, variant, seeds, engine, steps in units:
            # A batch advances once per generation for all its seeds.
            scale = len(seeds) if engine else 1

            def advance(n: int = 1, _scale=scale) -> None:
                if live is not None:
                    live.advance(task, n * _scale)

            if run_dir.unit_done(unit):
                advance(steps // scale)
                continue
            used = _run_unit(bench, recipe.variants[variant], run_dir, variant, seeds,
                             engine, advance, ledgers.get(variant) == "on")
            if ledgers.get(variant, "on").startswith("off: the run would write"):
                # `genloop show` prints the engine line; say there why no ledger exists.
                used = f"{used}; ledger {ledgers[variant]}"
            meta["engine"][variant] = used
            run_dir.write_meta(meta)
    meta["seconds"] = round(meta.get("seconds", 0) + time.time() - started, 3)
    run_dir.write_meta(meta)
    run_dir.collect()


def plan_units(recipe: Recipe) -> list[tuple[str, str, list[int], str | None, int]]:
    """Every unit of ``recipe`` as ``(unit id, variant, seeds, batch engine, steps)``.

    Used by sweeps, which hand units to worker processes; ``steps`` is the unit's share
    of the progress bar (generations × seeds).
    """
    bench = resolve("bench", recipe.bench)
    units = []
    for variant, seeds, engine in _plan(recipe, bench):
        units.append((unit_id(variant, seeds, engine), variant, seeds, engine,
                      _steps_per_seed(recipe.variants[variant]) * len(seeds)))
    return units


def run_unit(recipe: Recipe, run_dir: RunDir, variant: str, seeds: list[int],
             engine: str | None, advance=None) -> str:
    """Run one unit of ``recipe`` (see :func:`plan_units`) and write its result file.

    Safe to call from a worker process: it writes only the unit's own files (its result
    Parquet, its ``.partial`` checkpoint folder and ``artifacts/<unit>/``).

    Returns
    -------
    str
        The engine path that ran.
    """
    bench = resolve("bench", recipe.bench)
    ledger = ledger_plan(recipe).get(variant) == "on"
    return _run_unit(bench, recipe.variants[variant], run_dir, variant, seeds, engine,
                     advance or (lambda n=1: None), ledger)
