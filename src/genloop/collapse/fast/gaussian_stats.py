"""Sufficient statistics of Gaussian samples: draw, combine and split them exactly.

A set of ``m`` points is summarised by ``(count, mean, scatter)`` with
``scatter = sum_i (x_i - mean)(x_i - mean)^T``. For ``m`` i.i.d. draws from
``N(mu, Sigma)`` the mean is ``N(mu, Sigma/m)`` and the scatter ``Wishart(m-1, Sigma)``,
independent of each other (:func:`draw_sample_statistics`).

Splitting: the mixing policies carry a uniform subset of the previous pool into the next
one, and a subset's statistics are not a function of the whole set's. They are, however,
exactly simulable from them (:func:`split_statistics`). Write the centred points as
``H Z`` with ``H`` an orthonormal basis of the complement of the all-ones vector. ``Z``
has i.i.d. ``N(0, Sigma)`` rows, and given ``W = Z^T Z`` it is uniform on
``{Z : Z^T Z = W}``, i.e. ``Z = Q L_W^T`` with ``Q`` Haar on the Stiefel manifold and
``W = L_W L_W^T``; and ``Q = G R^{-1}`` for a standard normal ``G`` with ``G^T G = R^T R``.
Choosing ``H`` adapted to the split (``k - 1`` columns inside the subset, one contrast
column between the subset and the rest, the others inside the rest) gives, with
``A = G_a^T G_a ~ Wishart(k-1, I)``, ``g ~ N(0, I)``, ``B ~ Wishart(m-k-1, I)`` and
``T = A + g g^T + B = L_T L_T^T``, ``M = L_T^{-T} L_W^T``::

    subset scatter = M^T A M,     subset mean = mean + sqrt((m-k)/(k m)) M^T g,

and the subset's centred points themselves are ``H_k G_a M`` (``H_k`` a Helmert basis),
which is how small subsets are turned back into points. This needs ``m - 1 >= d``; the
simulator keeps smaller sets as points.
"""

from __future__ import annotations

import numpy as np


def cholesky_factor(covariance: np.ndarray) -> np.ndarray:
    """Lower factors ``L`` with ``L L^T = covariance`` for a stack of PSD matrices.

    Falls back to a symmetric square root (eigenvalues clipped at 0) for the matrices a
    Cholesky decomposition rejects, e.g. covariances collapsed to numerical zero.

    Parameters
    ----------
    covariance : ndarray of shape (..., d, d)

    Returns
    -------
    ndarray of shape (..., d, d)
    """
    try:
        return np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(covariance)
        return vectors * np.sqrt(np.clip(values, 0.0, None))[..., None, :]


def wishart_identity(rng: np.random.Generator, dof: np.ndarray, d: int) -> np.ndarray:
    """Draw ``Wishart(dof_e, I_d)`` matrices for integer degrees of freedom ``dof_e >= 0``.

    Bartlett's decomposition where ``dof >= d``; an explicit Gram matrix of ``dof``
    standard normal vectors otherwise (singular Wishart).

    Parameters
    ----------
    rng : numpy.random.Generator
    dof : ndarray of int, shape (E,)
    d : int

    Returns
    -------
    ndarray of shape (E, d, d)
    """
    dof = np.asarray(dof, dtype=np.int64)
    size = dof.shape[0]
    normals = rng.standard_normal((size, d, d))
    rows = np.arange(d)
    full = dof >= d
    # Bartlett: lower-triangular A with A_ii^2 ~ chi2(dof - i), standard normals below.
    chi_dof = np.where(full[:, None], dof[:, None] - rows, 1)
    bartlett = np.tril(normals, k=-1)
    bartlett[:, rows, rows] = np.sqrt(rng.chisquare(chi_dof))
    # Small dof: the first `dof` rows of a d x d normal matrix, as a Gram matrix.
    gram = normals * (rows[None, :, None] < dof[:, None, None])
    factor = np.where(full[:, None, None], bartlett, 0.0)
    out = factor @ np.swapaxes(factor, -1, -2)
    if not full.all():
        out = np.where(full[:, None, None], out, np.swapaxes(gram, -1, -2) @ gram)
    return out


def draw_sample_statistics(
    rng: np.random.Generator, mean: np.ndarray, factor: np.ndarray, count: np.ndarray
):
    """Statistics of ``count`` i.i.d. draws from ``N(mean, factor factor^T)``.

    Parameters
    ----------
    rng : numpy.random.Generator
    mean : ndarray of shape (E, d)
    factor : ndarray of shape (E, d, d)
        Lower factor of each covariance (see :func:`cholesky_factor`).
    count : ndarray of int, shape (E,)
        Sample sizes, each at least 1.

    Returns
    -------
    sample_mean : ndarray of shape (E, d)
    scatter : ndarray of shape (E, d, d)
    """
    count = np.asarray(count, dtype=np.int64)
    d = mean.shape[-1]
    z = rng.standard_normal(mean.shape)
    sample_mean = mean + np.einsum("eij,ej->ei", factor, z) / np.sqrt(count)[:, None]
    if d == 1:
        # One dimension: scatter = sigma^2 * chi2(count - 1); skips the matrix products.
        chi = rng.chisquare(np.maximum(count - 1, 1)) * (count > 1)
        return sample_mean, factor**2 * chi[:, None, None]
    unit = wishart_identity(rng, count - 1, d)
    return sample_mean, factor @ unit @ np.swapaxes(factor, -1, -2)


def combine_statistics(parts):
    """Pool the statistics of disjoint sets of points.

    Uses centred between-part terms (not raw second moments), which keeps the scatter
    accurate when the spread is tiny next to the mean, as in late collapse.

    Parameters
    ----------
    parts : list of (count (S,), mean (S, d), scatter (S, d, d))
        Parts with count 0 are ignored whatever their mean and scatter.

    Returns
    -------
    count : ndarray of shape (S,)
    mean : ndarray of shape (S, d)
    scatter : ndarray of shape (S, d, d)
    """
    counts = np.stack([np.asarray(c, dtype=np.float64) for c, _, _ in parts], axis=1)
    means = np.stack([m for _, m, _ in parts], axis=1)
    scatters = np.stack([w for _, _, w in parts], axis=1)
    return combine_stacked(counts, means, scatters)


def combine_stacked(counts: np.ndarray, means: np.ndarray, scatters: np.ndarray):
    """:func:`combine_statistics` on stacked parts: (S, P), (S, P, d), (S, P, d, d)."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum(axis=1)
    safe_total = np.where(total > 0, total, 1.0)
    present = counts > 0
    means = np.where(present[..., None], means, 0.0)
    mean = np.einsum("sp,spd->sd", counts, means) / safe_total[:, None]
    offset = np.where(present[..., None], means - mean[:, None, :], 0.0)
    within = np.where(present[..., None, None], scatters, 0.0).sum(axis=1)
    between = np.einsum("sp,spd,spe->sde", counts, offset, offset)
    return total, mean, within + between


def points_statistics(points: np.ndarray, count: np.ndarray):
    """Statistics of each row's first ``count`` points.

    Parameters
    ----------
    points : ndarray of shape (S, P, d)
    count : ndarray of int, shape (S,)

    Returns
    -------
    count, mean (S, d), scatter (S, d, d)
    """
    valid = np.arange(points.shape[1])[None, :] < count[:, None]
    safe = np.maximum(count, 1)[:, None]
    mean = np.where(valid[..., None], points, 0.0).sum(axis=1) / safe
    centred = np.where(valid[..., None], points - mean[:, None, :], 0.0)
    scatter = np.swapaxes(centred, 1, 2) @ centred
    return count, mean, scatter


def helmert_table(size: int) -> np.ndarray:
    """Helmert bases for every subset size up to ``size``.

    Returns
    -------
    ndarray of shape (size + 1, size, size - 1)
        Entry ``k`` holds, in its first ``k`` rows and ``k - 1`` columns, an orthonormal
        basis of the vectors of length ``k`` orthogonal to the all-ones vector; zeros
        elsewhere.
    """
    table = np.zeros((size + 1, size, max(size - 1, 1)))
    for k in range(2, size + 1):
        for j in range(1, k):
            norm = np.sqrt(j * (j + 1.0))
            table[k, :j, j - 1] = 1.0 / norm
            table[k, j, j - 1] = -j / norm
    return table


def split_statistics(
    rng: np.random.Generator, count, mean, scatter, keep, max_points: int, helmert: np.ndarray
):
    """Statistics (or points) of a uniform subset of ``keep`` of ``count`` Gaussian points.

    Exact given only the whole set's statistics (see the module docstring). Requires
    ``count - 1 >= d`` and ``0 < keep < count`` for every entry.

    Parameters
    ----------
    rng : numpy.random.Generator
    count, keep : ndarray of int, shape (E,)
    mean : ndarray of shape (E, d)
    scatter : ndarray of shape (E, d, d)
    max_points : int
        Subsets of at most this many points are returned as points, larger ones as
        statistics.
    helmert : ndarray
        ``helmert_table(max_points)``.

    Returns
    -------
    sub_mean : ndarray of shape (E, d)
    sub_scatter : ndarray of shape (E, d, d)
        Meaningful where ``keep > max_points``.
    points : ndarray of shape (E, max_points, d)
        The subset's points where ``keep <= max_points`` (first ``keep`` rows).
    """
    count, keep = np.asarray(count, dtype=np.int64), np.asarray(keep, dtype=np.int64)
    size, d = mean.shape
    small = keep <= max_points
    # A = G_a^T G_a; for small subsets G_a itself is needed to rebuild the points.
    inside = rng.standard_normal((size, max(max_points - 1, 1), d))
    inside *= np.arange(inside.shape[1])[None, :, None] < (keep - 1)[:, None, None]
    a_small = np.swapaxes(inside, 1, 2) @ inside
    a_large = wishart_identity(rng, np.where(small, d, keep - 1), d)
    a = np.where(small[:, None, None], a_small, a_large)
    contrast = rng.standard_normal((size, d))
    rest = wishart_identity(rng, count - keep - 1, d)
    total = a + rest + contrast[:, :, None] * contrast[:, None, :]
    m = np.linalg.solve(
        np.swapaxes(np.linalg.cholesky(total), -1, -2),
        np.swapaxes(cholesky_factor(scatter), -1, -2),
    )
    m_t = np.swapaxes(m, -1, -2)
    shift = np.sqrt((count - keep) / (keep * count.astype(float)))
    sub_mean = mean + shift[:, None] * np.einsum("eij,ej->ei", m_t, contrast)
    sub_scatter = m_t @ a @ m
    points = sub_mean[:, None, :] + helmert[np.minimum(keep, max_points)] @ (inside @ m)
    return sub_mean, sub_scatter, points
