"""The continuous metrics computed from parameter arrays of many seeds at once.

A fast engine holds each seed's fitted Gaussian or mixture as arrays (a
:class:`~genloop.metrics.base.BatchMetricContext`); the functions here give, for all
seeds in one call, exactly what the per-seed metrics of
:mod:`genloop.metrics.continuous` compute from a fitted model (equal to rounding, which
``tests/metrics/test_measure_batch.py`` checks to 1e-10). Shapes: ``S`` seeds, ``k``
components, ``d`` dimensions, ``H`` held-out rows.
"""

from __future__ import annotations

import numpy as np

from genloop.metrics.base import BatchMetricContext
from genloop.metrics.gaussian_math import mixture_moments
from genloop.metrics.model_views import truth_gaussian, truth_mixture

_LOG_2PI = np.log(2 * np.pi)
# Upper bound on the elements of one (S_block, k, H, d) array of whitened held-out rows.
_BLOCK_ELEMENTS = 1 << 21


def batch_moments(context: BatchMetricContext, initial: bool = False):
    """Mean (S, d) and covariance (S, d, d) of every seed's model (or generation 0's).

    A Gaussian's are its parameters; a mixture's come from :func:`mixture_moments`, as
    :func:`genloop.metrics.model_views.model_moments` does per seed.
    """
    prefix = "initial_" if initial else ""
    means = getattr(context, prefix + "means")
    covariances = getattr(context, prefix + "covariances")
    if context.form == "gaussian":
        return means[:, 0], covariances[:, 0]
    return mixture_moments(getattr(context, prefix + "weights"), means, covariances)


def batch_reference_mean(context: BatchMetricContext) -> np.ndarray:
    """Truth mean (d,) when known, else each seed's original-data mean (S, d)."""
    gaussian = truth_gaussian(context.source)
    if gaussian is not None:
        return gaussian[0]
    mixture = truth_mixture(context.source)
    if mixture is not None:
        return mixture_moments(*mixture)[0]
    return np.asarray(context.original, dtype=float).mean(axis=1)


def original_quantiles(context: BatchMetricContext, low: float, high: float):
    """Per-seed, per-dimension ``low`` and ``high`` quantiles of the original data (S, d).

    Cached in ``context.cache``: the original data never change within a batch.
    """
    key = ("original_quantiles", low, high)
    if key not in context.cache:
        original = np.asarray(context.original, dtype=float)
        lower, upper = np.quantile(original, [low, high], axis=1)
        context.cache[key] = (lower, upper)
    return context.cache[key]


def _holdout_moments(context: BatchMetricContext):
    """Mean (S, d) and biased (1/H) covariance (S, d, d) of each seed's held-out rows."""
    if "holdout_moments" not in context.cache:
        holdout = np.asarray(context.holdout, dtype=float)
        mean = holdout.mean(axis=1)
        centred = holdout - mean[:, None, :]
        covariance = np.swapaxes(centred, 1, 2) @ centred / holdout.shape[1]
        context.cache["holdout_moments"] = (mean, covariance)
    return context.cache["holdout_moments"]


def gaussian_heldout_loglik(context: BatchMetricContext) -> np.ndarray:
    """Mean Gaussian log-density of each seed's held-out rows, shape (S,).

    Closed form from the held-out moments (m, C):
    ``-0.5 (d log 2 pi + log det S + tr(S^-1 (C + (m - mu)(m - mu)^T)))``, so the cost
    per generation is independent of the number of held-out rows.
    """
    holdout_mean, holdout_covariance = _holdout_moments(context)
    mean, covariance = context.means[:, 0], context.covariances[:, 0]
    offset = holdout_mean - mean
    scatter = holdout_covariance + offset[:, :, None] * offset[:, None, :]
    factor = np.linalg.cholesky(covariance)
    log_det = 2 * np.log(np.diagonal(factor, axis1=-2, axis2=-1)).sum(axis=-1)
    quadratic = np.trace(np.linalg.solve(covariance, scatter), axis1=-2, axis2=-1)
    d = mean.shape[-1]
    return -0.5 * (d * _LOG_2PI + log_det + quadratic)


def mixture_heldout_loglik(context: BatchMetricContext) -> np.ndarray:
    """Mean mixture log-density of each seed's held-out rows, shape (S,).

    Log-sum-exp over components of the component log-densities, computed as scikit-learn
    does (rows whitened by the Cholesky factor of each precision), in blocks of seeds.
    """
    holdout = np.asarray(context.holdout, dtype=float)
    weights, means, covariances = context.weights, context.means, context.covariances
    seeds, k, d = means.shape
    factor = np.linalg.cholesky(covariances)
    eye = np.broadcast_to(np.eye(d), factor.shape)
    # Upper-triangular Cholesky factor of each precision, as sklearn stores it.
    precision_factor = np.swapaxes(np.linalg.solve(factor, eye), -1, -2)
    log_det = np.log(np.diagonal(precision_factor, axis1=-2, axis2=-1)).sum(axis=-1)
    out = np.empty(seeds)
    block = max(1, _BLOCK_ELEMENTS // max(1, k * holdout.shape[1] * d))
    for start in range(0, seeds, block):
        part = slice(start, start + block)
        rows = holdout[part][:, None, :, :] @ precision_factor[part]
        centre = means[part][:, :, None, :] @ precision_factor[part]
        whitened = rows - centre
        log_prob = -0.5 * (d * _LOG_2PI + np.sum(whitened**2, axis=-1)) + log_det[part, :, None]
        weighted = log_prob + np.log(weights[part])[:, :, None]
        top = weighted.max(axis=1, keepdims=True)
        log_density = top[:, 0] + np.log(np.exp(weighted - top).sum(axis=1))
        out[part] = log_density.mean(axis=-1)
    return out
