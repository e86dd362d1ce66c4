"""Every dynamics recipe validates and its --quick variant runs through run_seed (tier 3)."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

import genloop
from genloop.dynamics import BENCH
from genloop.dynamics.config import DynamicsConfig

RECIPES = Path(genloop.__file__).parent / "recipes"
NAMES = ["grokking", "grokking-no-wd", "double-descent"]
COMMON = ("name", "description", "bench", "seeds", "quick", "variants", "grid")


def bench_config(name: str, quick: bool = False, **overrides) -> DynamicsConfig:
    """Load a recipe with yaml.safe_load, apply its quick overrides, validate the rest."""
    raw = yaml.safe_load((RECIPES / f"{name}.yaml").read_text())
    raw = copy.deepcopy(raw)
    dotted = {**(raw.get("quick", {}) if quick else {}), **overrides}
    for key, value in dotted.items():
        if key == "seeds":
            continue
        *path, last = key.split(".")
        node = raw
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return DynamicsConfig.model_validate({k: v for k, v in raw.items() if k not in COMMON})


@pytest.mark.parametrize("name", NAMES)
def test_recipe_validates_and_names_its_launch_command(name):
    text = (RECIPES / f"{name}.yaml").read_text()
    assert text.startswith(f"# genloop run {name}")
    raw = yaml.safe_load(text)
    assert raw["name"] == name and raw["bench"] == "dynamics" and raw["description"]
    bench_config(name)
    bench_config(name, quick=True)


def test_recipes_hold_the_issue_settings():
    grokking, no_wd = bench_config("grokking").grokking, bench_config("grokking-no-wd").grokking
    assert (grokking.p, grokking.train_fraction, grokking.width) == (53, 0.6, 128)
    assert (grokking.lr, grokking.weight_decay, grokking.beta2) == (0.03, 0.03, 0.999)
    assert no_wd.weight_decay == 0.0 and no_wd.steps == 10000
    assert no_wd.model_dump(exclude={"weight_decay", "steps"}) == grokking.model_dump(
        exclude={"weight_decay", "steps"}
    )
    dd = bench_config("double-descent").double_descent
    assert (dd.input_dim, dd.n_train, dd.noise_std, dd.features) == (5, 100, 0.5, "fourier")
    assert dd.n_train in dd.n_features and dd.ridges == [0.0, 0.01]


@pytest.mark.parametrize(
    ("name", "overrides", "expected_metric"),
    [
        ("grokking", {}, "test_acc"),
        ("grokking-no-wd", {}, "test_acc"),
        ("double-descent", {}, "test_mse@ridge=0"),
        ("double-descent", {"double_descent.sweep": "sample"}, "p_eff_test@ridge=0.01"),
        ("double-descent", {"experiment": "epoch_wise"}, "test_loss"),
    ],
)
def test_quick_recipe_runs_through_run_seed(name, overrides, expected_metric, make_context):
    config = bench_config(name, quick=True, **overrides)
    ctx, recorder = make_context(seed=0)
    BENCH.run_seed(config, ctx)
    frame = recorder.frame()
    assert expected_metric in set(frame.metric)
    assert np.isfinite(frame.value).all()
