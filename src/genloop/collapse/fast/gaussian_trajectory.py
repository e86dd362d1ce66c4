"""Whole trajectories of Gaussian refitting under ``replace``, all generations at once.

Under ``replace`` each pool is ``n`` fresh samples of the current model, so with Bartlett's
decomposition of the scatter (``W = L A A^T L^T``, ``A`` lower triangular with
``A_ii^2 ~ chi2(n-1-i)`` and standard normals below the diagonal) the fitted model
follows a multiplicative recursion on its Cholesky factor::

    L_{t+1} = L_t A_t / sqrt(c),      mu_{t+1} = mu_t + L_t z_t / sqrt(n),

with ``c = n`` (MLE) or ``n - 1`` (unbiased) and ``z_t`` standard normal, independent of
``A_t``. In one dimension this is a cumulative sum of ``log(chi2_{n-1} / c)`` — a single
array operation for every seed and generation — and the log-variance never underflows.
In ``d`` dimensions one batched triangular product per generation remains.

Random streams: the chi-square, normal and mean draws of the whole run come from one
stream per purpose (``generator(batch_key(seeds), 0, purpose + ":...")``), filled
generation by generation, so a longer run extends a shorter one with the same seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genloop.collapse.fast.streams import batch_generator, batch_key
from genloop.collapse.fast.threads import limited_threads
from genloop.core.errors import ConfigError, DataError


@dataclass(frozen=True)
class GaussianTrajectory:
    """Fitted models of every generation of every seed.

    Attributes
    ----------
    means : ndarray of shape (G + 1, S, d)
    factors : ndarray of shape (G + 1, S, d, d)
        Lower Cholesky factors of the covariances (``None`` in one dimension).
    log_variances : ndarray of shape (G + 1, S, d)
        Log of the diagonal of the covariances (exact even where they underflow).
    """

    means: np.ndarray
    factors: np.ndarray | None
    log_variances: np.ndarray

    @property
    def covariances(self) -> np.ndarray:
        """Covariances, shape (G + 1, S, d, d)."""
        if self.factors is None:
            return np.exp(self.log_variances)[..., None]
        return self.factors @ np.swapaxes(self.factors, -1, -2)


def replace_trajectory(
    original,
    n: int,
    generations: int,
    seeds,
    estimator: str = "mle",
    purpose: str = "fast-gaussian-replace",
) -> GaussianTrajectory:
    """Simulate Gaussian refitting under ``replace`` for all seeds and generations.

    Parameters
    ----------
    original : array-like of shape (S, n0, d) or (S, n0)
        Each seed's generation-0 original data (the generation-0 fit).
    n : int
        Samples drawn from each model (pool size from generation 1 on).
    generations : int
        Generations after generation 0.
    seeds : array-like of int, shape (S,)
    estimator : {"mle", "unbiased"}, default="mle"
    purpose : str
        Purpose prefix of the random streams.

    Returns
    -------
    GaussianTrajectory
    """
    data = np.asarray(original, dtype=np.float64)
    data = data[..., None] if data.ndim == 2 else data
    if data.ndim != 3 or not np.all(np.isfinite(data)):
        raise DataError(f"original must be finite with shape (S, n0, d), got {np.shape(original)}")
    if estimator not in ("mle", "unbiased"):
        raise ConfigError(f"estimator must be one of mle, unbiased, got {estimator!r}")
    n, generations = int(n), int(generations)
    if n < 2 or generations < 0:
        raise ConfigError(
            f"n must be at least 2 and generations non-negative, got {n}, {generations}"
        )
    seeds_array = np.asarray(seeds)
    if seeds_array.shape != (data.shape[0],):
        raise ConfigError(
            f"seeds must hold one seed per row: {data.shape[0]}, got {seeds_array.shape}"
        )
    with limited_threads(1):
        return _trajectory(data, n, generations, seeds_array, estimator, purpose)


def _trajectory(data, n, generations, seeds_array, estimator, purpose) -> GaussianTrajectory:
    size, n0, d = data.shape
    divisor = n if estimator == "mle" else n - 1
    key = batch_key(seeds_array)
    mean0 = data.mean(axis=1)
    centred = data - mean0[:, None, :]
    cov0 = np.swapaxes(centred, 1, 2) @ centred / (n0 if estimator == "mle" else n0 - 1)
    chi = batch_generator(key, 0, purpose + ":chi2").chisquare(
        np.broadcast_to(n - 1 - np.arange(d), (generations, size, d))
    )
    z = batch_generator(key, 0, purpose + ":mean").standard_normal((generations, size, d))

    if d == 1:
        log_var = np.empty((generations + 1, size, 1))
        log_var[0] = np.log(cov0[:, :, 0])
        np.cumsum(np.log(chi / divisor), axis=0, out=log_var[1:])
        log_var[1:] += log_var[0]
        steps = np.exp(0.5 * log_var[:-1]) * z / np.sqrt(n)
        means = np.concatenate([mean0[None], mean0[None] + np.cumsum(steps, axis=0)])
        return GaussianTrajectory(means, None, log_var)

    below = np.tril(
        batch_generator(key, 0, purpose + ":normal").standard_normal((generations, size, d, d)),
        k=-1,
    )
    factors = np.empty((generations + 1, size, d, d))
    factors[0] = np.linalg.cholesky(cov0)
    means = np.empty((generations + 1, size, d))
    means[0] = mean0
    diagonal = np.arange(d)
    scale = 1.0 / np.sqrt(divisor)
    for t in range(generations):
        bartlett = below[t]
        bartlett[:, diagonal, diagonal] = np.sqrt(chi[t])
        means[t + 1] = means[t] + np.einsum("sij,sj->si", factors[t], z[t]) / np.sqrt(n)
        factors[t + 1] = factors[t] @ bartlett * scale
    log_var = np.log(np.einsum("gsij,gsij->gsi", factors, factors))
    return GaussianTrajectory(means, factors, log_var)
