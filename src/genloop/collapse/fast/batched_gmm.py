"""The Gaussian-mixture loop for a batch of seeds: batched EM, batched sampling, mixing.

Unlike the exact paths this one works on real points: every seed's pool is a row of a
``(S, P, d)`` array (all seeds' pools have the same size at every generation, whatever
the policy), each generation fits all seeds with :class:`BatchedGaussianMixture`, draws
the new samples with one call, and mixes the next pools with the same rules as
:func:`genloop.collapse.policy.next_pool` (uniform subsets without replacement).

It equals the per-seed sklearn loop in distribution: EM from a given initialisation
matches sklearn to rounding, and the k-means initialisation is the same algorithm
(greedy k-means++ then Lloyd), drawn from a different stream. ``init_params=
"sklearn-kmeans"`` makes the initialisation draw-for-draw sklearn's, at sklearn's cost.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from genloop.collapse.fast.batched_em import BatchedGaussianMixture
from genloop.collapse.fast.mixture_math import sample_mixtures
from genloop.collapse.fast.plan import PoolPlan, batch_generator, batch_key
from genloop.collapse.fast.threads import limited_threads
from genloop.core.errors import ConfigError, DataError


@dataclass(frozen=True)
class MixtureGeneration:
    """The fitted mixtures of one generation, for all seeds.

    Attributes
    ----------
    generation : int
    weights : ndarray of shape (S, K)
    means : ndarray of shape (S, K, d)
    covariances : (S, K, d, d) full, (S, K, d) diag, (S, K) spherical
    covariance_type : str
    pool : ndarray of shape (S, P, d)
        The data every seed's mixture was fitted on.
    converged : ndarray of bool, shape (S,)
    n_iter : ndarray of int, shape (S,)
    """

    generation: int
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    covariance_type: str
    pool: np.ndarray
    converged: np.ndarray
    n_iter: np.ndarray


def uniform_subsets(rng: np.random.Generator, rows: np.ndarray, size: int) -> np.ndarray:
    """A uniform subset (without replacement) of ``size`` rows per seed, shape (S, size, d)."""
    if size >= rows.shape[1]:
        return rows
    keys = rng.random(rows.shape[:2])
    chosen = np.argpartition(keys, size - 1, axis=1)[:, :size]
    return np.take_along_axis(rows, np.sort(chosen, axis=1)[..., None], axis=1)


def mix_batched(rng, plan: PoolPlan, previous, original, new, fresh=None) -> np.ndarray:
    """The next pools of all seeds, as :func:`genloop.collapse.policy.next_pool` makes them.

    Parameters
    ----------
    rng : numpy.random.Generator
    plan : PoolPlan
    previous : ndarray of shape (S, P, d)
        The pools the current models were fitted on.
    original : ndarray of shape (S, n0, d)
    new : ndarray of shape (S, plan.n_new, d)
    fresh : ndarray of shape (S, plan.n_original, d), optional
        Newly drawn real points (``fresh`` policy only).

    Returns
    -------
    ndarray of shape (S, P', d)
    """
    if plan.policy == "accumulate":
        return np.concatenate([previous, new], axis=1)
    if plan.policy == "accumulate_subsample":
        return uniform_subsets(rng, np.concatenate([previous, new], axis=1), plan.budget)
    parts = []
    if plan.n_original:
        if plan.policy == "fresh":
            if fresh is None:
                raise ConfigError("policy 'fresh' needs freshly drawn real points")
            parts.append(fresh)
        else:
            parts.append(uniform_subsets(rng, original, plan.n_original))
    if plan.n_previous:
        parts.append(uniform_subsets(rng, previous, plan.n_previous))
    parts.append(new)
    return np.concatenate(parts, axis=1)


def simulate_gmm(
    original,
    plan: PoolPlan,
    seeds,
    generations: int,
    *,
    n_components: int,
    covariance_type: str = "full",
    tol: float = 1e-3,
    reg_covar: float = 1e-6,
    max_iter: int = 100,
    init_params: str = "kmeans",
    truth=None,
    purpose: str = "batched-gmm",
) -> Iterator[MixtureGeneration]:
    """Run the Gaussian-mixture loop for a batch of seeds; yield every generation's fits.

    Parameters
    ----------
    original : array-like of shape (S, n0, d)
        Each seed's generation-0 original data.
    plan : PoolPlan
    seeds : array-like of int, shape (S,)
    generations : int
        Generations after generation 0.
    n_components, covariance_type, tol, reg_covar, max_iter, init_params
        As :class:`BatchedGaussianMixture` (sklearn's ``GaussianMixture`` defaults).
        With ``init_params="sklearn-kmeans"`` each seed's k-means gets an int seed drawn
        from the generation's stream.
    truth : tuple (weights (K,), means (K, d), covariances (K, d, d)), optional
        The ground-truth mixture; required by the ``fresh`` policy.
    purpose : str
        Prefix of the random streams (``generator(batch_key(seeds), g, purpose + ":fit")``
        and ``":sample"``, ``":mix"``).

    Yields
    ------
    MixtureGeneration
        Generations ``0 .. generations``.
    """
    pool = np.asarray(original, dtype=np.float64)
    if pool.ndim != 3:
        raise DataError(f"original must have shape (S, n0, d), got {pool.shape}")
    seeds_array = np.asarray(seeds)
    if seeds_array.shape != (pool.shape[0],):
        raise ConfigError(
            f"seeds must hold one seed per row: {pool.shape[0]}, got {seeds_array.shape}"
        )
    if plan.policy != "fresh" and max(plan.n_original, plan.n_previous) > pool.shape[1]:
        raise ConfigError(f"n_original / n_previous exceed the original data size {pool.shape[1]}")
    if plan.policy == "fresh" and truth is None:
        raise ConfigError(
            "policy 'fresh' needs the ground truth: pass truth=(weights, means, covs)"
        )
    key = batch_key(seeds_array)
    model = BatchedGaussianMixture(
        n_components,
        covariance_type=covariance_type,
        tol=tol,
        reg_covar=reg_covar,
        max_iter=max_iter,
        init_params=init_params,
    )
    original_pool = pool
    for generation in range(int(generations) + 1):
        with limited_threads(1):
            rng = batch_generator(key, generation, purpose + ":fit")
            state = (
                rng.integers(2**31 - 1, size=len(pool)) if init_params == "sklearn-kmeans" else rng
            )
            model.fit(pool, random_state=state)
        yield MixtureGeneration(
            generation,
            model.weights_,
            model.means_,
            model.covariances_,
            covariance_type,
            pool,
            model.converged_,
            model.n_iter_,
        )
        if generation == generations:
            return
        with limited_threads(1):
            new, _ = model.sample(plan.n_new, batch_generator(key, generation, purpose + ":sample"))
            mix_rng = batch_generator(key, generation, purpose + ":mix")
            fresh = None
            if plan.policy == "fresh":
                weights, means, covs = (np.asarray(t, dtype=np.float64) for t in truth)
                s = len(pool)
                fresh, _ = sample_mixtures(
                    mix_rng,
                    np.broadcast_to(weights, (s,) + weights.shape),
                    np.broadcast_to(means, (s,) + means.shape),
                    np.broadcast_to(covs, (s,) + covs.shape),
                    "full",
                    plan.n_original,
                )
            pool = mix_batched(mix_rng, plan, pool, original_pool, new, fresh)
