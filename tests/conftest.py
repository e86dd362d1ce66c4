"""Fixtures shared by test directories."""

from __future__ import annotations

import numpy as np
import pytest


class Crash(Exception):
    """Raised inside a seed to simulate a process that died mid-run."""


@pytest.fixture
def crash_in_seed():
    """``crash(recipe, out, crash_at, seed=1) -> RunDir``: run a collapse recipe and crash
    inside ``seed`` right after it logged generation ``crash_at`` (earlier seeds finish,
    the crashed unit keeps its checkpoint), as a killed process would leave it."""
    from genloop.collapse import bench as collapse
    from genloop.core.config import resolve
    from genloop.core.run_dir import RunDir
    from genloop.core.runner import execute

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


def random_markov_blocks(n_blocks=40, length=8, vocab=12, seed=0, concentration=0.5):
    """Token blocks of a random Markov chain (rows ~ Dirichlet(concentration)), all
    blocks stepped at once: object array of ``n_blocks`` int64 arrays of ``length``."""
    from genloop.data.tokenize import as_token_blocks

    rng = np.random.default_rng(seed)
    cumulative = np.cumsum(rng.dirichlet(np.full(vocab, concentration), size=vocab), axis=1)
    blocks = np.empty((n_blocks, length), dtype=np.int64)
    state = rng.integers(vocab, size=n_blocks)
    for t in range(length):
        u = rng.random(n_blocks)[:, None]
        state = np.minimum((cumulative[state] <= u).sum(axis=1), vocab - 1)
        blocks[:, t] = state
    return as_token_blocks(list(blocks))


@pytest.fixture
def markov_blocks():
    """:func:`random_markov_blocks` as a fixture (test modules cannot import each other)."""
    return random_markov_blocks
