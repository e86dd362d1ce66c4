"""The `forget:` key (tier 1: contracts on hand-made inputs with exact answers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genloop.collapse.forget import (
    ForgetSet,
    candidates_without,
    parse_sample_id,
    replacements,
    split_without,
)
from genloop.core.config import resolve
from genloop.core.errors import ConfigError
from genloop.data.files import FiniteSource
from genloop.provenance.certificate import forgotten_rows
from genloop.provenance.hashing import content_hashes
from genloop.provenance.pool import Pool


class Table(FiniteSource):
    """Ten rows 0..9 (one column), drawn without replacement."""

    name = "table"

    def __init__(self, n_rows=10):
        self.rows = np.arange(n_rows, dtype=float).reshape(-1, 1)


def real_id(value: float, index: int) -> str:
    return f"{content_hashes(np.array([[value]]))[0][:16]}-gr-{index}"


def test_parse_sample_id():
    assert parse_sample_id("0123456789abcdef-gr-12") == ("0123456789abcdef", None, 12)
    assert parse_sample_id("0123456789abcdef-g3-0") == ("0123456789abcdef", 3, 0)
    for bad in ["0123456789abcde-gr-1", "0123456789abcdef-gx-1", "../etc-gr-1", "", 5]:
        with pytest.raises(ValueError, match="not a sample id"):
            parse_sample_id(bad)


def test_masks_match_content_for_real_rows_and_ids_for_generated():
    pool = Pool.real(np.array([[1.0], [2.0], [1.0]]))
    forget = ForgetSet.from_ids([real_id(1.0, 7)])  # any index: the record is its content
    assert forget.real_rows(pool.hashes).tolist() == [True, False, True]
    generated = Pool.generated(np.array([[5.0], [6.0]]), generation=2)
    drop = ForgetSet.from_ids([generated.ids[1]])
    assert candidates_without(generated, drop).X.ravel().tolist() == [5.0]
    # the kept row keeps its index, hence its id
    assert candidates_without(generated, drop).ids.tolist() == [generated.ids[0]]
    assert not ForgetSet.from_ids([])


def test_split_replaces_only_the_forgotten_slot():
    source = Table()
    original, holdout, _ = split_without(source, 4, 3, seed=5, forget=ForgetSet())
    victim = float(original.X[2, 0])
    forget = ForgetSet.from_ids([real_id(victim, 2)])
    again, holdout_again, counts = split_without(source, 4, 3, seed=5, forget=forget)
    assert counts == {"original": 1, "holdout": 0}
    changed = np.flatnonzero(again.X[:, 0] != original.X[:, 0]).tolist()
    assert changed == [2]  # every other row kept its place (per-row, not per-pool)
    np.testing.assert_array_equal(holdout_again, holdout)
    used = set(original.X[:, 0]) | set(holdout[:, 0])
    assert again.X[2, 0] not in used  # the replacement is a row the unit did not hold
    assert victim not in set(again.X[:, 0]) | set(holdout_again[:, 0])
    assert again.ids[2].endswith("-gr-2") and again.ids[0] == original.ids[0]


def test_replacements_refuse_an_exhausted_table():
    source = Table(3)
    taken = set(content_hashes(source.rows[:2]))
    forget = ForgetSet.from_ids([real_id(2.0, 0)])
    with pytest.raises(Exception, match="too few other rows"):
        replacements(source, 1, taken, forget, np.random.default_rng(0), "test")


def test_forgotten_rows_follow_parent_chains():
    rows = pd.DataFrame({
        "sample_id": ["p-gr-0", "q-gr-1", "c1", "c2", "c3"],
        "generation": [0, 0, 1, 2, 2],
        "origin": ["real", "real", "gen:0", "gen:1", "gen:1"],
        "parent_id": ["", "", "p-gr-0", "c1", "q-gr-1"],
        "content_hash": ["aaaa" * 16, "bbbb" * 16, "c" * 64, "d" * 64, "e" * 64],
        "in_pool": [True] * 5,
    })
    hit = forgotten_rows(rows, {"aaaa" * 4}, set())
    assert hit["sample_id"].tolist() == ["p-gr-0", "c1", "c2"]
    assert forgotten_rows(rows, set(), {"c1"})["sample_id"].tolist() == ["c1", "c2"]
    # a prompt no longer in the ledger is still found through the id its children name
    prompt = "aaaa" * 4 + "-gr-0"
    orphan = rows.iloc[2:].assign(parent_id=[prompt, "c1", "q-gr-1"])
    assert forgotten_rows(orphan, {"aaaa" * 4}, set())["sample_id"].tolist() == ["c1", "c2"]
    # equal content is not descent
    twin = rows.assign(content_hash=["aaaa" * 16, "bbbb" * 16, "c" * 64, "d" * 64, "c" * 64])
    assert "c3" not in set(forgotten_rows(twin, set(), {"c1"})["sample_id"])


BASE = {"name": "f", "bench": "collapse", "seeds": 0, "family": {"name": "gaussian"},
        "source": {"name": "gaussian", "dim": 1}, "n": 10, "generations": 2, "holdout": 5}


@pytest.mark.parametrize("change, message", [
    ({"forget": ["nope"]}, "not a sample id"),
    ({"forget": ["0123456789abcdef-gr-1"] * 2}, "twice"),
    ({"forget": ["0123456789abcdef-gr-1"], "engine": "exact"}, "cannot forget"),
    ({"forget": ["0123456789abcdef-gr-1"], "family": {"name": "categorical"},
      "source": {"name": "categorical", "probabilities": [0.5, 0.5]}}, "categorical row"),
])
def test_bad_forget_configs_name_the_problem(change, message):
    with pytest.raises(ConfigError, match=message):
        resolve(BASE | change)


def test_forget_runs_on_the_sample_loop():
    from genloop.collapse.fast.run import choose_engine

    config = resolve(BASE | {"forget": ["0123456789abcdef-gr-1"]}).variants["default"]
    assert choose_engine(config)[0] is None
