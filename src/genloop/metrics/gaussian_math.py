"""Closed forms for Gaussians and Gaussian mixtures, vectorised over a batch axis.

Every function accepts leading batch axes (written ``...``), so a fast engine that
simulates many seeds at once from sufficient statistics can compute the same numbers
as the per-seed metrics in :mod:`genloop.metrics.continuous` in one call. Shapes:
means ``(..., d)``, covariances ``(..., d, d)``; mixtures add a component axis:
weights ``(..., k)``, means ``(..., k, d)``, covariances ``(..., k, d, d)``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from genloop.core.errors import DataError

_LOG_2PI = np.log(2 * np.pi)
# Upper bound on the elements of one block of pairwise (k1, k2, d, d) matrices, so that
# large mixtures (e.g. a KDE seen as n components) are processed in bounded memory.
_BLOCK_ELEMENTS = 1 << 22


def _symmetrise(matrices: np.ndarray) -> np.ndarray:
    return 0.5 * (matrices + np.swapaxes(matrices, -1, -2))


def symmetric_psd_sqrt(matrices) -> np.ndarray:
    """Square root of symmetric positive semi-definite matrices via ``eigh``.

    ``eigh`` is used instead of :func:`scipy.linalg.sqrtm` because it is stable for
    singular or nearly singular matrices (a collapsed model's covariance), it always
    returns a real symmetric result, and it works on a stack of matrices. Tiny negative
    eigenvalues from rounding are clipped to 0.

    Parameters
    ----------
    matrices : array_like of shape (..., d, d)

    Returns
    -------
    ndarray of shape (..., d, d)
    """
    matrices = _symmetrise(np.asarray(matrices, dtype=float))
    eigenvalues, eigenvectors = np.linalg.eigh(matrices)
    root = np.sqrt(np.clip(eigenvalues, 0, None))
    return (eigenvectors * root[..., None, :]) @ np.swapaxes(eigenvectors, -1, -2)


def gaussian_w2(mean1, cov1, mean2, cov2) -> np.ndarray:
    """2-Wasserstein distance between Gaussians ``N(mean1, cov1)`` and ``N(mean2, cov2)``.

    ``W2^2 = |m1 - m2|^2 + tr(C1 + C2 - 2 (C2^½ C1 C2^½)^½)``.

    Parameters
    ----------
    mean1, mean2 : array_like of shape (..., d)
    cov1, cov2 : array_like of shape (..., d, d)

    Returns
    -------
    ndarray of shape (...)
    """
    mean1, mean2 = np.asarray(mean1, dtype=float), np.asarray(mean2, dtype=float)
    cov1, cov2 = np.asarray(cov1, dtype=float), np.asarray(cov2, dtype=float)
    if not (mean1.shape[-1] == mean2.shape[-1] == cov1.shape[-1] == cov2.shape[-1]):
        raise DataError(
            f"gaussian_w2: dimensions disagree: means {mean1.shape}, {mean2.shape}, "
            f"covariances {cov1.shape}, {cov2.shape}"
        )
    root2 = symmetric_psd_sqrt(cov2)
    cross = symmetric_psd_sqrt(root2 @ cov1 @ root2)
    trace = np.trace(cov1 + cov2 - 2 * cross, axis1=-2, axis2=-1)
    squared = np.sum((mean1 - mean2) ** 2, axis=-1) + trace
    # Rounding can leave a tiny negative number when the two Gaussians are equal.
    return np.sqrt(np.clip(squared, 0, None))


def gaussian_overlaps(means1, covs1, means2, covs2) -> np.ndarray:
    """Pairwise integrals ``∫ N(x; a_i, A_i) N(x; b_j, B_j) dx = N(a_i; b_j, A_i + B_j)``.

    Parameters
    ----------
    means1 : array_like of shape (..., k1, d)
    covs1 : array_like of shape (..., k1, d, d)
    means2 : array_like of shape (..., k2, d)
    covs2 : array_like of shape (..., k2, d, d)

    Returns
    -------
    ndarray of shape (..., k1, k2)
    """
    means1, means2 = np.asarray(means1, dtype=float), np.asarray(means2, dtype=float)
    covs1, covs2 = np.asarray(covs1, dtype=float), np.asarray(covs2, dtype=float)
    d = means1.shape[-1]
    total = covs1[..., :, None, :, :] + covs2[..., None, :, :, :]
    difference = means1[..., :, None, :] - means2[..., None, :, :]
    try:
        lower = np.linalg.cholesky(_symmetrise(total))
    except np.linalg.LinAlgError as error:
        raise DataError(
            "gaussian_overlaps: a summed covariance is not positive definite"
        ) from error
    whitened = np.linalg.solve(lower, difference[..., None])[..., 0]
    log_det = 2 * np.log(np.diagonal(lower, axis1=-2, axis2=-1)).sum(axis=-1)
    mahalanobis = np.sum(whitened**2, axis=-1)
    return np.exp(-0.5 * (d * _LOG_2PI + log_det + mahalanobis))


def mixture_inner_product(weights1, means1, covs1, weights2, means2, covs2) -> np.ndarray:
    """``∫ f(x) g(x) dx`` for Gaussian mixtures f and g.

    Large first mixtures are processed in blocks of components, so a mixture with
    thousands of components (a Gaussian KDE) does not need a (k1, k2, d, d) array at once.

    Parameters
    ----------
    weights1 : array_like of shape (..., k1)
    means1 : array_like of shape (..., k1, d)
    covs1 : array_like of shape (..., k1, d, d)
    weights2 : array_like of shape (..., k2)
    means2 : array_like of shape (..., k2, d)
    covs2 : array_like of shape (..., k2, d, d)

    Returns
    -------
    ndarray of shape (...)
    """
    weights1, weights2 = np.asarray(weights1, dtype=float), np.asarray(weights2, dtype=float)
    means1, means2 = np.asarray(means1, dtype=float), np.asarray(means2, dtype=float)
    covs1, covs2 = np.asarray(covs1, dtype=float), np.asarray(covs2, dtype=float)
    k1, k2, d = means1.shape[-2], means2.shape[-2], means1.shape[-1]
    batch = int(np.prod(np.broadcast_shapes(weights1.shape[:-1], weights2.shape[:-1])))
    block = max(1, _BLOCK_ELEMENTS // max(1, batch * k2 * d * d))
    total = 0.0
    for start in range(0, k1, block):
        part = slice(start, start + block)
        overlaps = gaussian_overlaps(means1[..., part, :], covs1[..., part, :, :], means2, covs2)
        weighted = np.einsum("...i,...ij,...j->...", weights1[..., part], overlaps, weights2)
        total = total + weighted
    return np.asarray(total)


def mixture_l2_squared(weights1, means1, covs1, weights2, means2, covs2) -> np.ndarray:
    """Squared L2 distance ``||f - g||_2^2 = ∫ (f(x) - g(x))^2 dx`` between two mixtures.

    ``<f, f> - 2 <f, g> + <g, g>`` with each inner product in closed form
    (:func:`mixture_inner_product`). A single Gaussian is a mixture with ``k = 1``. The
    value has units of density; it is 0 only for equal densities. This is the distance
    Shumailov et al. (Nature 2024) plot for their GMM experiment.

    Parameters
    ----------
    weights1, means1, covs1, weights2, means2, covs2
        As in :func:`mixture_inner_product`.

    Returns
    -------
    ndarray of shape (...)
    """
    first = (weights1, means1, covs1)
    second = (weights2, means2, covs2)
    squared = (
        mixture_inner_product(*first, *first)
        - 2 * mixture_inner_product(*first, *second)
        + mixture_inner_product(*second, *second)
    )
    # The three terms nearly cancel for close mixtures; rounding may go below 0.
    return np.clip(squared, 0, None)


def mixture_l2(weights1, means1, covs1, weights2, means2, covs2) -> np.ndarray:
    """L2 distance ``||f - g||_2`` between the densities of two Gaussian mixtures.

    The square root of :func:`mixture_l2_squared`; units of density^(1/2).

    Parameters
    ----------
    weights1, means1, covs1, weights2, means2, covs2
        As in :func:`mixture_inner_product`.

    Returns
    -------
    ndarray of shape (...)
    """
    return np.sqrt(mixture_l2_squared(weights1, means1, covs1, weights2, means2, covs2))


def mixture_moments(weights, means, covs) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of a Gaussian mixture.

    ``mean = sum_k w_k m_k``; ``cov = sum_k w_k (C_k + m_k m_k^T) - mean mean^T``.

    Parameters
    ----------
    weights : array_like of shape (..., k)
    means : array_like of shape (..., k, d)
    covs : array_like of shape (..., k, d, d)

    Returns
    -------
    mean : ndarray of shape (..., d)
    covariance : ndarray of shape (..., d, d)
    """
    weights = np.asarray(weights, dtype=float)
    means, covs = np.asarray(means, dtype=float), np.asarray(covs, dtype=float)
    mean = np.einsum("...k,...kd->...d", weights, means)
    within = np.einsum("...k,...kij->...ij", weights, covs)
    centred = means - mean[..., None, :]
    between = np.einsum("...k,...ki,...kj->...ij", weights, centred, centred)
    return mean, within + between


def mixture_marginal_tail_mass(weights, means, variances, lower, upper) -> np.ndarray:
    """Mass of a Gaussian mixture outside ``[lower_j, upper_j]``, averaged over dimensions.

    Exact via the normal CDF of each dimension's marginal (a 1-D mixture).

    Parameters
    ----------
    weights : array_like of shape (..., k)
    means : array_like of shape (..., k, d)
    variances : array_like of shape (..., k, d)
        Each component's marginal variances (the diagonals of its covariance).
    lower, upper : array_like of shape (..., d)
        Per-dimension thresholds.

    Returns
    -------
    ndarray of shape (...)
        ``mean_j [P(X_j < lower_j) + P(X_j > upper_j)]``.
    """
    weights = np.asarray(weights, dtype=float)
    means, variances = np.asarray(means, dtype=float), np.asarray(variances, dtype=float)
    lower = np.asarray(lower, dtype=float)[..., None, :]
    upper = np.asarray(upper, dtype=float)[..., None, :]
    # A zero-variance component is a point mass: its CDF is a step, not ndtr(±inf/0).
    scale = np.sqrt(variances)
    positive = scale > 0
    safe_scale = np.where(positive, scale, 1.0)
    below = np.where(positive, ndtr((lower - means) / safe_scale), means < lower)
    above = np.where(positive, ndtr((means - upper) / safe_scale), means > upper)
    per_component = below + above  # (..., k, d)
    return np.einsum("...k,...kd->...", weights, per_component) / means.shape[-1]


def mean_variance(cov) -> np.ndarray:
    """Mean over dimensions of the per-dimension variance, ``tr(C) / d``.

    Parameters
    ----------
    cov : array_like of shape (..., d, d)

    Returns
    -------
    ndarray of shape (...)
    """
    return np.diagonal(np.asarray(cov, dtype=float), axis1=-2, axis2=-1).mean(axis=-1)


def mean_log_variance(cov) -> np.ndarray:
    """Mean over dimensions of the log per-dimension variance (``-inf`` if one is 0).

    Parameters
    ----------
    cov : array_like of shape (..., d, d)

    Returns
    -------
    ndarray of shape (...)
    """
    diagonal = np.diagonal(np.asarray(cov, dtype=float), axis1=-2, axis2=-1)
    with np.errstate(divide="ignore"):
        return np.log(diagonal).mean(axis=-1)


def covariance_logdet(cov) -> np.ndarray:
    """Log-determinant of covariance matrices (``-inf`` for singular ones).

    Parameters
    ----------
    cov : array_like of shape (..., d, d)

    Returns
    -------
    ndarray of shape (...)
    """
    sign, log_det = np.linalg.slogdet(np.asarray(cov, dtype=float))
    return np.where(sign > 0, log_det, -np.inf)


def component_std(variances) -> np.ndarray:
    """Each component's typical standard deviation, ``sqrt(mean_j var_kj)``.

    Parameters
    ----------
    variances : array_like of shape (..., k, d)
        Per-dimension variances of each component (covariance diagonals).

    Returns
    -------
    ndarray of shape (..., k)
    """
    return np.sqrt(np.asarray(variances, dtype=float).mean(axis=-1))


def component_geometric_std(covs) -> np.ndarray:
    """Each component's geometric-mean standard deviation, ``det(Σ_k)^(1/(2d))``.

    The standard deviation of an isotropic Gaussian with the same volume. Unlike
    :func:`component_std` it shrinks when a component collapses along any principal
    axis (a component that has become a thin line has a tiny volume but a large mean
    variance).

    Parameters
    ----------
    covs : array_like of shape (..., k, d, d)

    Returns
    -------
    ndarray of shape (..., k)
    """
    covs = np.asarray(covs, dtype=float)
    sign, logdet = np.linalg.slogdet(covs)
    logdet = np.where(sign > 0, logdet, -np.inf)
    return np.exp(logdet / (2 * covs.shape[-1]))
