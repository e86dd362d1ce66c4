"""Mixing policies: exact row counts and origins on hand-made pools (tier 1)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from genloop.collapse.policy import MixingConfig, MixingPolicy
from genloop.core.errors import ConfigError
from genloop.provenance.pool import REAL, Pool


def pools(n=10):
    original = Pool.real(np.arange(n, dtype=float)[:, None])
    previous = Pool.generated(100 + np.arange(n, dtype=float)[:, None], 3)
    return original, previous


def make(policy, **kw):
    return MixingConfig(policy=policy, **kw)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (make("replace"), (10, 0, 0)),
        (make("keep_fraction", fraction=0.1), (9, 0, 1)),
        (make("keep_fraction", fraction=0.25), (8, 0, 2)),  # round(2.5) = 2 (banker's)
        (make("mix", alpha=0.5, beta=0.3, gamma=0.2), (5, 3, 2)),
        (make("accumulate"), (10, 0, 0)),
        (make("fresh", fraction=0.2), (8, 0, 2)),
    ],
)
def test_counts(config, expected):
    assert config.resolve(10).counts() == expected
    assert MixingPolicy.from_config(config, 10).counts() == expected


def test_replace_uses_only_new_rows():
    original, previous = pools()
    new = Pool.generated(np.full((10, 1), 7.0), 4)
    pool = make("replace").resolve(10).next_pool(previous=previous, original=original, new=new,
                     rng=np.random.default_rng(0))
    assert np.all(pool.X == 7.0) and np.all(pool.origin == 4)


def test_keep_fraction_takes_distinct_original_rows():
    original, previous = pools(100)
    new = Pool.generated(np.full((90, 1), -5.0), 4)
    pool = make("keep_fraction", fraction=0.1).resolve(100).next_pool(previous=previous,
                     original=original, new=new, rng=np.random.default_rng(0))
    real = pool.X[pool.origin == REAL, 0]
    assert len(pool) == 100 and len(real) == 10
    assert len(np.unique(real)) == 10 and np.all(np.isin(real, original.X[:, 0]))
    assert pool.synthetic_share() == pytest.approx(0.9)


def test_mix_takes_each_part():
    original, previous = pools()
    new = Pool.generated(np.full((5, 1), -1.0), 4)
    pool = make("mix", alpha=0.5, beta=0.3, gamma=0.2).resolve(10).next_pool(previous=previous,
                     original=original, new=new, rng=np.random.default_rng(1))
    origins, sizes = np.unique(pool.origin, return_counts=True)
    assert dict(zip(origins.tolist(), sizes.tolist(), strict=True)) == {REAL: 2, 3: 3, 4: 5}


def test_accumulate_grows_and_subsample_caps():
    original, _ = pools()
    pool = original
    for generation in range(3):
        new = Pool.generated(np.full((10, 1), float(generation)), generation)
        pool = make("accumulate").resolve(10).next_pool(previous=pool, original=original, new=new,
                         rng=np.random.default_rng(generation))
    assert len(pool) == 40 and (pool.origin == REAL).sum() == 10
    capped = make("accumulate_subsample", budget=25).resolve(10).next_pool(previous=pool,
                       original=original, new=Pool.generated(np.zeros((10, 1)), 3),
                       rng=np.random.default_rng(0))
    assert len(capped) == 25


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"policy": "mix", "alpha": 0.5, "beta": 0.3, "gamma": 0.3}, "sum to 1"),
        ({"policy": "mix", "alpha": 1.0}, "needs alpha, beta and gamma"),
        ({"policy": "keep_fraction", "fraction": 1.5}, "fraction"),
        ({"policy": "shuffle"}, "replace"),
    ],
)
def test_invalid_policies_name_the_problem(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        MixingConfig(**kwargs)


def test_pool_arrays_round_trip_dense_and_ragged():
    dense = Pool(np.arange(6.0).reshape(3, 2), np.array([-1, 0, 1]))
    back = Pool.from_arrays(dense.to_arrays())
    assert np.array_equal(back.X, dense.X) and np.array_equal(back.origin, dense.origin)
    rows = np.empty(3, dtype=object)
    rows[:] = [np.array([1, 2, 3]), np.array([4]), np.array([5, 6])]
    ragged = Pool(rows, np.array([-1, 2, 2]))
    arrays = ragged.to_arrays()
    assert all(a.dtype != object for a in arrays.values())
    back = Pool.from_arrays(arrays)
    assert [r.tolist() for r in back.X] == [[1, 2, 3], [4], [5, 6]]
    assert back.take(np.array([2, 0])).X[0].tolist() == [5, 6]


def test_policy_of_counts():
    assert MixingPolicy.of("replace", 100) == MixingPolicy("replace", 100, 0, 0, 100)
    assert MixingPolicy.of("keep_fraction", 100, gamma=0.1) == MixingPolicy(
        "keep_fraction", 100, 10, 0, 90
    )
    # Rounded as for a recipe (half to even); new samples take the rest.
    assert MixingPolicy.of("mix", 10, alpha=0.5, beta=0.25, gamma=0.25) == MixingPolicy(
        "mix", 10, 2, 2, 6
    )
    assert MixingPolicy.of("mix", 10, alpha=0.3, beta=0.35, gamma=0.35).n_new == 2
    assert MixingPolicy.of("fresh", 10, gamma=0.3) == MixingPolicy("fresh", 10, 3, 0, 7)
    assert MixingPolicy.of("accumulate", 7) == MixingPolicy("accumulate", 7, n_new=7)
    plan = MixingPolicy.of("accumulate_subsample", 7, budget=20)
    assert (plan.n_new, plan.budget, plan.fixed_size) == (7, 20, False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(name="mix", n=10, alpha=0.5, beta=0.5, gamma=0.5), r"alpha \+ beta \+ gamma"),
        (dict(name="mix", n=10, alpha=1.2, beta=0.0, gamma=-0.2), "alpha must lie in"),
        (dict(name="keep_fraction", n=10), "gamma is required"),
        (dict(name="accumulate_subsample", n=10), "budget"),
        (dict(name="shuffle", n=10), "mixing policy 'shuffle' is unknown"),
    ],
)
def test_policy_of_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        MixingPolicy.of(**kwargs)


def test_policy_rejects_counts_that_do_not_fill_the_pool():
    with pytest.raises(ConfigError, match="must equal n=10"):
        MixingPolicy("mix", 10, n_original=3, n_previous=3, n_new=3)
    with pytest.raises(ConfigError, match="n_previous must be a non-negative integer"):
        MixingPolicy("mix", 10, n_original=3, n_previous=-1, n_new=8)
