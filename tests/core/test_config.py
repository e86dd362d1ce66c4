"""Recipes and overrides: parsing, validation, and one-line errors (tier 1)."""

from __future__ import annotations

import numpy as np
import pytest

from genloop.core.config import (
    apply_overrides,
    known_recipes,
    parse_override,
    parse_seeds,
    resolve,
)
from genloop.core.errors import ConfigError, GenloopError

BASE = {
    "name": "t", "bench": "collapse", "family": {"name": "gaussian"},
    "source": {"name": "gaussian", "dim": 1}, "metrics": ["log_variance"],
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0..3", [0, 1, 2, 3]), ("2,5", [2, 5]), (7, [7]), (range(2), [0, 1]), ("4", [4]),
     ([3, 1], [3, 1]), (np.arange(3), [0, 1, 2]), (np.int64(5), [5]), ([2.0], [2]),
     (range(0, 6, 2), [0, 2, 4]), ([0, 1, 2], [0, 1, 2])],
)
def test_parse_seeds(text, expected):
    seeds = parse_seeds(text)
    assert seeds == expected and all(type(s) is int for s in seeds)


@pytest.mark.parametrize("bad", ["a..b", "-1", "", True, [1.7, 2.2], [True, False], [1, 1],
                                 float("inf"), "0..100000000", 99999999999999999999, [],
                                 "[0, 1, 2]", {"a": 1}])
def test_bad_seeds(bad):
    with pytest.raises(ConfigError, match="seeds"):
        parse_seeds(bad)


def test_overrides_parse_yaml_scalars_and_nest():
    assert parse_override("n=500") == ("n", 500)
    assert parse_override("mixing.fraction=0.2") == ("mixing.fraction", 0.2)
    assert parse_override("snapshots=[0, 5]") == ("snapshots", [0, 5])
    raw = apply_overrides(BASE, ["mixing.policy=accumulate", "family.estimator=unbiased"])
    assert raw["mixing"] == {"policy": "accumulate"}
    assert raw["family"] == {"name": "gaussian", "estimator": "unbiased"}
    assert "mixing" not in BASE  # the input is not modified


def test_every_shipped_recipe_validates_full_and_quick():
    recipes = known_recipes()
    assert {"nature-gaussian", "nature-discrete", "nature-gmm", "accumulate-vs-replace",
            "demo"} <= set(recipes)
    for name, path in recipes.items():
        header = path.read_text().splitlines()[0]
        assert header.startswith("# genloop "), f"{name}: header must hold the launch command"
        for quick in (False, True):
            recipe = resolve(name, quick=quick)
            assert recipe.seeds and recipe.variants


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["mixng.policy=replace"], "unknown config key 'mixng'; allowed keys here: .*mixing"),
        (["mixing.polcy=replace"], "unknown config key 'mixing.polcy'; allowed keys here: .*policy"),
        (["mixing.policy=shuffle"], "'mixing.policy' = 'shuffle' is not allowed; allowed: 'replace'"),
        (["mixing.policy=mix", "mixing.alpha=0.5", "mixing.beta=0.3", "mixing.gamma=0.3"],
         "alpha\\+beta\\+gamma = 0.5\\+0.3\\+0.3 = 1.1"),
        (["family.estimater=mle"], "family.estimater is not a parameter of family 'gaussian'; "
         "allowed: estimator"),
        (["family.name=gausian"], "unknown family 'gausian'; known family names: .*gaussian"),
        (["metrics=[support_size]"], "metric 'support_size' applies to categorical data"),
        (["n=1"], "'n'"),
        (["source={name: file, path: /nonexistent/data.csv}"], "/nonexistent/data.csv"),
    ],
)
def test_invalid_configs_name_the_key(overrides, message):
    # ConfigError for keys and values, DataError for files: both one-line GenloopErrors.
    with pytest.raises(GenloopError, match=message):
        resolve(BASE, overrides=overrides)


def test_unknown_recipe_lists_known_ones():
    with pytest.raises(ConfigError, match="unknown recipe 'nature-gauss'; known recipes: .*nature-gaussian"):
        resolve("nature-gauss")


def test_unknown_variant_lists_variants():
    with pytest.raises(ConfigError, match="unknown variant 'mel'; this recipe's variants: mle"):
        resolve("nature-gaussian", variants=["mel"])


def test_quick_then_overrides_then_seeds():
    recipe = resolve("nature-gaussian", quick=True, overrides={"generations": 3}, seeds="5..6")
    assert recipe.config.generations == 3 and recipe.seeds == [5, 6]
    assert recipe.variants["unbiased"].family.params == {"estimator": "unbiased"}


def test_user_overrides_win_over_variants_and_survive_saving():
    recipe = resolve("nature-gaussian", quick=True, overrides=["family.estimator=mle"])
    assert {v.family.params["estimator"] for v in recipe.variants.values()} == {"mle"}
    again = resolve(recipe.raw)  # what --resume does with the saved config
    assert {k: v.model_dump() for k, v in again.variants.items()} == {
        k: v.model_dump() for k, v in recipe.variants.items()
    }


@pytest.mark.parametrize("seeds", [range(3), [0, 1, 2], np.arange(3), "0..2", "0,1,2"])
def test_seeds_round_trip_through_config_yaml(seeds, tmp_path):
    """The resolved config holds a list of ints, and config.yaml reads back the same list."""
    from genloop.core.run_dir import RunDir

    recipe = resolve("nature-gaussian", quick=True, seeds=seeds)
    assert recipe.raw["seeds"] == [0, 1, 2]
    run_dir = RunDir(tmp_path)
    run_dir.write_config(recipe.raw)
    assert "seeds: [0, 1, 2]\n" in (tmp_path / "config.yaml").read_text()
    assert resolve(run_dir.read_config()).seeds == [0, 1, 2]
