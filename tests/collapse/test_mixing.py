"""Mixing policies: exact row counts and origins on hand-made pools (tier 1)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from genloop.collapse.policy import MixingConfig, counts, next_pool
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
    assert counts(config, 10) == expected


def test_replace_uses_only_new_rows():
    original, previous = pools()
    new = Pool.generated(np.full((10, 1), 7.0), 4)
    pool = next_pool(make("replace"), n=10, previous=previous, original=original, new=new,
                     rng=np.random.default_rng(0))
    assert np.all(pool.X == 7.0) and np.all(pool.origin == 4)


def test_keep_fraction_takes_distinct_original_rows():
    original, previous = pools(100)
    new = Pool.generated(np.full((90, 1), -5.0), 4)
    pool = next_pool(make("keep_fraction", fraction=0.1), n=100, previous=previous,
                     original=original, new=new, rng=np.random.default_rng(0))
    real = pool.X[pool.origin == REAL, 0]
    assert len(pool) == 100 and len(real) == 10
    assert len(np.unique(real)) == 10 and np.all(np.isin(real, original.X[:, 0]))
    assert pool.synthetic_share() == pytest.approx(0.9)


def test_mix_takes_each_part():
    original, previous = pools()
    new = Pool.generated(np.full((5, 1), -1.0), 4)
    pool = next_pool(make("mix", alpha=0.5, beta=0.3, gamma=0.2), n=10, previous=previous,
                     original=original, new=new, rng=np.random.default_rng(1))
    origins, sizes = np.unique(pool.origin, return_counts=True)
    assert dict(zip(origins.tolist(), sizes.tolist(), strict=True)) == {REAL: 2, 3: 3, 4: 5}


def test_accumulate_grows_and_subsample_caps():
    original, _ = pools()
    pool = original
    for generation in range(3):
        new = Pool.generated(np.full((10, 1), float(generation)), generation)
        pool = next_pool(make("accumulate"), n=10, previous=pool, original=original, new=new,
                         rng=np.random.default_rng(generation))
    assert len(pool) == 40 and (pool.origin == REAL).sum() == 10
    capped = next_pool(make("accumulate_subsample", budget=25), n=10, previous=pool,
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
