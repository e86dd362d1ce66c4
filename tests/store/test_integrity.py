"""Damaged artifacts are detected and recomputed or named, never read silently (tier 1)."""

from __future__ import annotations

import pandas as pd
import pytest

from genloop.core.config import resolve
from genloop.core.errors import DataError
from genloop.core.run_dir import RunDir, atomic_write_text
from genloop.core.runner import run_unit
from genloop.sweep import Sweep, run_sweep

RECIPE = {
    "name": "integrity",
    "bench": "collapse",
    "seeds": "0..1",
    "family": {"name": "gaussian"},
    "source": {"name": "gaussian", "dim": 1},
    "n": 30,
    "generations": 8,
    "holdout": 50,
    "metrics": ["log_variance"],
    "engine": "samples",
    "checkpoint_seconds": 0.0,
}
GRID = ["mixing.policy=replace,accumulate"]


class Stop(Exception):
    pass


def interrupted_unit(tmp_path):
    """A run directory whose unit seed 0 stopped after generation 4 with a checkpoint."""
    recipe = resolve(RECIPE | {"seeds": 0})
    run_dir = RunDir(tmp_path / "run")
    run_dir.path.mkdir()
    run_dir.write_config(recipe.raw)

    def advance(n=1, seen=[0]):  # noqa: B006 - a counter across calls
        seen[0] += n
        if seen[0] > 5:
            raise Stop

    with pytest.raises(Stop):
        run_unit(recipe, run_dir, "default", [0], None, advance)
    assert run_dir.load_checkpoint("default__seed000000") is not None
    return recipe, run_dir


@pytest.mark.parametrize("damage", ["state", "rows", "marker"])
def test_damaged_checkpoint_is_discarded_and_the_unit_restarts(tmp_path, damage):
    reference = RunDir(tmp_path / "ref")
    reference.path.mkdir()
    recipe = resolve(RECIPE | {"seeds": 0})
    run_unit(recipe, reference, "default", [0], None)
    recipe, run_dir = interrupted_unit(tmp_path)
    partial = run_dir.partial_dir("default__seed000000")
    target = {
        "state": next(partial.glob("state_*.safetensors")),
        "rows": next(partial.glob("rows_*.parquet")),
        "marker": partial / "marker.json",
    }[damage]
    target.write_bytes(target.read_bytes()[: max(1, target.stat().st_size // 2)])
    assert run_dir.load_checkpoint("default__seed000000") is None or damage == "marker"
    run_unit(recipe, run_dir, "default", [0], None)
    assert run_dir.collect().equals(reference.collect())


def test_stray_temporaries_are_ignored(tmp_path):
    sweep = run_sweep(RECIPE, grid=GRID, out=tmp_path / "s", workers=1)
    units = sweep.point_dir("policy=replace").path / "units"
    (units / ".default__seed000000.parquet.abc123.tmp").write_bytes(b"half a file")
    again = run_sweep(resume=sweep.path, workers=1)
    assert again.metrics.equals(sweep.metrics)


def test_damaged_aggregates_are_named_then_rebuilt(tmp_path):
    sweep = run_sweep(RECIPE, grid=GRID, out=tmp_path / "s", workers=1)
    reference = sweep.metrics
    (sweep.path / "metrics.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match=r"cannot read .*metrics\.parquet"):
        Sweep(sweep.path).metrics  # noqa: B018 - the read is the test
    rebuilt = run_sweep(resume=sweep.path, workers=1)
    assert rebuilt.metrics.equals(reference)
    assert pd.read_parquet(sweep.path / "summary.parquet").shape[0] > 0


def test_damaged_sweep_spec_or_config_is_a_one_line_error(tmp_path):
    sweep = run_sweep(RECIPE, grid=GRID, out=tmp_path / "s", workers=1)
    config = sweep.point_dir("policy=replace").path / "config.yaml"
    config.write_text("family: [unclosed")
    with pytest.raises(DataError, match=r"cannot read .*config\.yaml"):
        run_sweep(resume=sweep.path, workers=1)
    atomic_write_text(sweep.path / "sweep.json", "{not json")
    with pytest.raises(DataError, match=r"sweep\.json: not valid JSON"):
        run_sweep(resume=sweep.path, workers=1)
