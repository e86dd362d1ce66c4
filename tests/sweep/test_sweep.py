"""Sweeps: grid points are run directories, executors agree, reruns skip, failures
are reported and retried (tier 1)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import genloop
from genloop.core.errors import ConfigError, DataError, GenloopError
from genloop.sweep import Sweep, run_sweep
from genloop.sweep import executors as executors_module

RECIPE = {
    "name": "sweep-test",
    "bench": "collapse",
    "seeds": "0..2",
    "family": {"name": "gaussian"},
    "source": {"name": "gaussian", "dim": 1},
    "n": 30,
    "generations": 6,
    "holdout": 50,
    "metrics": ["log_variance"],
    "variants": {"mle": {}, "unbiased": {"family.estimator": "unbiased"}},
    "engine": "samples",  # one unit per seed; fast paths run a batch of seeds per unit
}
GRID = ["mixing.policy=replace,accumulate"]


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Values and column order only (a run may keep string columns as categoricals)."""
    frame = frame.reset_index(drop=True)
    return frame.astype(
        {
            c: str
            for c in frame.columns
            if frame[c].dtype == object or isinstance(frame[c].dtype, pd.CategoricalDtype)
        }
    )


def test_points_are_run_directories_with_the_same_results_as_run(tmp_path):
    sweep = run_sweep(RECIPE, grid=GRID, out=tmp_path / "s", workers=1)
    assert list(sweep.points) == ["policy=replace", "policy=accumulate"]
    metrics = sweep.metrics
    assert list(metrics.columns) == [
        "point",
        "policy",
        "variant",
        "seed",
        "generation",
        "metric",
        "value",
    ]
    assert set(metrics["policy"]) == {"replace", "accumulate"}
    n_metrics = metrics["metric"].nunique()
    assert len(metrics) == 2 * 2 * 3 * 7 * n_metrics  # points × variants × seeds × generations
    # A grid point is exactly `genloop run` with the point's values as --set overrides.
    alone = genloop.run(RECIPE, overrides={"mixing.policy": "accumulate"}, out=tmp_path / "r")
    point = metrics[metrics["point"] == "policy=accumulate"].drop(columns=["point", "policy"])
    assert plain(point).equals(plain(alone.metrics))
    summary = pd.read_parquet(tmp_path / "s" / "summary.parquet")
    assert {
        "point",
        "policy",
        "variant",
        "metric",
        "generation",
        "median",
        "ci_low",
        "ci_high",
        "q10",
        "q90",
    } <= set(summary.columns)
    assert len(summary) == 2 * 2 * 7 * n_metrics
    spec = json.loads((tmp_path / "s" / "sweep.json").read_text())
    assert spec["columns"] == {"mixing.policy": "policy"}


def test_process_pool_gives_the_serial_results_and_reruns_skip(tmp_path):
    serial = run_sweep(RECIPE, grid=GRID, out=tmp_path / "serial", workers=1).metrics
    pooled = run_sweep(RECIPE, grid=GRID, out=tmp_path / "pool", workers=2)
    assert pooled.metrics.equals(serial)
    unit = tmp_path / "pool" / "points" / "policy=replace" / "units" / "mle__seed000001.parquet"
    before = unit.stat().st_mtime_ns
    again = run_sweep(RECIPE, grid=GRID, out=tmp_path / "pool", workers=2)  # same command
    assert unit.stat().st_mtime_ns == before
    assert json.loads((tmp_path / "pool" / "logs" / "last_run.json").read_text())["units_run"] == 0
    assert again.metrics.equals(serial)
    resumed = run_sweep(resume=tmp_path / "pool", workers=1)
    assert resumed.metrics.equals(serial)


def test_fast_path_batch_units_match_run(tmp_path):
    recipe = RECIPE | {"engine": "auto"}
    sweep = run_sweep(recipe, grid=GRID, out=tmp_path / "s", workers=1)
    alone = genloop.run(recipe, overrides={"mixing.policy": "replace"}, out=tmp_path / "r")
    metrics = sweep.metrics
    point = metrics[metrics["point"] == "policy=replace"].drop(columns=["point", "policy"])
    assert plain(point).equals(plain(alone.metrics))
    assert sorted(p.name for p in (tmp_path / "r" / "units").glob("*.parquet")) == sorted(
        p.name for p in (tmp_path / "s" / "points" / "policy=replace" / "units").glob("*.parquet")
    )


def test_damaged_unit_is_recomputed(tmp_path):
    reference = run_sweep(RECIPE, grid=GRID, out=tmp_path / "s", workers=1).metrics
    unit = (
        tmp_path / "s" / "points" / "policy=accumulate" / "units" / "unbiased__seed000002.parquet"
    )
    unit.write_bytes(unit.read_bytes()[:50])
    assert run_sweep(resume=tmp_path / "s", workers=1).metrics.equals(reference)
    assert json.loads((tmp_path / "s" / "logs" / "last_run.json").read_text())["units_run"] == 1


def test_recipe_grid_is_the_default_and_cli_grid_replaces_it(tmp_path):
    recipe = RECIPE | {"grid": {"mixing.policy": ["replace", "keep_fraction"]}, "seeds": 0}
    assert list(run_sweep(recipe, out=tmp_path / "a", workers=1).points) == [
        "policy=replace",
        "policy=keep_fraction",
    ]
    replaced = run_sweep(recipe, grid=["n=10,20"], out=tmp_path / "b", workers=1)
    assert list(replaced.points) == ["n=10", "n=20"]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"grid": None}, ConfigError, "no grid"),
        ({"overrides": ["mixing.policy=replace"]}, ConfigError, "set with --set and varied"),
        (
            {"grid": ["mixing.policy=replace,shuffle"]},
            ConfigError,
            "grid point policy=shuffle: config key 'mixing.policy' = 'shuffle'",
        ),
        ({"backend": "slurm"}, ConfigError, "unknown backend 'slurm'"),
        ({"workers": 0}, ConfigError, "--workers must be at least 1"),
    ],
)
def test_mistakes_are_one_line_errors(tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        run_sweep(RECIPE, **({"grid": GRID} | kwargs), out=tmp_path / "s")


def test_a_different_sweep_in_the_same_directory_is_refused(tmp_path):
    run_sweep(RECIPE | {"seeds": 0}, grid=GRID, out=tmp_path / "s", workers=1)
    with pytest.raises(DataError, match="holds a different sweep"):
        run_sweep(RECIPE | {"seeds": 0}, grid=["n=10,20"], out=tmp_path / "s", workers=1)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "file.txt").write_text("x")
    with pytest.raises(DataError, match="not empty and is not a sweep"):
        run_sweep(RECIPE, grid=GRID, out=tmp_path / "other")
    with pytest.raises(DataError, match="not a genloop sweep directory"):
        Sweep(tmp_path / "other")


def test_failed_units_are_retried_then_reported(tmp_path, monkeypatch):
    real = executors_module.run_unit_task
    calls = {}

    def flaky(task):
        key = f"{task.point}/{task.unit}"
        calls[key] = calls.get(key, 0) + 1
        if key == "policy=replace/mle__seed000001" and (always or calls[key] == 1):
            raise RuntimeError("disk hiccup")
        return real(task)

    monkeypatch.setattr(executors_module, "run_unit_task", flaky)
    always = False
    sweep = run_sweep(RECIPE | {"seeds": "0..1"}, grid=GRID, out=tmp_path / "a", workers=1)
    assert calls["policy=replace/mle__seed000001"] == 2 and len(sweep.metrics["seed"].unique()) == 2

    always, calls = True, {}
    with pytest.raises(
        GenloopError,
        match=r"1 of 8 units failed .*RuntimeError: disk hiccup; "
        "rerun to retry them",
    ):
        run_sweep(RECIPE | {"seeds": "0..1"}, grid=GRID, out=tmp_path / "b", workers=1, retries=2)
    assert calls["policy=replace/mle__seed000001"] == 3
    log = (tmp_path / "b" / "logs" / "sweep.log").read_text()
    assert "FAILED policy=replace/mle__seed000001" in log
    # The units that finished were kept and aggregated; a rerun runs only the failed one.
    metrics = Sweep(tmp_path / "b").metrics
    assert len(metrics) == (2 * 2 * 2 - 1) * 7 * metrics["metric"].nunique()
    monkeypatch.setattr(executors_module, "run_unit_task", real)
    run_sweep(resume=tmp_path / "b", workers=1)
    assert json.loads((tmp_path / "b" / "logs" / "last_run.json").read_text())["units_run"] == 1
