"""Tier 3: every shipped recipe runs in its --quick mode; golden metrics stay put.

Each quick run's metrics are compared bit for bit with the digests in
tests/golden/quick_metrics.json, recorded before the layout redesign (issue 13): a
refactor that changes any number, any random stream or any row fails here. After an
intended change regenerate them (``python tests/golden/quick_metrics.py --write NAME``)
and say why in the commit.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import genloop
from genloop.core.config import known_recipes

GOLDEN = Path(__file__).parent / "golden" / "nature-gaussian-quick.json"
QUICK_DIGESTS = json.loads((Path(__file__).parent / "golden" / "quick_metrics.json").read_text())


def quick_metrics_module():
    import importlib.util

    path = Path(__file__).parent / "golden" / "quick_metrics.py"
    spec = importlib.util.spec_from_file_location("genloop_golden_quick_metrics", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", sorted(known_recipes()))
def test_recipe_quick_runs(name, tmp_path):
    run = genloop.run(name, quick=True, out=tmp_path / name)
    frame = run.metrics
    assert len(frame) > 0 and np.isfinite(frame["value"]).all()
    assert set(frame["variant"]) == set(run.recipe.variants)
    assert sorted(frame["seed"].unique()) == run.recipe.seeds
    assert quick_metrics_module().digest(frame) == QUICK_DIGESTS[name], (
        f"{name} --quick metrics differ from tests/golden/quick_metrics.json")


@pytest.mark.parametrize("case", [c[0] for c in quick_metrics_module().FAST_CASES])
def test_fast_engine_quick_metrics_bit_identical(case, tmp_path):
    golden = quick_metrics_module()
    _, recipe, overrides = next(c for c in golden.FAST_CASES if c[0] == case)
    run = genloop.run(recipe, quick=True, overrides=overrides, out=tmp_path / "run")
    assert golden.digest(run.metrics) == QUICK_DIGESTS[case]


def test_demo_prints_findings_and_figures(tmp_path):
    from io import StringIO

    from rich.console import Console

    from genloop.demo import run_demo

    buffer = StringIO()
    run = run_demo(out=tmp_path / "demo", console=Console(file=buffer, width=200), quick=True)
    text = buffer.getvalue()
    assert "replace" in text and "accumulate" in text and "furthest from the truth" in text
    assert (run.path / "figures" / "metrics.png").is_file()
    assert (run.path / "figures" / "density_snapshots.png").is_file()


def golden_values(tmp_path) -> dict:
    run = genloop.run("nature-gaussian", quick=True, seeds="0..2", out=tmp_path / "g",
                      overrides={"engine": "samples"})
    rows = run.metrics[run.metrics.generation == 20]
    return {f"{r.variant}/{r.seed}/{r.metric}": r.value for r in rows.itertuples()}


def test_golden_nature_gaussian(tmp_path):
    # Regenerate (only after an intended change of the random streams or the loop):
    #   python -c "import tests.test_recipes_smoke as t, pathlib, tempfile, json; \
    #   pathlib.Path(t.GOLDEN).write_text(json.dumps(t.golden_values(pathlib.Path(tempfile.mkdtemp())), indent=1))"
    expected = json.loads(GOLDEN.read_text())
    actual = golden_values(tmp_path)
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        assert actual[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


def test_text_run_saves_samples_and_perplexity_histograms(tmp_path):
    # The loop hands metrics the seed's artifact directory: nature-lm writes readable
    # samples per generation there, and `plot` draws per-sample perplexity histograms.
    run = genloop.run("nature-lm", quick=True, seeds=0, out=tmp_path / "lm")
    samples = sorted(run.path.glob("artifacts/*/samples_gen*.txt"))
    generations = run.recipe.config.generations
    assert len(samples) == len(run.recipe.variants) * (generations + 1)
    assert all(p.read_text(encoding="utf-8").strip() for p in samples)
    names = {p.name for p in run.plot().paths}
    assert "perplexity_histograms.png" in names
