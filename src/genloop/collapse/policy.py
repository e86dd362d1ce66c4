"""How the next generation's pool is made from original, previous and new data.

One declarative policy covers the generational data-learning schemes of the papers:

=====================  =======================================================
policy                 next pool
=====================  =======================================================
``replace``            n new model samples (α = 1)
``keep_fraction``      round(γ·n) original points (re-drawn each generation) plus
                       n − round(γ·n) new samples
``mix``                round(γ·n) original + round(β·n) of the previous pool +
                       the rest new samples; α + β + γ = 1
``accumulate``         every past pool kept: the pool grows by n new samples
``accumulate_subsample`` accumulate, then a uniform subsample of ``budget`` rows
``fresh``              round(γ·n) *fresh* real points from the source (not the
                       original set) plus new samples: the "more real data" control
=====================  =======================================================

Each row of a pool carries its origin: ``-1`` for real data, ``k`` for data sampled from
generation ``k``'s model. The provenance ledger and the synthetic-share metric read it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import model_validator

from genloop.core.bench import BenchConfig
from genloop.core.errors import ConfigError
from genloop.provenance.pool import Pool


class MixingConfig(BenchConfig):
    """The ``mixing:`` section of a collapse recipe."""

    # replace | keep_fraction | mix | accumulate | accumulate_subsample | fresh
    policy: Literal[
        "replace", "keep_fraction", "mix", "accumulate", "accumulate_subsample", "fresh"
    ] = "replace"
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
        if self.policy == "mix":
            weights = (self.alpha, self.beta, self.gamma)
            if any(w is None for w in weights):
                raise ValueError("mixing policy 'mix' needs alpha, beta and gamma")
            if any(w < 0 for w in weights) or abs(sum(weights) - 1.0) > 1e-9:
                raise ValueError(
                    f"mixing weights must be non-negative and sum to 1: alpha+beta+gamma = "
                    f"{self.alpha}+{self.beta}+{self.gamma} = {sum(weights):g}"
                )
        if self.budget is not None and self.budget < 1:
            raise ValueError("mixing.budget must be a positive number of rows")
        return self

    def weights(self) -> tuple[float, float, float]:
        """(α new, β previous, γ original) for the fixed-size policies."""
        if self.policy == "mix":
            return self.alpha, self.beta, self.gamma  # type: ignore[return-value]
        if self.policy in ("keep_fraction", "fresh"):
            return 1.0 - self.fraction, 0.0, self.fraction
        return 1.0, 0.0, 0.0


def counts(config: MixingConfig, n: int) -> tuple[int, int, int]:
    """Rows per generation: (new model samples, previous-pool rows, original rows)."""
    if config.policy in ("accumulate", "accumulate_subsample"):
        return n, 0, 0
    _, beta, gamma = config.weights()
    n_original = int(round(gamma * n))
    n_previous = int(round(beta * n))
    n_new = n - n_original - n_previous
    if n_new < 0:  # pragma: no cover - guarded by the weight check
        raise ConfigError("mixing weights leave no room for new samples")
    return n_new, n_previous, n_original


def next_pool(
    config: MixingConfig,
    *,
    n: int,
    previous: Pool,
    original: Pool,
    new: Pool,
    rng: np.random.Generator,
    fresh: Pool | None = None,
) -> Pool:
    """Make the next generation's pool.

    Parameters
    ----------
    config : MixingConfig
    n : int
        Rows per generation (the recipe's ``n``).
    previous : Pool
        The pool the current model was fitted on.
    original : Pool
        Generation 0's real data.
    new : Pool
        Curated samples from the current model (``counts(config, n)[0]`` rows, fewer
        if filters dropped some).
    rng : numpy.random.Generator
        The ``"mix"`` stream of this generation.
    fresh : Pool, optional
        Newly drawn real rows, for the ``fresh`` policy.

    Returns
    -------
    Pool
    """
    _, n_previous, n_original = counts(config, n)
    if config.policy == "accumulate":
        return Pool.concat([previous, new])
    if config.policy == "accumulate_subsample":
        return Pool.concat([previous, new]).subsample(config.budget or n, rng)
    parts = []
    if n_original:
        if config.policy == "fresh":
            if fresh is None:
                raise ValueError("policy 'fresh' needs freshly drawn real rows")
            parts.append(fresh)
        else:
            parts.append(original.subsample(n_original, rng))
    if n_previous:
        parts.append(previous.subsample(n_previous, rng))
    parts.append(new)
    return Pool.concat(parts)
