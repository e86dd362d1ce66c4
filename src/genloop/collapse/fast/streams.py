"""The random streams of the fast paths: one stream per generation for a whole batch.

A fast path draws one generation's randomness for *all* seeds of a batch at once, from
``genloop.core.rng.generator(batch_key(seeds), generation, purpose)``. Its results are
therefore deterministic given (seeds, config) and exactly equal *in distribution* to the
sample-level loop, but not bit-identical to it (the sample-level loop draws each seed's
samples from that seed's own stream).
"""

from __future__ import annotations

import numpy as np

from genloop.core.errors import ConfigError
from genloop.core.rng import generator


def batch_key(seeds) -> int:
    """One integer standing for a batch of run seeds (order matters).

    Parameters
    ----------
    seeds : array-like of int, shape (S,)

    Returns
    -------
    int
        A non-negative 63-bit key hashed from all the seeds with SeedSequence.
    """
    seeds = np.asarray(seeds)
    if seeds.ndim != 1 or seeds.size == 0 or not np.issubdtype(seeds.dtype, np.integer):
        raise ConfigError("seeds must be a non-empty 1-D sequence of integers")
    if np.any(seeds < 0):
        raise ConfigError(f"seeds must be non-negative, got {int(seeds.min())}")
    state = np.random.SeedSequence([seeds.size, *seeds.tolist()]).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))


def batch_generator(key: int, generation: int, purpose: str) -> np.random.Generator:
    """The stream one generation of a fast path draws from, for all seeds of a batch."""
    return generator(key, generation, purpose)
