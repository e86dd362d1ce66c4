"""The Ray backend runs the same units as the local one and gives the same summary.

Runs on a local Ray instance (two CPUs). Skipped, with the reason, only when Ray is not
installed or cannot start on this machine.
"""

from __future__ import annotations

import pandas as pd
import pytest

from genloop.sweep import run_sweep

RECIPE = {
    "name": "ray-test",
    "bench": "collapse",
    "seeds": "0..2",
    "family": {"name": "gaussian"},
    "source": {"name": "gaussian", "dim": 1},
    "n": 30,
    "generations": 5,
    "holdout": 50,
    "metrics": ["log_variance"],
    "engine": "samples",
}
GRID = ["mixing.policy=replace,keep_fraction"]


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'genloop[ray]')")
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"a local Ray instance cannot start here: {str(exc).splitlines()[0]}")
    yield ray
    ray.shutdown()


def test_ray_summary_equals_local_summary(tmp_path, local_ray):
    local = run_sweep(RECIPE, grid=GRID, out=tmp_path / "local", workers=2)
    ray = run_sweep(RECIPE, grid=GRID, out=tmp_path / "ray", backend="ray", workers=2)
    assert local_ray.is_initialized()  # the executor reused the running instance
    assert ray.metrics.equals(local.metrics)
    assert pd.read_parquet(tmp_path / "ray" / "summary.parquet").equals(
        pd.read_parquet(tmp_path / "local" / "summary.parquet")
    )
    log = (tmp_path / "ray" / "logs" / "sweep.log").read_text()
    assert "backend ray" in log and log.count(" done ") == 2 * 3


def test_ray_retries_a_unit_whose_worker_died(tmp_path, local_ray):
    """A unit that kills its own worker once is retried by Ray and the sweep completes."""
    marker = tmp_path / "died-once"
    recipe = RECIPE | {"seeds": 0}
    reference = run_sweep(recipe, grid=GRID, out=tmp_path / "ref", workers=1).metrics

    from genloop.sweep import executors

    real = executors.run_unit_task

    def dies_once(task):
        import os

        if task.point == "policy=replace" and not marker.exists():
            marker.write_text("x")
            os._exit(1)  # the worker process vanishes, as if killed
        return real(task)

    original = executors.run_unit_task
    executors.run_unit_task = dies_once
    try:
        swept = run_sweep(recipe, grid=GRID, out=tmp_path / "ray", backend="ray", workers=2)
    finally:
        executors.run_unit_task = original
    assert marker.exists()
    assert swept.metrics.equals(reference)
