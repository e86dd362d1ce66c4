"""How the next generation's pool is made from original, previous and new data.

This module is the one place that knows what a mixing policy *means*; every path of the
collapse bench (the sample-level loop, the exact and batched fast paths, the pool-share
bookkeeping, seek's self-training) asks a :class:`MixingPolicy` instead of testing the
policy's name. One declarative policy covers the generational schemes of the papers:

========================  =======================================================
policy                    next pool
========================  =======================================================
``replace``               n new model samples (α = 1)
``keep_fraction``         round(γ·n) original points (re-drawn each generation) plus
                          n − round(γ·n) new samples
``mix``                   round(γ·n) original + round(β·n) of the previous pool +
                          the rest new samples; α + β + γ = 1
``accumulate``            every past pool kept: the pool grows by n new samples
``accumulate_subsample``  accumulate, then a uniform subsample of ``budget`` rows
``fresh``                 round(γ·n) *fresh* real points from the source (not the
                          original set) plus new samples: the "more real data" control
========================  =======================================================

Each row of a pool carries its origin: ``-1`` for real data, ``k`` for data sampled from
generation ``k``'s model. The provenance ledger and the synthetic-share metric read it.

A policy acts on three representations, in the same order of random draws so that the
paths agree: rows with provenance (:meth:`MixingPolicy.next_pool`), a batch of seeds'
row arrays (:meth:`MixingPolicy.next_rows`), and the pool size and real-row count alone
(:meth:`MixingPolicy.next_shares`). The exact simulators, which hold pools as counts or
sufficient statistics, read the policy's counts and structure (``accumulates``,
``budget``, ``draws_fresh``) rather than its name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import model_validator

from genloop.core.bench import BenchConfig
from genloop.core.errors import ConfigError
from genloop.provenance.pool import Pool

PolicyName = Literal[
    "replace", "keep_fraction", "mix", "accumulate", "accumulate_subsample", "fresh"
]


@dataclass(frozen=True)
class _Rule:
    """What a policy name stands for."""

    # which parameters give (α new, β previous, γ original): none, `fraction`/γ, or α, β, γ
    weights: Literal["none", "fraction", "mix"] = "none"
    # every past pool is kept and the pool grows by the new samples
    accumulates: bool = False
    # ... and is then cut to a uniform subset of `budget` rows
    subsamples: bool = False
    # the real share is drawn anew from the source instead of re-drawn from the original
    fresh: bool = False


_RULES: dict[str, _Rule] = {
    "replace": _Rule(),
    "keep_fraction": _Rule(weights="fraction"),
    "mix": _Rule(weights="mix"),
    "accumulate": _Rule(accumulates=True),
    "accumulate_subsample": _Rule(accumulates=True, subsamples=True),
    "fresh": _Rule(weights="fraction", fresh=True),
}
POLICY_NAMES: tuple[str, ...] = tuple(_RULES)


class MixingConfig(BenchConfig):
    """The ``mixing:`` section of a collapse recipe."""

    # replace | keep_fraction | mix | accumulate | accumulate_subsample | fresh
    policy: PolicyName = "replace"
    # share of original (real) data γ for keep_fraction / fresh; for mix use `gamma`
    fraction: float = 0.1
    # the three weights of `mix`: new model data α, previous pool β, original γ
    alpha: float | None = None
    beta: float | None = None
    gamma: float | None = None
    # pool size after subsampling for accumulate_subsample (None: the recipe's n)
    budget: int | None = None

    @model_validator(mode="after")
    def _check(self) -> MixingConfig:
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"mixing.fraction must lie in [0, 1], got {self.fraction}")
        if _RULES[self.policy].weights == "mix":
            weights = (self.alpha, self.beta, self.gamma)
            if any(w is None for w in weights):
                raise ValueError(f"mixing policy {self.policy!r} needs alpha, beta and gamma")
            if any(w < 0 for w in weights) or abs(sum(weights) - 1.0) > 1e-9:
                raise ValueError(
                    f"mixing weights must be non-negative and sum to 1: alpha+beta+gamma = "
                    f"{self.alpha}+{self.beta}+{self.gamma} = {sum(weights):g}"
                )
        if self.budget is not None and self.budget < 1:
            raise ValueError("mixing.budget must be a positive number of rows")
        return self

    def weights(self) -> tuple[float, float, float]:
        """(α new, β previous, γ original) of the fixed-size policies."""
        rule = _RULES[self.policy].weights
        if rule == "mix":
            return self.alpha, self.beta, self.gamma  # type: ignore[return-value]
        if rule == "fraction":
            return 1.0 - self.fraction, 0.0, self.fraction
        return 1.0, 0.0, 0.0

    def resolve(self, n: int) -> MixingPolicy:
        """This policy for pools of ``n`` rows (:meth:`MixingPolicy.from_config`)."""
        return MixingPolicy.from_config(self, n)


@dataclass(frozen=True)
class MixingPolicy:
    """A mixing policy resolved for pools of ``n`` rows: counts, structure and the rules.

    Parameters
    ----------
    name : str
        One of :data:`POLICY_NAMES`.
    n : int
        Points per generation: the pool size of fixed-size policies, and the number of
        new model samples added per generation under ``accumulate*``.
    n_original : int
        Original points re-drawn each generation (a uniform subset of the seed's
        original data, without replacement); under ``fresh``, real points newly drawn
        from the source each generation.
    n_previous : int
        Points of the previous pool carried over (a uniform subset, without replacement).
    n_new : int
        New samples drawn from the model fitted on the previous pool.
    budget : int or None
        ``accumulate_subsample`` only: the pool (past pool plus new samples) is cut to a
        uniform subset of this size once it outgrows it.

    Examples
    --------
    >>> MixingPolicy.of("mix", 10, alpha=0.5, beta=0.25, gamma=0.25).counts()
    (6, 2, 2)
    """

    name: str
    n: int
    n_original: int = 0
    n_previous: int = 0
    n_new: int = 0
    budget: int | None = None

    def __post_init__(self):
        if self.name not in _RULES:
            raise ConfigError(
                f"mixing policy {self.name!r} is unknown; known: {', '.join(POLICY_NAMES)}"
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
                f"{self.name!r}, got {self.n_original}+{self.n_previous}+{self.n_new}"
            )
        if self.accumulates and (self.n_original or self.n_previous):
            raise ConfigError(f"policy {self.name!r} takes only n_new, not n_original/previous")
        if self._rule.subsamples:
            if self.budget is None or self.budget < 1:
                raise ConfigError(f"budget must be a positive integer, got {self.budget!r}")
        elif self.budget is not None:
            raise ConfigError(f"budget applies only to accumulate_subsample, not {self.name!r}")

    # -- construction --------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: MixingConfig, n: int) -> MixingPolicy:
        """The recipe's ``mixing:`` section for pools of ``n`` rows."""
        rule = _RULES[config.policy]
        if rule.accumulates:
            budget = (config.budget or n) if rule.subsamples else None
            return cls(config.policy, n, n_new=n, budget=budget)
        _, beta, gamma = config.weights()
        return cls._fixed_size(config.policy, n, beta, gamma)

    @classmethod
    def of(
        cls,
        name: str,
        n: int,
        *,
        alpha: float | None = None,
        beta: float | None = None,
        gamma: float | None = None,
        budget: int | None = None,
    ) -> MixingPolicy:
        """A policy from its name and fractions, without a recipe.

        ``keep_fraction`` and ``fresh`` take ``gamma``; ``mix`` takes ``alpha``, ``beta``,
        ``gamma`` (summing to 1); ``accumulate_subsample`` takes ``budget``. Counts are
        rounded as for a recipe (Python's ``round``, half to even): ``n_original =
        round(gamma*n)``, ``n_previous = round(beta*n)``, and the new samples take the
        rest, so that the pool keeps exactly ``n`` points.
        """
        rule = _RULES.get(name)
        if rule is None:
            raise ConfigError(
                f"mixing policy {name!r} is unknown; known: {', '.join(POLICY_NAMES)}"
            )
        if rule.accumulates:
            return cls(name, n, n_new=n, budget=budget)
        if rule.weights == "none":
            return cls(name, n, n_new=n)
        if rule.weights == "fraction":
            beta, gamma = 0.0, _fraction("gamma", gamma)
        else:
            alpha, beta, gamma = (
                _fraction(k, v) for k, v in (("alpha", alpha), ("beta", beta), ("gamma", gamma))
            )
            if not math.isclose(alpha + beta + gamma, 1.0, abs_tol=1e-9):
                raise ConfigError(
                    f"alpha + beta + gamma must equal 1, got {alpha}+{beta}+{gamma}"
                    f"={alpha + beta + gamma:g}"
                )
        return cls._fixed_size(name, n, beta, gamma)

    @classmethod
    def _fixed_size(cls, name: str, n: int, beta: float, gamma: float) -> MixingPolicy:
        n_original = int(round(gamma * n))
        n_previous = int(round(beta * n))
        if n_original + n_previous > n:  # pragma: no cover - guarded by the weight checks
            raise ConfigError("mixing weights leave no room for new samples")
        return cls(name, n, n_original, n_previous, n - n_original - n_previous)

    # -- structure -----------------------------------------------------------------------
    @property
    def _rule(self) -> _Rule:
        return _RULES[self.name]

    @property
    def accumulates(self) -> bool:
        """True when every past pool is kept and the pool grows by the new samples."""
        return self._rule.accumulates

    @property
    def fixed_size(self) -> bool:
        """True when every pool after generation 0 holds exactly ``n`` points."""
        return not self.accumulates

    @property
    def draws_fresh(self) -> bool:
        """True when the real share is drawn anew from the source each generation."""
        return self._rule.fresh and self.n_original > 0

    @property
    def replaces(self) -> bool:
        """True when each pool is only the ``n`` new samples (no real, no carried rows)."""
        return self.fixed_size and self.n_new == self.n

    def counts(self) -> tuple[int, int, int]:
        """Rows per generation: (new model samples, previous-pool rows, original rows)."""
        return self.n_new, self.n_previous, self.n_original

    # -- the rule, in three representations -----------------------------------------------
    def next_pool(
        self,
        *,
        previous: Pool,
        original: Pool,
        new: Pool,
        rng: np.random.Generator,
        fresh: Pool | None = None,
    ) -> Pool:
        """The next generation's pool of one seed, rows with their provenance.

        Parameters
        ----------
        previous : Pool
            The pool the current model was fitted on.
        original : Pool
            Generation 0's real data.
        new : Pool
            Curated samples from the current model (``n_new`` rows, fewer if filters
            dropped some).
        rng : numpy.random.Generator
            The ``"mix"`` stream of this generation.
        fresh : Pool, optional
            Newly drawn real rows, when :attr:`draws_fresh`.

        Returns
        -------
        Pool
        """
        if self.accumulates:
            grown = Pool.concat([previous, new])
            return grown.subsample(self.budget, rng) if self.budget else grown
        parts = []
        if self.n_original:
            parts.append(self._fresh(fresh) if self.draws_fresh
                         else original.subsample(self.n_original, rng))
        if self.n_previous:
            parts.append(previous.subsample(self.n_previous, rng))
        parts.append(new)
        return Pool.concat(parts)

    def next_rows(
        self,
        rng: np.random.Generator,
        previous: np.ndarray,
        original: np.ndarray,
        new: np.ndarray,
        fresh: np.ndarray | None = None,
    ) -> np.ndarray:
        """The next pools of a batch of seeds, as :meth:`next_pool` makes one seed's.

        Parameters
        ----------
        rng : numpy.random.Generator
            One stream for the whole batch.
        previous : ndarray of shape (S, P, d)
            The pools the current models were fitted on.
        original : ndarray of shape (S, n0, d)
        new : ndarray of shape (S, n_new, d)
        fresh : ndarray of shape (S, n_original, d), optional
            Newly drawn real points, when :attr:`draws_fresh`.

        Returns
        -------
        ndarray of shape (S, P', d)
        """
        if self.accumulates:
            grown = np.concatenate([previous, new], axis=1)
            return uniform_subsets(rng, grown, self.budget) if self.budget else grown
        parts = []
        if self.n_original:
            parts.append(self._fresh(fresh) if self.draws_fresh
                         else uniform_subsets(rng, original, self.n_original))
        if self.n_previous:
            parts.append(uniform_subsets(rng, previous, self.n_previous))
        parts.append(new)
        return np.concatenate(parts, axis=1)

    def next_shares(
        self, size: np.ndarray, real: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pool size and real-row count of every seed's next pool, without the rows.

        Both are fixed by the counts except where a uniform subset of a mixed pool is
        kept (``n_previous > 0``, or an accumulated pool over its budget): the number of
        real rows kept is then hypergeometric. Rows are chosen independently of their
        values, so this chain has exactly the row-level law per seed.

        Parameters
        ----------
        size, real : ndarray of int, shape (S,)
            The current pools' sizes and real-row counts.
        rng : numpy.random.Generator

        Returns
        -------
        (size, real) : tuple of ndarray of int, shape (S,)
        """
        if self.accumulates:
            size = size + self.n_new
            if self.budget:
                over = size > self.budget
                kept = rng.hypergeometric(real, size - real, np.minimum(size, self.budget))
                real = np.where(over, kept, real)
                size = np.minimum(size, self.budget)
            return size, real
        carried = 0
        if self.n_previous:
            carried = rng.hypergeometric(real, size - real, self.n_previous)
        return np.full_like(size, self.n), self.n_original + carried * np.ones_like(size)

    def _fresh(self, fresh):
        if fresh is None:
            raise ConfigError(f"policy {self.name!r} needs freshly drawn real rows")
        return fresh


def uniform_subsets(rng: np.random.Generator, rows: np.ndarray, size: int) -> np.ndarray:
    """A uniform subset (without replacement, order kept) of ``size`` rows per seed.

    Parameters
    ----------
    rng : numpy.random.Generator
    rows : ndarray of shape (S, P, d)
    size : int

    Returns
    -------
    ndarray of shape (S, min(size, P), d)
    """
    if size >= rows.shape[1]:
        return rows
    keys = rng.random(rows.shape[:2])
    chosen = np.argpartition(keys, size - 1, axis=1)[:, :size]
    return np.take_along_axis(rows, np.sort(chosen, axis=1)[..., None], axis=1)


def parse_mix(mix) -> dict:
    """The ``mixing:`` mapping of a policy text, as ``genloop audit --mix`` takes it.

    ``replace``, ``keep_fraction=0.2``, ``fresh=0.2``, ``accumulate``,
    ``accumulate_subsample=500``, ``mix=0.6,0.3,0.1`` (alpha, beta, gamma); a mapping
    passes through.
    """
    if isinstance(mix, dict):
        return dict(mix)
    if not isinstance(mix, str) or not mix.strip():
        raise ConfigError(f"--mix must name a mixing policy, got {mix!r}")
    name, _, value = (part.strip() for part in mix.strip().partition("="))
    rule = _RULES.get(name)
    try:
        if rule is None:
            pass
        elif rule.subsamples:
            return {"policy": name, "budget": int(value)}
        elif rule.weights == "fraction":
            return {"policy": name, "fraction": float(value)}
        elif rule.weights == "mix":
            alpha, beta, gamma = (float(v) for v in value.split(","))
            return {"policy": name, "alpha": alpha, "beta": beta, "gamma": gamma}
        elif not value:
            return {"policy": name}
    except ValueError:
        pass
    raise ConfigError(
        f"--mix {mix!r} is not a mixing policy; use replace, keep_fraction=0.2, fresh=0.2, "
        "accumulate, accumulate_subsample=500 or mix=ALPHA,BETA,GAMMA"
    )


def _fraction(key: str, value) -> float:
    if value is None:
        raise ConfigError(f"{key} is required for this mixing policy")
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{key} must lie in [0, 1], got {value}")
    return value
