"""What the fast paths need to know about a mixing policy, and their random streams.

A :class:`PoolPlan` is a mixing policy reduced to integers: how many original points,
how many points of the previous pool and how many new model samples make the next pool.
The fast simulators take a plan rather than the engine's policy object so that they stay
free of config code; :meth:`PoolPlan.from_policy` builds one from plain parameters.

Randomness: a fast path draws one generation's randomness for *all* seeds of a batch at
once, from ``genloop.core.rng.generator(batch_key(seeds), generation, purpose)``. Its
results are therefore deterministic given (seeds, config) and exactly equal *in
distribution* to the sample-level loop, but not bit-identical to it (the sample-level
loop draws each seed's samples from that seed's own stream).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from genloop.core.errors import ConfigError
from genloop.core.rng import generator

POLICIES = ("replace", "keep_fraction", "mix", "fresh", "accumulate", "accumulate_subsample")


@dataclass(frozen=True)
class PoolPlan:
    """A mixing policy as counts of points per generation.

    Parameters
    ----------
    policy : str
        One of ``replace``, ``keep_fraction``, ``mix``, ``fresh``, ``accumulate``,
        ``accumulate_subsample`` (as in :mod:`genloop.collapse.policy`).
    n : int
        Points per generation: the pool size of fixed-size policies, and the number of
        new model samples added per generation under ``accumulate*``.
    n_original : int
        Original points re-drawn each generation (a uniform subset of the seed's
        original data, without replacement); under ``fresh``, real points newly drawn
        from the ground truth each generation.
    n_previous : int
        Points of the previous pool carried over (a uniform subset, without replacement).
    n_new : int
        New samples drawn from the model fitted on the previous pool.
    budget : int or None
        ``accumulate_subsample`` only: the pool (past pool plus new samples) is cut to a
        uniform subset of this size once it outgrows it.
    """

    policy: str
    n: int
    n_original: int = 0
    n_previous: int = 0
    n_new: int = 0
    budget: int | None = None

    def __post_init__(self):
        if self.policy not in POLICIES:
            raise ConfigError(
                f"mixing policy {self.policy!r} is unknown; known: {', '.join(POLICIES)}"
            )
        for key in ("n", "n_original", "n_previous", "n_new"):
            value = getattr(self, key)
            if not isinstance(value, (int, np.integer)) or value < 0:
                raise ConfigError(f"{key} must be a non-negative integer, got {value!r}")
        if self.n < 1:
            raise ConfigError(f"n must be at least 1, got {self.n}")
        if self.fixed_size and self.n_original + self.n_previous + self.n_new != self.n:
            raise ConfigError(
                f"n_original + n_previous + n_new must equal n={self.n} for policy "
                f"{self.policy!r}, got {self.n_original}+{self.n_previous}+{self.n_new}"
            )
        if self.policy.startswith("accumulate") and (self.n_original or self.n_previous):
            raise ConfigError(f"policy {self.policy!r} takes only n_new, not n_original/previous")
        if self.policy == "accumulate_subsample":
            if self.budget is None or self.budget < 1:
                raise ConfigError(f"budget must be a positive integer, got {self.budget!r}")
        elif self.budget is not None:
            raise ConfigError(f"budget applies only to accumulate_subsample, not {self.policy!r}")

    @property
    def fixed_size(self) -> bool:
        """True when every pool after generation 0 holds exactly ``n`` points."""
        return not self.policy.startswith("accumulate")

    @classmethod
    def from_policy(
        cls,
        policy: str,
        n: int,
        *,
        alpha: float | None = None,
        beta: float | None = None,
        gamma: float | None = None,
        budget: int | None = None,
    ) -> PoolPlan:
        """Build a plan from the policy's fractions.

        ``keep_fraction`` and ``fresh`` take ``gamma``; ``mix`` takes ``alpha``, ``beta``,
        ``gamma`` (summing to 1). Counts are rounded as
        :func:`genloop.collapse.policy.counts` does (Python's ``round``, half to even):
        ``n_original = round(gamma*n)``, ``n_previous = round(beta*n)``, and the new
        samples take the rest, so that the pool keeps exactly ``n`` points.
        """
        if policy in ("replace", "accumulate"):
            return cls(policy, n, n_new=n)
        if policy == "accumulate_subsample":
            return cls(policy, n, n_new=n, budget=budget)
        if policy in ("keep_fraction", "fresh"):
            alpha, beta = 1.0 - _fraction("gamma", gamma), 0.0
        elif policy == "mix":
            alpha, beta, gamma = (
                _fraction(k, v) for k, v in (("alpha", alpha), ("beta", beta), ("gamma", gamma))
            )
            if not math.isclose(alpha + beta + gamma, 1.0, abs_tol=1e-9):
                raise ConfigError(
                    f"alpha + beta + gamma must equal 1, got {alpha}+{beta}+{gamma}"
                    f"={alpha + beta + gamma:g}"
                )
        else:
            raise ConfigError(f"mixing policy {policy!r} is unknown; known: {', '.join(POLICIES)}")
        n_original = int(round(gamma * n))
        n_previous = int(round(beta * n))
        return cls(policy, n, n_original, n_previous, n - n_original - n_previous)


def _fraction(key: str, value) -> float:
    if value is None:
        raise ConfigError(f"{key} is required for this mixing policy")
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{key} must lie in [0, 1], got {value}")
    return value


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
