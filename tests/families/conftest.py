"""Shared set-up for the family tests."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread():
    # The models here are tiny: with several BLAS threads on a busy machine each small
    # solve waits for spinning threads (measured ~300x slower), so use one thread.
    with threadpool_limits(limits=1):
        yield
