"""Batched Gaussian-mixture math: M-step estimates, log-densities, E-step, sampling.

Every function works on a leading seed axis ``S``: data ``(S, N, d)``, responsibilities
``(S, K, N)``, weights ``(S, K)``, means ``(S, K, d)`` and covariances ``(S, K, d, d)``
(full), ``(S, K, d)`` (diag) or ``(S, K)`` (spherical). Formulas follow
``sklearn/mixture/_gaussian_mixture.py`` so that results agree to rounding.
"""

from __future__ import annotations

import math

import numpy as np

_EPS10 = 10 * np.finfo(np.float64).eps


def quadratic_features(X: np.ndarray) -> np.ndarray:
    """Per-point features ``x_i x_j`` (i <= j), ``x_i`` and 1, shape (S, m, N).

    With them every full-covariance quadratic form and second-moment sum is one small
    matrix product per batch, instead of many passes over (S, K, N, d) arrays. Callers
    centre each dataset first, which keeps the expansion's cancellation negligible.
    """
    seeds, n_points, d = X.shape
    upper_i, upper_j = np.triu_indices(d)
    n_quad = len(upper_i)
    out = np.empty((seeds, n_quad + d + 1, n_points))
    coordinates = out[:, n_quad : n_quad + d]
    coordinates[...] = np.swapaxes(X, 1, 2)  # point axis last: contiguous rows below
    for row, (i, j) in enumerate(zip(upper_i, upper_j, strict=True)):
        np.multiply(coordinates[:, i], coordinates[:, j], out=out[:, row])
    out[:, -1] = 1.0
    return out


def estimate_parameters(X, resp, reg_covar, covariance_type, features=None):
    """M-step estimates from responsibilities.

    Parameters
    ----------
    X : ndarray of shape (S, N, d)
    resp : ndarray of shape (S, K, N)
        Responsibilities, component axis before the point axis.
    features : ndarray of shape (S, m, N), optional
        ``quadratic_features(X)``, used by ``full`` (computed if missing).

    Returns
    -------
    nk : ndarray of shape (S, K)
    means : ndarray of shape (S, K, d)
    covariances : (S, K, d, d) full, (S, K, d) diag, (S, K) spherical
    """
    d = X.shape[2]
    if covariance_type == "full":
        features = quadratic_features(X) if features is None else features
        sums = resp @ np.swapaxes(features, 1, 2)
        n_quad = d * (d + 1) // 2
        nk = sums[..., -1] + _EPS10
        means = sums[..., n_quad : n_quad + d] / nk[..., None]
        second = np.empty(nk.shape + (d, d))
        upper_i, upper_j = np.triu_indices(d)
        second[..., upper_i, upper_j] = sums[..., :n_quad]
        second[..., upper_j, upper_i] = sums[..., :n_quad]
        # sum r (x - mu)(x - mu)^T / nk expanded; the nk bias term matches sklearn exactly.
        shrink = 2.0 - sums[..., -1] / nk
        covariances = (
            second / nk[..., None, None]
            - shrink[..., None, None] * means[..., :, None] * means[..., None, :]
        )
        covariances[..., np.arange(d), np.arange(d)] += reg_covar
        return nk, means, covariances
    nk = resp.sum(axis=2) + _EPS10
    means = (resp @ X) / nk[..., None]
    # sklearn's diag formula (uncentred), kept for parity.
    diag = (resp @ (X * X)) / nk[..., None] - means**2 + reg_covar
    return nk, means, diag if covariance_type == "diag" else diag.mean(axis=2)


def precision_cholesky(covariances, covariance_type):
    """Cholesky factors of the precisions and a mask of the seeds where that failed.

    Returns
    -------
    precisions_cholesky : same shape as ``covariances``
    bad : ndarray of bool, shape (S,)
    """
    if covariance_type != "full":
        bad = np.any(covariances <= 0.0, axis=tuple(range(1, covariances.ndim)))
        return 1.0 / np.sqrt(np.where(covariances > 0, covariances, 1.0)), bad
    bad = np.zeros(covariances.shape[0], dtype=bool)
    try:
        factor = np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        factor = np.empty_like(covariances)
        for s, stack in enumerate(covariances):
            try:
                factor[s] = np.linalg.cholesky(stack)
            except np.linalg.LinAlgError:
                bad[s] = True
                factor[s] = np.eye(stack.shape[-1])
    eye = np.broadcast_to(np.eye(covariances.shape[-1]), covariances.shape)
    return np.swapaxes(np.linalg.solve(factor, eye), -1, -2), bad


def precision_cholesky_from_precisions(precisions, covariance_type):
    if covariance_type != "full":
        return np.sqrt(precisions)
    flipped = np.linalg.cholesky(precisions[..., ::-1, ::-1])
    return flipped[..., ::-1, ::-1]


def covariances_from_precision_cholesky(prec_chol, covariance_type):
    if covariance_type != "full":
        return 1.0 / prec_chol**2
    precisions = prec_chol @ np.swapaxes(prec_chol, -1, -2)
    return np.linalg.inv(precisions)


def log_gaussian_prob(X, means, prec_chol, covariance_type, features=None):
    """Log-density of every point under every component, shape (S, K, N)."""
    d = X.shape[2]
    if covariance_type == "full":
        log_det = np.log(np.diagonal(prec_chol, axis1=-2, axis2=-1)).sum(axis=-1)
        features = quadratic_features(X) if features is None else features
        precision = prec_chol @ np.swapaxes(prec_chol, -1, -2)
        upper_i, upper_j = np.triu_indices(d)
        # (x - mu)^T P (x - mu) = sum_ij P_ij x_i x_j - 2 (P mu)^T x + mu^T P mu
        quad = precision[..., upper_i, upper_j] * np.where(upper_i == upper_j, 1.0, 2.0)
        linear = -2.0 * np.einsum("skij,skj->ski", precision, means)
        constant = np.einsum("ski,ski->sk", -0.5 * linear, means)
        coefficients = np.concatenate([quad, linear, constant[..., None]], axis=-1)
        squared = coefficients @ features
    elif covariance_type == "diag":
        precisions = prec_chol**2
        log_det = np.log(prec_chol).sum(axis=-1)
        squared = (
            (means**2 * precisions).sum(axis=-1)[..., None]
            - 2.0 * ((means * precisions) @ np.swapaxes(X, 1, 2))
            + precisions @ np.swapaxes(X * X, 1, 2)
        )
    else:
        precisions = prec_chol**2
        log_det = d * np.log(prec_chol)
        squared = (
            (means**2).sum(axis=-1)[..., None] * precisions[..., None]
            - 2.0 * (means @ np.swapaxes(X, 1, 2)) * precisions[..., None]
            + (X * X).sum(axis=-1)[:, None, :] * precisions[..., None]
        )
    return -0.5 * (d * math.log(2 * math.pi) + squared) + log_det[..., None]


def e_step(X, weights, means, prec_chol, covariance_type, features=None):
    """Mean log-likelihood per seed (S,) and log-responsibilities (S, K, N)."""
    weighted = log_gaussian_prob(X, means, prec_chol, covariance_type, features)
    weighted += np.log(weights)[..., None]
    top = weighted.max(axis=1, keepdims=True)
    with np.errstate(under="ignore"):
        log_norm = np.log(np.exp(weighted - top).sum(axis=1, keepdims=True)) + top
        log_resp = weighted - log_norm
    return log_norm[:, 0, :].mean(axis=1), log_resp


def sample_mixtures(rng, weights, means, covariances, covariance_type, n_samples):
    """Draw ``n_samples`` points from each of ``S`` Gaussian mixtures.

    Component labels are drawn i.i.d. from the weights, which gives the same multiset
    distribution as sklearn's multinomial counts (sklearn returns points grouped by
    component; the order is irrelevant to every fit in genloop); points are
    ``mean + L z`` with ``L`` the Cholesky factor (sklearn uses an SVD: same law).

    Parameters
    ----------
    rng : numpy.random.Generator
    weights : ndarray of shape (S, K)
    means : ndarray of shape (S, K, d)
    covariances : (S, K, d, d) full, (S, K, d) diag, (S, K) spherical
    covariance_type : str
    n_samples : int

    Returns
    -------
    X : ndarray of shape (S, n_samples, d)
    labels : ndarray of int, shape (S, n_samples)
    """
    seeds, k, d = means.shape
    cumulative = np.cumsum(weights, axis=1)
    u = rng.random((seeds, n_samples))
    labels = np.zeros((seeds, n_samples), dtype=np.int64)
    # Label = number of cumulative weights below u; the last component takes the rest,
    # so rounding in the cumulative sum can never push a draw past it.
    for component in range(k - 1):
        labels += u >= cumulative[:, component, None]
    z = rng.standard_normal((seeds, d, n_samples))
    rows = np.arange(seeds)[:, None]
    out = np.empty((seeds, d, n_samples))
    # Coordinate by coordinate on (S, n) arrays: faster than stacks of tiny matmuls.
    if covariance_type == "full":
        factors = np.linalg.cholesky(covariances)
        for i in range(d):
            out[:, i] = means[rows, labels, i]
            for j in range(i + 1):
                out[:, i] += factors[rows, labels, i, j] * z[:, j]
    else:
        scale = np.sqrt(covariances)[rows, labels]
        for i in range(d):
            out[:, i] = (
                means[rows, labels, i]
                + (scale[..., i] if covariance_type == "diag" else scale) * z[:, i]
            )
    return np.ascontiguousarray(np.swapaxes(out, 1, 2)), labels
