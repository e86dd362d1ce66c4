"""Fixtures shared by test directories."""

from __future__ import annotations

import pytest


class Crash(Exception):
    """Raised inside a seed to simulate a process that died mid-run."""


@pytest.fixture
def crash_in_seed():
    """``crash(recipe, out, crash_at, seed=1) -> RunDir``: run a collapse recipe and crash
    inside ``seed`` right after it logged generation ``crash_at`` (earlier seeds finish,
    the crashed unit keeps its checkpoint), as a killed process would leave it."""
    from genloop.benches import collapse
    from genloop.config import resolve
    from genloop.runner import execute
    from genloop.store.run_dir import RunDir

    def crash(recipe, out, crash_at: int, seed: int = 1) -> RunDir:
        validated = resolve(recipe)
        run_dir = RunDir.create(out.parent, "x", validated.seeds, out)
        original = collapse.BENCH.run_seed

        def crashing(config, ctx):
            if ctx.seed == seed:
                log = ctx.log

                def log_then_crash(generation, values):
                    log(generation, values)
                    if generation == crash_at:
                        raise Crash

                ctx.log = log_then_crash
            return original(config, ctx)

        object.__setattr__(collapse.BENCH, "run_seed", crashing)
        try:
            with pytest.raises(Crash):
                execute(validated, run_dir, progress=False)
        finally:
            object.__setattr__(collapse.BENCH, "run_seed", original)
        return run_dir

    return crash


def ledger_files(run_path) -> dict:
    """Every file under a run's ``ledger/`` folder: relative path → bytes."""
    base = run_path / "ledger"
    return {p.relative_to(base): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}


@pytest.fixture
def read_ledger_files():
    """:func:`ledger_files` as a fixture (test modules cannot import each other)."""
    return ledger_files
