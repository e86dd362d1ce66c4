"""Grid parsing, column names and point ids (tier 1)."""

from __future__ import annotations

import pytest

from genloop.core.config import resolve
from genloop.core.errors import ConfigError
from genloop.sweep.grid import column_names, expand, parse_grid, point_id


def test_parse_grid_reads_yaml_values_and_keeps_bracket_lists():
    grid = parse_grid(
        [
            "mixing.policy=replace,accumulate",
            "n=100, 500",
            "snapshots=[0, 5],[1]",
            "mixing.fraction=0.1",
        ]
    )
    assert grid == {
        "mixing.policy": ["replace", "accumulate"],
        "n": [100, 500],
        "snapshots": [[0, 5], [1]],
        "mixing.fraction": [0.1],
    }


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["mixing.policy"], "must look like key=v1,v2"),
        (["n=1", "n=2"], "names 'n' twice"),
        (["seeds=1,2"], "'seeds' is not a config key a grid can vary"),
        (["n=1,1"], "repeats a value"),
        (["n="], "lists no values"),
    ],
)
def test_bad_grids_are_one_line_errors(items, message):
    with pytest.raises(ConfigError, match=message):
        parse_grid(items)


def test_column_names_use_the_last_component_unless_ambiguous():
    assert column_names(["mixing.policy", "n"]) == {"mixing.policy": "policy", "n": "n"}
    assert column_names(["family.name", "source.name"]) == {
        "family.name": "family_name",
        "source.name": "source_name",
    }
    assert column_names(["a.seed"]) == {"a.seed": "a_seed"}  # would shadow a metrics column


def test_points_are_the_cartesian_product_in_order_with_safe_ids():
    points = expand({"mixing.policy": ["replace", "accumulate"], "n": [10, 20]})
    assert points == [
        {"mixing.policy": "replace", "n": 10},
        {"mixing.policy": "replace", "n": 20},
        {"mixing.policy": "accumulate", "n": 10},
        {"mixing.policy": "accumulate", "n": 20},
    ]
    columns = column_names(["mixing.policy", "n"])
    assert point_id(points[1], columns) == "policy=replace,n=20"
    assert point_id({"x": "a/b c"}, {"x": "x"}) == "x=a_b_c"
    with pytest.raises(ConfigError, match="same point id"):
        expand({"x": ["a b", "a/b"]})


def test_run_crosses_the_recipe_grid_with_variants():
    recipe = resolve("accumulate-vs-replace", quick=True)
    assert {name: (c.family.name, c.mixing.policy) for name, c in recipe.variants.items()} == {
        f"{family}-{policy}": (family, policy)
        for family in ("gaussian", "gmm")
        for policy in ("replace", "keep_fraction", "accumulate")
    }
    assert (
        "grid" not in recipe.raw and resolve(recipe.raw).variants.keys() == recipe.variants.keys()
    )
    pinned = resolve("accumulate-vs-replace", quick=True, overrides=["mixing.policy=accumulate"])
    assert list(pinned.variants) == ["gaussian", "gmm"]  # --set wins over the grid
    flat = resolve("accumulate-vs-replace", quick=True, expand_grid=False)
    assert {c.mixing.policy for c in flat.variants.values()} == {"replace"}
