"""The sample-level loop: determinism, resume after a crash, the curation hook (tier 1)."""

from __future__ import annotations

import numpy as np
import pytest

import genloop
from genloop.core.config import resolve
from genloop.core.run_dir import RunDir

GAUSS = {
    "name": "loop-test", "bench": "collapse", "seeds": "0..2",
    "family": {"name": "gaussian"}, "source": {"name": "gaussian", "dim": 2},
    "n": 30, "generations": 12, "holdout": 50,
    "metrics": ["log_variance", "mean_shift"],
    # These tests are about the sample-level loop (fast paths: test_fast_integration.py).
    "engine": "samples",
}


def metrics_of(run_dir):
    return RunDir(run_dir).metrics().drop(columns=[]).reset_index(drop=True)


def test_same_seed_is_bit_identical_and_seeds_differ(tmp_path):
    a = genloop.run(GAUSS, out=tmp_path / "a").metrics
    b = genloop.run(GAUSS, out=tmp_path / "b").metrics
    assert a.equals(b)
    lv = a[(a.metric == "log_variance") & (a.generation == 12)]["value"]
    assert lv.nunique() == 3  # three seeds, three different trajectories



@pytest.mark.parametrize("crash_at", [1, 5, 11])
@pytest.mark.parametrize("policy", ["replace", "accumulate", "keep_fraction"])
def test_resume_after_crash_matches_uninterrupted(tmp_path, crash_at, policy, crash_in_seed):
    recipe = GAUSS | {"checkpoint_seconds": 0.0, "mixing": {"policy": policy}}
    reference = genloop.run(recipe, out=tmp_path / "ref").metrics

    # Crash inside seed 1 after `crash_at` generations were logged (seed 0 finished).
    run_dir = crash_in_seed(recipe, tmp_path / "crashed", crash_at)
    assert run_dir.unit_done("default__seed000000")
    assert not run_dir.unit_done("default__seed000001")
    assert run_dir.load_checkpoint("default__seed000001")[0] == crash_at - 1

    resumed = genloop.run(None, resume=run_dir.path).metrics
    assert resumed.equals(reference)


def test_damaged_unit_file_is_recomputed(tmp_path):
    run = genloop.run(GAUSS, out=tmp_path / "r")
    reference = run.metrics
    unit = RunDir(run.path).unit_file("default__seed000002")
    unit.write_bytes(unit.read_bytes()[:40])  # truncate: a half-written file
    (run.path / "metrics.parquet").unlink()
    assert genloop.run(None, resume=run.path).metrics.equals(reference)


def test_curation_hook_sees_candidates_and_shrinks_pool(tmp_path):
    from genloop.collapse.loop import run_seed
    from genloop.core.bench import SeedContext

    config = resolve(GAUSS | {"generations": 3}).config
    rows = []
    ctx = SeedContext(seed=0, log=lambda g, v: rows.append((g, v)), artifact_dir=tmp_path)

    def keep_positive_first_coordinate(candidates, generation):
        return candidates.take(np.flatnonzero(candidates.X[:, 0] > 0))

    run_seed(config, ctx, curate=keep_positive_first_coordinate)
    sizes = [v["pool_size"] for _, v in rows]
    assert sizes[0] == 30 and 5 < sizes[1] < 25  # about half of N(0, I) has x > 0
    assert [v["synthetic_share"] for _, v in rows][0] == 0.0


def test_snapshots_are_written_and_plotted(tmp_path):
    recipe = GAUSS | {"seeds": 0, "snapshots": [0, 6, 12], "family": {"name": "gmm"},
                      "source": {"name": "gmm"}, "metrics": ["component_std"]}
    run = genloop.run(recipe, out=tmp_path / "r")
    snaps = sorted((run.path / "artifacts" / "default__seed000000").glob("snapshot_*"))
    assert [s.name for s in snaps] == [
        f"snapshot_gen{g:05d}.safetensors" for g in (0, 6, 12)
    ]
    names = sorted(p.name for p in run.plot().paths)
    assert names == ["density_snapshots.png", "metrics.png"]
    assert all((run.path / "figures" / n).stat().st_size > 10_000 for n in names)


def test_damaged_snapshot_is_skipped_in_the_figure(tmp_path):
    recipe = GAUSS | {"seeds": 0, "snapshots": [0, 6, 12], "family": {"name": "gmm"},
                      "source": {"name": "gmm"}, "metrics": ["component_std"]}
    run = genloop.run(recipe, out=tmp_path / "r")
    damaged = run.path / "artifacts" / "default__seed000000" / "snapshot_gen00006.safetensors"
    damaged.write_bytes(b"not a safetensors file")
    with pytest.warns(UserWarning, match="snapshot_gen00006"):
        paths = run.plot().paths
    assert any(p.name == "density_snapshots.png" for p in paths)


def test_capacity_figure_from_variants(tmp_path):
    run = genloop.run("collapse-vs-capacity", quick=True, out=tmp_path / "c")
    paths = {p.name: p for p in run.plot().paths}
    assert paths["collapse_vs_capacity.png"].stat().st_size > 10_000
    capacities = {name: cfg.capacity for name, cfg in run.recipe.variants.items()}
    assert capacities["gmm-8"] == 8 and capacities["kde-h0.1"] == 10.0
