"""Run a validated recipe into a run directory: every variant × seed, resumably.

The runner is the same for every bench. It owns the run directory, skips finished units
when resuming, gives each unit a :class:`~genloop.benches.base.SeedContext` whose
``checkpoint``/``restore`` persist state between generations, and drives the progress bar.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from pathlib import Path

import genloop
from genloop.benches.base import SeedContext
from genloop.config import Recipe
from genloop.registry import resolve
from genloop.store.run_dir import RunDir


def unit_name(variant: str, seed: int) -> str:
    """The unit id of one variant × seed (a file-name-safe string)."""
    return f"{variant}__seed{seed:06d}"


def _steps_per_seed(config) -> int:
    generations = getattr(config, "generations", None)
    if isinstance(generations, int):
        return generations + 1
    total = getattr(config, "progress_steps", None)
    return int(total()) if callable(total) else 1


def _progress(enabled: bool, total: int, label: str):
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
        TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), transient=True,
    )
    progress.start()
    progress.add_task(label, total=total)
    return progress


def execute(recipe: Recipe, run_dir: RunDir, *, progress: bool = True) -> RunDir:
    """Run (or continue) every unit of ``recipe`` in ``run_dir``.

    Parameters
    ----------
    recipe : Recipe
        The validated recipe.
    run_dir : RunDir
        A new directory, or one being resumed: finished units are skipped and
        unfinished ones continue from their last checkpoint.
    progress : bool
        Show a rich progress bar on the terminal.

    Returns
    -------
    RunDir
    """
    bench = resolve("bench", recipe.bench)
    if not run_dir.exists():
        run_dir.write_config(recipe.raw)
    started = time.time()
    units = [(v, s) for v in recipe.variants for s in recipe.seeds]
    total = sum(_steps_per_seed(recipe.variants[v]) for v, _ in units)
    meta = {
        "genloop_version": genloop.__version__, "recipe": recipe.name, "bench": recipe.bench,
        "variants": list(recipe.variants), "seeds": recipe.seeds, "engine": {},
    }
    bar = _progress(progress, total, recipe.name)
    with bar as live:
        task = live.task_ids[0] if live is not None else None

        def advance(n: int = 1) -> None:
            if live is not None:
                live.advance(task, n)

        for variant, seed in units:
            unit = unit_name(variant, seed)
            config = recipe.variants[variant]
            if run_dir.unit_done(unit):
                advance(_steps_per_seed(config))
                continue
            rows: list[tuple] = []
            saved = run_dir.load_checkpoint(unit)
            if saved is not None:
                rows = list(saved[1])

            def log(generation, values, _variant=variant, _seed=seed, _rows=rows):
                for metric, value in values.items():
                    _rows.append((_variant, _seed, int(generation), metric, float(value)))

            def checkpoint(generation, arrays, _unit=unit, _rows=rows):
                run_dir.save_checkpoint(_unit, generation, _rows, arrays)

            def restore(_saved=saved):
                return None if _saved is None else (_saved[0], _saved[2])

            ctx = SeedContext(
                seed=seed, log=log, artifact_dir=run_dir.artifact_dir(unit), advance=advance,
                checkpoint=checkpoint, restore=restore, extra={"variant": variant},
            )
            engine_used = bench.run_seed(config, ctx)
            meta["engine"][variant] = engine_used or "samples"
            run_dir.finish_unit(unit, rows)
    meta["seconds"] = round(time.time() - started, 3)
    run_dir.write_meta(meta)
    run_dir.collect()
    return run_dir


def default_root() -> Path:
    """Where new runs go unless ``--out`` says otherwise."""
    return Path("runs")
