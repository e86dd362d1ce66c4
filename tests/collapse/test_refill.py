"""``refill``: extra draw rounds that top up what curation dropped (collapse/curate_step.py).

Tier 1: exact pool sizes, origins, round counts and ledger counts with the ``isolation``
filter (drops every synthetic row), a resume after a crash. Tier 2: the synthetic share of
a refilled pool under a filter with miss rate 0.5 (seeded, tolerance stated in the test).
"""

from __future__ import annotations

import numpy as np
import pytest

import genloop
from genloop.core.config import resolve
from genloop.core.errors import ConfigError
from genloop.provenance.ledger import load_ledger, verify

N = 40
BASE = {
    "name": "refill-test", "bench": "collapse", "seeds": "0..1",
    "family": {"name": "gaussian"}, "source": {"name": "gaussian", "dim": 2},
    "n": N, "generations": 4, "holdout": 50, "metrics": ["log_variance"],
    "mixing": {"policy": "fresh", "fraction": 0.2}, "curate": "incoming",
    "curation": [{"name": "isolation", "max_share": 0.0}],
}


def metric(run, name):
    m = run.metrics
    return m[m.metric == name].sort_values(["seed", "generation"])


def later(run, name):
    values = metric(run, name)
    return values[values.generation > 0].value.to_numpy()


def test_refill_makes_every_isolated_pool_all_real_and_full_size(tmp_path):
    run = genloop.run(BASE | {"refill": 10}, out=tmp_path / "r")
    assert (metric(run, "pool_size").value == N).all()
    assert (metric(run, "synthetic_share").value == 0).all()
    # each round keeps its 8 fresh real rows: round 0 plus 4 refills make 40
    assert (later(run, "refill_rounds") == 4).all()
    assert (metric(run, "refill_rounds").query("generation == 0").value == 0).all()
    # 5 rounds × 32 synthetic candidates, all dropped, out of 5 × 40 seen
    assert np.allclose(later(run, "curation_dropped_share"), 0.8)


def test_without_refill_the_isolated_pool_is_the_fresh_fifth(tmp_path):
    run = genloop.run(BASE, out=tmp_path / "r")
    assert (later(run, "pool_size") == N // 5).all()
    assert "refill_rounds" not in set(run.metrics.metric)


def test_ledger_accounts_for_every_round(tmp_path):
    run = genloop.run(BASE | {"refill": 10, "seeds": 0}, out=tmp_path / "r")
    ledger = load_ledger(run.path)
    assert ledger.sample_id.groupby(ledger.generation).apply(lambda s: s.is_unique).all()
    for g in range(1, 5):
        rows = ledger[ledger.generation == g]
        assert rows.in_pool.sum() == N and (rows[rows.in_pool].origin == "real").all()
        dropped = rows[~rows.in_pool]
        # every synthetic candidate of the 5 rounds, each with the filter's reason
        assert len(dropped) == 5 * 32 and (dropped.origin == f"gen:{g - 1}").all()
        assert dropped["filter.isolation"].str.startswith("synthetic").all()
        # fresh real rows of refill rounds are numbered after every round-0 fresh row
        index = rows[rows.in_pool].sample_id.str.rsplit("-", n=1).str[-1].astype(int)
        assert (index >= N).all() and index.is_unique and (index >= N + 4 * 8).sum() == 32
    assert verify(run.path) == []


def test_refill_rounds_run_out(tmp_path):
    # curate: new under `fresh`: refills draw model rows only, and isolation drops them all
    run = genloop.run(BASE | {"refill": 3, "curate": "new", "seeds": 0}, out=tmp_path / "r")
    assert (later(run, "refill_rounds") == 3).all()
    assert (later(run, "pool_size") == 8).all()
    ledger = load_ledger(run.path)
    assert (~ledger[ledger.generation == 2].in_pool).sum() == 4 * 32


def test_refill_is_bit_identical_to_no_refill_when_nothing_is_dropped(tmp_path):
    plain = {k: v for k, v in BASE.items() if k not in ("curation", "curate")}
    a = genloop.run(plain | {"engine": "samples"}, out=tmp_path / "a")
    b = genloop.run(plain | {"engine": "samples", "refill": 5}, out=tmp_path / "b")
    assert set(b.metrics.metric) - set(a.metrics.metric) == {"refill_rounds"}
    assert (b.metrics.query("metric == 'refill_rounds'").value == 0).all()
    same = b.metrics[b.metrics.metric != "refill_rounds"]
    columns = ["seed", "generation", "metric", "value"]
    assert a.metrics[columns].astype(str).values.tolist() == same[columns].astype(str).values.tolist()
    assert np.array_equal(a.metrics.value.to_numpy(), same.value.to_numpy())


def test_synthetic_share_of_a_refilled_pool_with_a_leaky_filter(tmp_path):
    """Isolation with miss rate 0.5 keeps half the synthetic rows: an incoming mix of 20%
    real and 80% synthetic becomes 0.2 real + 0.4 synthetic, a synthetic share of
    0.4 / 0.6 = 2/3 that refill keeps (the last round adds a uniform subset).

    Seeds 0–1, n = 300, 5 generations: 3,000 pooled rows, standard error of the share
    ≈ 0.009; tolerance 0.03. Pools are always full (round 0 keeps ~60%, one refill tops up).
    """
    recipe = BASE | {"n": 300, "generations": 5, "refill": 10,
                     "curation": [{"name": "isolation", "max_share": 0.0, "miss_rate": 0.5}]}
    run = genloop.run(recipe, out=tmp_path / "r")
    assert (metric(run, "pool_size").value == 300).all()
    share = later(run, "synthetic_share").mean()
    assert abs(share - 2 / 3) < 0.03, share
    assert set(later(run, "refill_rounds")) == {1.0}
    ledger = load_ledger(run.path, seed=0)
    rows = ledger[ledger.generation == 3]
    # two rounds of 300 candidates seen: 300 in the pool, the rest dropped or surplus
    assert len(rows) == 600 and rows.in_pool.sum() == 300
    surplus = rows[~rows.in_pool & (rows["filter.isolation"] == "")]
    dropped = rows[~rows.in_pool & (rows["filter.isolation"] != "")]
    assert len(surplus) + len(dropped) == 300 and len(surplus) > 0
    assert (dropped.origin != "real").all()


def test_refill_must_be_a_non_negative_number_of_rounds():
    with pytest.raises(ConfigError, match="refill") as info:
        resolve(BASE | {"refill": -1})
    assert "\n" not in str(info.value).strip()



@pytest.mark.parametrize("crash_at", [2])
def test_resume_after_a_crash_is_bit_identical(tmp_path, crash_at, crash_in_seed,
                                                read_ledger_files):
    recipe = BASE | {"refill": 10, "checkpoint_seconds": 0.0, "generations": 5,
                     "curation": [{"name": "isolation", "max_share": 0.0, "miss_rate": 0.5}]}
    reference = genloop.run(recipe, out=tmp_path / "ref")
    run_dir = crash_in_seed(recipe, tmp_path / "crashed", crash_at)
    resumed = genloop.run(None, resume=run_dir.path)
    assert resumed.metrics.equals(reference.metrics)

    assert read_ledger_files(resumed.path) == read_ledger_files(reference.path)
    assert verify(resumed.path) == []
