"""Deterministic random streams.

Every random call in a run gets its own :class:`numpy.random.Generator`, derived with
:class:`numpy.random.SeedSequence` from ``(run seed, generation, purpose)``. Streams
never depend on how many draws an earlier step made, so the same config and seed give
bit-identical results whether a run goes straight through, resumes from a checkpoint,
or skips work through a fast path.
"""

from __future__ import annotations

import zlib

import numpy as np

# Fixed small integers keep streams stable across Python versions (hash() is salted).
_PURPOSE_CACHE: dict[str, int] = {}


def _purpose_key(purpose: str) -> int:
    key = _PURPOSE_CACHE.get(purpose)
    if key is None:
        key = zlib.crc32(purpose.encode("utf-8"))
        _PURPOSE_CACHE[purpose] = key
    return key


def generator(seed: int, generation: int, purpose: str) -> np.random.Generator:
    """Return the random stream for one purpose of one generation of one seed.

    Parameters
    ----------
    seed : int
        The run seed (non-negative).
    generation : int
        The generation (or step, or round) the stream belongs to; ``-1`` for set-up
        work such as drawing the original data.
    purpose : str
        What the stream is for, e.g. ``"sample"``, ``"fit"``, ``"mix"``, ``"data"``.

    Returns
    -------
    numpy.random.Generator
        A PCG64 generator independent of every other (seed, generation, purpose).
    """
    entropy = [int(seed), int(generation) + 1, _purpose_key(purpose)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def as_generator(random_state) -> np.random.Generator:
    """Turn ``None``, an int or a Generator into a Generator (sklearn-style input)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        # Legacy state: draw a seed from it so callers passing RandomState still work.
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    return np.random.default_rng(random_state)
