"""Contracts of the batch random streams and the thread limiter."""

import numpy as np
import pytest

from genloop.collapse.fast.streams import batch_generator, batch_key
from genloop.collapse.fast.threads import limited_threads
from genloop.core.errors import ConfigError


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
