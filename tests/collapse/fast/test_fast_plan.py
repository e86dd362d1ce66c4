"""Contracts of PoolPlan, the batch random streams and the thread limiter."""

import numpy as np
import pytest

from genloop.collapse.fast.plan import PoolPlan, batch_generator, batch_key
from genloop.collapse.fast.threads import limited_threads
from genloop.core.errors import ConfigError


def test_from_policy_counts():
    assert PoolPlan.from_policy("replace", 100) == PoolPlan("replace", 100, 0, 0, 100)
    assert PoolPlan.from_policy("keep_fraction", 100, gamma=0.1) == PoolPlan(
        "keep_fraction", 100, 10, 0, 90
    )
    # Rounded like genloop.collapse.policy.counts (half to even); new samples take the rest.
    assert PoolPlan.from_policy("mix", 10, alpha=0.5, beta=0.25, gamma=0.25) == PoolPlan(
        "mix", 10, 2, 2, 6
    )
    assert PoolPlan.from_policy("mix", 10, alpha=0.3, beta=0.35, gamma=0.35).n_new == 2
    assert PoolPlan.from_policy("fresh", 10, gamma=0.3) == PoolPlan("fresh", 10, 3, 0, 7)
    assert PoolPlan.from_policy("accumulate", 7) == PoolPlan("accumulate", 7, n_new=7)
    plan = PoolPlan.from_policy("accumulate_subsample", 7, budget=20)
    assert (plan.n_new, plan.budget, plan.fixed_size) == (7, 20, False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(policy="mix", n=10, alpha=0.5, beta=0.5, gamma=0.5), r"alpha \+ beta \+ gamma"),
        (dict(policy="mix", n=10, alpha=1.2, beta=0.0, gamma=-0.2), "alpha must lie in"),
        (dict(policy="keep_fraction", n=10), "gamma is required"),
        (dict(policy="accumulate_subsample", n=10), "budget"),
        (dict(policy="shuffle", n=10), "mixing policy 'shuffle' is unknown"),
    ],
)
def test_from_policy_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        PoolPlan.from_policy(**kwargs)


def test_plan_rejects_counts_that_do_not_fill_the_pool():
    with pytest.raises(ConfigError, match="must equal n=10"):
        PoolPlan("mix", 10, n_original=3, n_previous=3, n_new=3)
    with pytest.raises(ConfigError, match="n_previous must be a non-negative integer"):
        PoolPlan("mix", 10, n_original=3, n_previous=-1, n_new=8)


def test_batch_key_depends_on_every_seed_and_their_order():
    assert batch_key([0, 1, 2]) == batch_key(np.array([0, 1, 2]))
    keys = {batch_key([0, 1, 2]), batch_key([0, 1, 3]), batch_key([2, 1, 0]), batch_key([0, 1])}
    assert len(keys) == 4
    assert 0 <= batch_key(range(10_000)) < 2**63
    with pytest.raises(ConfigError, match="non-negative"):
        batch_key([-1, 2])


def test_batch_generator_is_reproducible_and_distinct_per_generation():
    key = batch_key([5, 6])
    first = batch_generator(key, 3, "x").random(4)
    assert np.array_equal(first, batch_generator(key, 3, "x").random(4))
    assert not np.array_equal(first, batch_generator(key, 4, "x").random(4))
    assert not np.array_equal(first, batch_generator(key, 3, "y").random(4))


def test_limited_threads_caps_blas_inside_the_block_only():
    from threadpoolctl import threadpool_info

    before = [pool["num_threads"] for pool in threadpool_info()]
    with limited_threads(1):
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
    assert [pool["num_threads"] for pool in threadpool_info()] == before
    with limited_threads(None):
        assert [pool["num_threads"] for pool in threadpool_info()] == before
