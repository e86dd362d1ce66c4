"""SIGKILL at random moments, then resume: results identical to an uninterrupted run.

The command runs in a subprocess (its own session, so the kill takes the whole process
group, workers included) and is killed at seeded random times; then it is run again until
it finishes. The aggregated metrics must equal those of an uninterrupted run, bit for bit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import yaml

import genloop
from genloop.provenance.ledger import verify
from genloop.sweep import run_sweep

RECIPE = {
    "name": "kill-test",
    "bench": "collapse",
    "seeds": "0..1",
    "family": {"name": "gaussian"},
    "source": {"name": "gaussian", "dim": 1},
    "n": 30,
    # With the ledger on, each generation also writes its pool, ledger and manifest
    # (about 7 ms), so 250 generations keep a unit about as long as 600 did without it.
    "generations": 250,
    "ledger": "on",
    "holdout": 50,
    "metrics": ["log_variance"],
    # Checkpoint often, so that kills land between, during and after checkpoint writes;
    # the sample-level loop (a fast path would finish every seed in one short batch).
    "checkpoint_seconds": 0.02,
    "engine": "samples",
}
GRID = "mixing.policy=replace,accumulate"
CLI = [sys.executable, "-c", "from genloop.cli import app; app()"]


def command(kind: str, recipe_path, out, workers: int) -> list[str]:
    if kind == "sweep":
        return [
            *CLI,
            "sweep",
            str(recipe_path),
            "--grid",
            GRID,
            "--out",
            str(out),
            "--workers",
            str(workers),
            "--quiet",
        ]
    return [*CLI, "run", str(recipe_path), "--out", str(out), "--quiet"]


def resume_command(kind: str, recipe_path, out, workers: int) -> list[str]:
    if kind == "sweep":  # the same command again continues the sweep
        return command(kind, recipe_path, out, workers)
    return [*CLI, "run", "--resume", str(out), "--quiet"]


def mid_unit(out) -> bool:
    """True when a kill left a unit checkpoint behind: the resume starts inside a unit."""
    return any(p.is_dir() and (p / "marker.json").exists() for p in out.rglob("units/*.partial"))


def wait_for_work(out, process, timeout: float = 60.0) -> None:
    """Block until this process wrote a unit file or checkpoint (imports take seconds on
    a busy machine, so kill times count from here, not from the start of the process)."""
    started = time.time()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        for path in [*out.rglob("units/*"), *out.rglob("units/*.partial/*")]:
            try:
                if path.stat().st_mtime >= started:
                    return
            except FileNotFoundError:  # replaced while we looked
                continue
        time.sleep(0.01)


def kill_and_resume(kind: str, tmp_path, workers: int, kills: int, seed: int):
    recipe_path = tmp_path / "recipe.yaml"
    recipe_path.write_text(yaml.safe_dump(RECIPE))
    out = tmp_path / "killed"
    rng = np.random.default_rng(seed)
    interrupted = []
    # At least `kills` kills, and more (up to 4 extra) until one lands inside a unit.
    for attempt in range(kills + 4):
        if attempt >= kills and any(interrupted):
            break
        started = attempt > 0 and (out / "config.yaml").exists()
        args = (
            resume_command(kind, recipe_path, out, workers)
            if started
            else command(kind, recipe_path, out, workers)
        )
        process = subprocess.Popen(
            args, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        wait_for_work(out, process)
        # A seeded random moment within the work (each unit runs for about a second).
        time.sleep(rng.uniform(0.0, 0.5))
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:  # it finished before the kill: try again, later
            pass
        process.wait()
        interrupted.append(process.returncode == -signal.SIGKILL and mid_unit(out))
    finished = subprocess.run(
        resume_command(kind, recipe_path, out, workers), capture_output=True, text=True, timeout=300
    )
    assert finished.returncode == 0, finished.stderr
    assert any(interrupted), "no kill landed inside a unit; the work finished too early"
    return out


@pytest.mark.parametrize("kind", ["sweep", "run"])
def test_killed_and_resumed_equals_uninterrupted(tmp_path, kind):
    if kind == "sweep":
        run_sweep(RECIPE, grid=[GRID], out=tmp_path / "ref", workers=1)
    else:
        genloop.run(RECIPE, out=tmp_path / "ref")
    reference = pd.read_parquet(tmp_path / "ref" / "metrics.parquet")
    out = kill_and_resume(kind, tmp_path, workers=1, kills=2 if kind == "sweep" else 1, seed=6)
    assert pd.read_parquet(out / "metrics.parquet").equals(reference)
    # The provenance ledger survived the kills too: its hash chain verifies and every
    # ledger and pool file is byte-identical to the uninterrupted run's.
    runs = [c.parent for c in out.rglob("config.yaml")]  # a sweep: one run per grid point
    assert runs and all(verify(run) == [] for run in runs)
    files = sorted(p.relative_to(out) for p in out.rglob("ledger/*/*"))
    assert files == sorted(p.relative_to(tmp_path / "ref") for p in (tmp_path / "ref").rglob("ledger/*/*"))
    assert len(files) > 0
    assert all((out / f).read_bytes() == (tmp_path / "ref" / f).read_bytes() for f in files)


@pytest.mark.slow
def test_killed_process_pool_sweep_resumes_identically(tmp_path):
    """The same with two worker processes and more kills (about 30 s on a busy machine)."""
    run_sweep(RECIPE, grid=[GRID], out=tmp_path / "ref", workers=1)
    reference = pd.read_parquet(tmp_path / "ref" / "metrics.parquet")
    out = kill_and_resume("sweep", tmp_path, workers=2, kills=4, seed=7)
    assert pd.read_parquet(out / "metrics.parquet").equals(reference)
    assert all(verify(c.parent) == [] for c in out.rglob("config.yaml"))
