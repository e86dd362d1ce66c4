"""Lineage on a hand-made ledger (tier 1: exact ancestor sets and weights) and on a run."""

from __future__ import annotations

import pandas as pd
import pytest

import genloop
from genloop.core.errors import DataError
from genloop.provenance.lineage import Lineage

# pool 0: r0 r1 | pool 1: r1 a b (c dropped) | pool 2: a d e   (e continues prompt r0)
ROWS = [
    ("r0", 0, "real", "", True), ("r1", 0, "real", "", True),
    ("r1", 1, "real", "", True), ("a", 1, "gen:0", "", True), ("b", 1, "gen:0", "", True),
    ("c", 1, "gen:0", "", False),
    ("a", 2, "gen:0", "", True), ("d", 2, "gen:1", "", True), ("e", 2, "gen:1", "r0", True),
]
LEDGER = pd.DataFrame(ROWS, columns=["sample_id", "generation", "origin", "parent_id", "in_pool"])


def ids(related):
    return set(related.rows.sample_id)


def test_ancestors_follow_training_and_parent_links():
    lineage = Lineage(LEDGER)
    assert ids(lineage.ancestors("d")) == {"r0", "r1", "a", "b"}
    related = lineage.ancestors("e")
    assert ids(related) == {"r0", "r1", "a", "b"}
    assert related.rows.set_index("sample_id").link.to_dict()["r0"] == "parent"
    assert ids(lineage.ancestors("a")) == {"r0", "r1"}
    assert ids(lineage.ancestors("r1")) == set()


def test_descendants_follow_models_trained_on_the_row():
    lineage = Lineage(LEDGER)
    related = lineage.descendants("r0")
    assert ids(related) == {"a", "b", "c", "d", "e"}
    assert related.rows.set_index("sample_id").link["e"] == "child"
    assert not related.rows.set_index("sample_id").in_pool["c"]
    assert related.counts().to_dict() == {"gen:0": 3, "gen:1": 2}
    assert ids(lineage.descendants("b")) == {"d", "e"}
    assert ids(lineage.descendants("d")) == set()
    with pytest.raises(DataError, match="'zz' is not in this ledger"):
        lineage.descendants("zz")


def test_origin_report_direct_shares_transitive_weight_and_depth():
    lineage = Lineage(LEDGER)
    real = lineage.origin_report(2, "real")
    assert real["rows"] == 3 and real["direct"] == 0.0
    assert real["shares"] == pytest.approx({"gen:0": 1 / 3, "gen:1": 2 / 3})
    assert real["transitive_by_generation"] == [1.0, 1.0, 1.0]
    assert real["synthetic_depth_by_generation"] == pytest.approx([0, 2 / 3, 13 / 9])
    gen0 = lineage.origin_report(2, "gen:0")
    assert gen0["transitive_by_generation"] == pytest.approx([0, 2 / 3, 7 / 9])
    with pytest.raises(DataError, match="generation 5 is not in this ledger"):
        lineage.origin_report(5)
    with pytest.raises(DataError, match="origin must be"):
        lineage.origin_report(1, "fake")


def test_lineage_of_a_keep_fraction_run(tmp_path):
    recipe = {
        "name": "lineage-test", "bench": "collapse", "seeds": 0, "engine": "samples",
        "family": {"name": "gaussian"}, "source": {"name": "gaussian", "dim": 1},
        "n": 20, "generations": 6, "holdout": 20, "metrics": ["log_variance"],
        "mixing": {"policy": "keep_fraction", "fraction": 0.5},
    }
    run = genloop.run(recipe, out=tmp_path / "r")
    lineage = Lineage.load(run.path)
    report = lineage.origin_report(6)
    assert report["direct"] == 0.5 and report["rows"] == 20
    # depth d_g = 0.5 (1 + d_{g-1}), d_0 = 0: 0.5, 0.75, ... → 1 - 2**-g
    assert report["synthetic_depth_by_generation"] == pytest.approx([1 - 2.0**-g
                                                                     for g in range(7)])
    first_real = lineage.pool[lineage.pool.generation == 0].sample_id.iloc[0]
    descendants = lineage.descendants(first_real)
    assert set(descendants.counts().index) == {f"gen:{g}" for g in range(6)}
