"""Sufficient statistics of Gaussian samples: exact pooling, and seeded distribution tests.

Statistical tests use fixed seeds and two-sample Kolmogorov-Smirnov tests at the 1% level
against statistics computed from real samples; each one rejected deliberately broken
code (a Wishart with m instead of m-1 degrees of freedom; a subset with k instead of
k-1) when tried by hand.
"""

import numpy as np
import pytest
from scipy import stats

from genloop.collapse.fast.gaussian_stats import (
    combine_statistics,
    draw_sample_statistics,
    helmert_table,
    points_statistics,
    split_statistics,
    wishart_identity,
)


def _stats(X):
    mean = X.mean(axis=1)
    centred = X - mean[:, None, :]
    return mean, np.swapaxes(centred, 1, 2) @ centred


def test_combine_statistics_equals_statistics_of_the_union():
    rng = np.random.default_rng(0)
    # Large offset, small spread: the regime where raw second moments lose precision.
    parts = [1e4 + 1e-3 * rng.normal(size=(5, m, 3)) for m in (4, 1, 7)]
    pieces = [(np.full(5, p.shape[1]), *_stats(p)) for p in parts]
    pieces.append((np.zeros(5), np.full((5, 3), np.nan), np.full((5, 3, 3), np.nan)))
    count, mean, scatter = combine_statistics(pieces)
    union_mean, union_scatter = _stats(np.concatenate(parts, axis=1))
    assert np.array_equal(count, np.full(5, 12.0))
    np.testing.assert_allclose(mean, union_mean, rtol=1e-13)
    np.testing.assert_allclose(scatter, union_scatter, rtol=1e-6, atol=1e-12)


def test_points_statistics_ignores_padding():
    points = np.array([[[1.0], [3.0], [99.0]], [[2.0], [-5.0], [7.0]]])
    count, mean, scatter = points_statistics(points, np.array([2, 3]))
    np.testing.assert_allclose(mean[:, 0], [2.0, 4.0 / 3.0])
    np.testing.assert_allclose(scatter[:, 0, 0], [2.0, np.var([2.0, -5.0, 7.0]) * 3])


def test_helmert_table_is_orthonormal_and_orthogonal_to_ones():
    table = helmert_table(6)
    for k in range(2, 7):
        basis = table[k, :k, : k - 1]
        np.testing.assert_allclose(basis.T @ basis, np.eye(k - 1), atol=1e-12)
        np.testing.assert_allclose(basis.sum(axis=0), 0.0, atol=1e-12)
        assert not table[k, k:].any() and not table[k, :, k - 1 :].any()


def test_wishart_identity_mean_and_rank():
    """E[W] = dof * I; below d degrees of freedom the draw has rank dof (seed 1)."""
    rng = np.random.default_rng(1)
    dof = np.repeat([0, 2, 3, 7], 4000)
    draws = wishart_identity(rng, dof, 3)
    for value in (2, 3, 7):
        mean = draws[dof == value].mean(axis=0)
        # Entry-wise standard error is at most sqrt(2 * 7 / 4000) ~ 0.06.
        np.testing.assert_allclose(mean, value * np.eye(3), atol=0.25)
    assert not draws[dof == 0].any()
    assert np.all(np.linalg.matrix_rank(draws[dof == 2]) == 2)


def test_draw_sample_statistics_matches_real_samples():
    """Mean and scatter of m draws vs the drawn statistics: KS at 1% (seed 2)."""
    rng = np.random.default_rng(2)
    size, m = 3000, 6
    mean = np.array([1.0, -2.0, 0.5])
    cov = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, -0.3], [0.0, -0.3, 0.5]])
    factor = np.linalg.cholesky(cov)
    real_mean, real_scatter = _stats(mean + rng.normal(size=(size, m, 3)) @ factor.T)
    sim_mean, sim_scatter = draw_sample_statistics(
        rng, np.tile(mean, (size, 1)), np.tile(factor, (size, 1, 1)), np.full(size, m)
    )
    for real, sim in (
        (real_mean[:, 0], sim_mean[:, 0]),
        (np.linalg.slogdet(real_scatter)[1], np.linalg.slogdet(sim_scatter)[1]),
        (real_scatter[:, 0, 1], sim_scatter[:, 0, 1]),
    ):
        assert stats.ks_2samp(real, sim).pvalue > 0.01


@pytest.mark.parametrize("keep", [20, 5])
def test_split_statistics_matches_real_subsets(keep):
    """Subset statistics simulated from the whole set's vs real subsets (seed 3).

    The statistics compared are pivotal given the whole set's scatter ``W``:
    ``tr(W^-1 W_sub)``, the Mahalanobis shift of the subset mean and ``log det W_sub``;
    two-sample KS at 1% over 3000 sets of 30 points in 3 dimensions. ``keep=5`` goes
    through the small-subset path that rebuilds the points.
    """
    rng = np.random.default_rng(3)
    size, count, d, max_points = 3000, 30, 3, 8
    cov = np.array([[1.0, 0.8, 0.0], [0.8, 2.0, 0.3], [0.0, 0.3, 0.4]])
    X = 5.0 + rng.normal(size=(size, count, d)) @ np.linalg.cholesky(cov).T
    mean, scatter = _stats(X)
    real_mean, real_scatter = _stats(X[:, :keep])
    sub_mean, sub_scatter, points = split_statistics(
        rng,
        np.full(size, count),
        mean,
        scatter,
        np.full(size, keep),
        max_points,
        helmert_table(max_points),
    )
    if keep <= max_points:
        sub_mean, sub_scatter = _stats(points[:, :keep])
    inverse = np.linalg.inv(scatter)

    def pivots(m_sub, w_sub):
        shift = m_sub - mean
        return (
            np.einsum("sij,sji->s", inverse, w_sub),
            np.einsum("si,sij,sj->s", shift, inverse, shift),
            np.linalg.slogdet(w_sub)[1],
        )

    for real, sim in zip(pivots(real_mean, real_scatter), pivots(sub_mean, sub_scatter)):
        assert stats.ks_2samp(real, sim).pvalue > 0.01
