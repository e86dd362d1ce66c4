"""Closed forms for Gaussians and mixtures: hand values, quadrature and batch behaviour."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
from scipy.integrate import dblquad, quad
from scipy.special import ndtr
from scipy.stats import multivariate_normal, norm

import genloop.metrics.gaussian_math as gaussian_math
from genloop.metrics.gaussian_math import (
    component_std,
    covariance_logdet,
    gaussian_overlaps,
    gaussian_w2,
    mean_log_variance,
    mean_variance,
    mixture_inner_product,
    mixture_l2,
    mixture_l2_squared,
    mixture_marginal_tail_mass,
    mixture_moments,
    symmetric_psd_sqrt,
)


def random_covariances(rng, count, d):
    factors = rng.normal(size=(count, d, d))
    return factors @ np.swapaxes(factors, -1, -2) + 0.1 * np.eye(d)


# ---------------------------------------------------------------- W2


def test_w2_one_dimensional_hand_value():
    # W2^2 = (0 - 1)^2 + (sigma1 - sigma2)^2 = 1 + (1 - 2)^2 = 2.
    assert gaussian_w2([0.0], [[1.0]], [1.0], [[4.0]]) == pytest.approx(math.sqrt(2), rel=1e-12)


def test_w2_diagonal_hand_value_and_identity():
    # Commuting covariances: W2^2 = |m1 - m2|^2 + sum (sqrt a_j - sqrt b_j)^2 = 25 + 1 + 1.
    value = gaussian_w2([0, 0], np.diag([1.0, 4.0]), [3, 4], np.diag([4.0, 9.0]))
    assert value == pytest.approx(math.sqrt(27), rel=1e-12)
    cov = random_covariances(np.random.default_rng(1), 1, 3)[0]
    assert gaussian_w2([1, 2, 3], cov, [1, 2, 3], cov) == pytest.approx(0.0, abs=1e-6)


def test_w2_general_case_matches_scipy_sqrtm():
    rng = np.random.default_rng(2)
    cov1, cov2 = random_covariances(rng, 2, 3)
    mean1, mean2 = rng.normal(size=(2, 3))
    root2 = scipy.linalg.sqrtm(cov2).real
    cross = scipy.linalg.sqrtm(root2 @ cov1 @ root2).real
    expected = np.sum((mean1 - mean2) ** 2) + np.trace(cov1 + cov2 - 2 * cross)
    assert gaussian_w2(mean1, cov1, mean2, cov2) == pytest.approx(math.sqrt(expected), rel=1e-9)


def test_w2_handles_a_collapsed_singular_covariance():
    # A point mass at 0 against N(0, 1): W2 = sigma = 1.
    assert gaussian_w2([0.0], [[0.0]], [0.0], [[1.0]]) == pytest.approx(1.0, rel=1e-12)
    root = symmetric_psd_sqrt(np.array([[1.0, 1.0], [1.0, 1.0]]))  # rank one
    np.testing.assert_allclose(root @ root, [[1, 1], [1, 1]], atol=1e-12)


def test_w2_batch_equals_single_calls():
    rng = np.random.default_rng(3)
    means1, means2 = rng.normal(size=(2, 5, 3))
    covs1, covs2 = random_covariances(rng, 5, 3), random_covariances(rng, 5, 3)
    batched = gaussian_w2(means1, covs1, means2, covs2)
    assert batched.shape == (5,)
    for row in range(5):
        single = gaussian_w2(means1[row], covs1[row], means2[row], covs2[row])
        assert batched[row] == pytest.approx(single, rel=1e-12)
    # A single truth broadcasts against a batch of models.
    broadcast = gaussian_w2(means1, covs1, means2[0], covs2[0])
    assert broadcast[3] == pytest.approx(gaussian_w2(means1[3], covs1[3], means2[0], covs2[0]))


# ---------------------------------------------------------------- mixture L2

MIXTURE_1D = (np.array([0.3, 0.7]), np.array([[-1.0], [2.0]]), np.array([[[0.5]], [[1.0]]]))
GAUSSIAN_1D = (np.array([1.0]), np.array([[0.0]]), np.array([[[2.0]]]))


def mixture_pdf(weights, means, covs):
    scales = np.sqrt(covs[:, 0, 0])
    return lambda x: float(np.sum(weights * norm.pdf(x, means[:, 0], scales)))


def test_overlap_is_the_normal_density_of_the_difference():
    overlaps = gaussian_overlaps([[0.0], [1.0]], [[[1.0]], [[2.0]]], [[3.0]], [[[0.5]]])
    assert overlaps.shape == (2, 1)
    np.testing.assert_allclose(overlaps[:, 0], norm.pdf([0, 1], 3, np.sqrt([1.5, 2.5])))


def test_overlap_factorises_over_independent_dimensions():
    # Diagonal covariances: the 2-D integral is the product of two 1-D integrals.
    value = gaussian_overlaps([[0.0, 1.0]], [np.diag([1.0, 2.0])], [[2.0, -1.0]], [np.eye(2)])
    expected = norm.pdf(0, 2, math.sqrt(2)) * norm.pdf(1, -1, math.sqrt(3))
    assert value[0, 0] == pytest.approx(expected, rel=1e-12)


def test_mixture_l2_matches_quadrature_in_one_dimension():
    f, g = mixture_pdf(*MIXTURE_1D), mixture_pdf(*GAUSSIAN_1D)
    squared, _ = quad(lambda x: (f(x) - g(x)) ** 2, -np.inf, np.inf, epsabs=1e-13)
    value = mixture_l2(*MIXTURE_1D, *GAUSSIAN_1D)
    assert value == pytest.approx(math.sqrt(squared), abs=1e-6)
    inner, _ = quad(lambda x: f(x) * g(x), -np.inf, np.inf, epsabs=1e-13)
    assert mixture_inner_product(*MIXTURE_1D, *GAUSSIAN_1D) == pytest.approx(inner, abs=1e-9)


def _scipy_mixture_pdf(weights, means, covs):
    # Independent of gaussian_math: scipy's multivariate normal density, summed.
    parts = [multivariate_normal(m, c) for m, c in zip(means, covs, strict=True)]
    return lambda x, y: sum(w * p.pdf([x, y]) for w, p in zip(weights, parts, strict=True))


def test_mixture_l2_squared_matches_2d_quadrature():
    # Two fitted-looking 2-component, full-covariance mixtures in 2-D (as nature-gmm's
    # generation-t and generation-0 fits): the closed form against scipy's dblquad of
    # (f - g)^2 over a box holding all but ~1e-12 of both densities' mass.
    f = (np.array([0.45, 0.55]), np.array([[-0.6, 0.1], [0.5, -0.2]]),
         np.array([[[0.6, 0.2], [0.2, 0.8]], [[0.7, -0.1], [-0.1, 0.5]]]))
    g = (np.array([0.7, 0.3]), np.array([[0.1, 0.0], [-0.3, 0.4]]),
         np.array([[[0.05, 0.01], [0.01, 0.02]], [[0.3, 0.0], [0.0, 0.1]]]))
    pf, pg = _scipy_mixture_pdf(*f), _scipy_mixture_pdf(*g)
    squared, error = dblquad(lambda y, x: (pf(x, y) - pg(x, y)) ** 2, -7, 7, -7, 7,
                             epsabs=1e-10, epsrel=1e-8)
    assert error < 1e-7
    assert mixture_l2_squared(*f, *g) == pytest.approx(squared, rel=1e-6)
    assert mixture_l2(*f, *g) == pytest.approx(math.sqrt(squared), rel=1e-6)


def test_mixture_l2_squared_matches_monte_carlo():
    # ||f - g||^2 = E_f[f - g] - E_g[f - g]: a Monte-Carlo estimate from 400,000 draws of
    # each mixture (scipy's sampler and densities), within 5 standard errors.
    rng = np.random.default_rng(11)
    f = (np.array([0.5, 0.5]), np.array([[-1.0, 0.0], [1.0, 0.0]]), np.stack([np.eye(2)] * 2))
    g = (np.array([1.0]), np.array([[0.2, 0.1]]), np.array([[[0.5, 0.1], [0.1, 0.4]]]))

    def draw(weights, means, covs, n):
        counts = rng.multinomial(n, weights)
        return np.concatenate([multivariate_normal(m, c).rvs(k, random_state=rng)
                               for m, c, k in zip(means, covs, counts, strict=True)])

    def density(weights, means, covs, x):
        return sum(w * multivariate_normal(m, c).pdf(x)
                   for w, m, c in zip(weights, means, covs, strict=True))

    n = 400_000
    xf, xg = draw(*f, n), draw(*g, n)
    diff_f = density(*f, xf) - density(*g, xf)
    diff_g = density(*f, xg) - density(*g, xg)
    estimate = diff_f.mean() - diff_g.mean()
    se = math.sqrt(diff_f.var() / n + diff_g.var() / n)
    assert abs(float(mixture_l2_squared(*f, *g)) - estimate) < 5 * se


def test_mixture_l2_of_identical_mixtures_is_zero():
    assert mixture_l2(*MIXTURE_1D, *MIXTURE_1D) == pytest.approx(0.0, abs=1e-7)
    # Component order does not matter.
    swapped = tuple(part[::-1] for part in MIXTURE_1D)
    assert mixture_l2(*MIXTURE_1D, *swapped) == pytest.approx(0.0, abs=1e-7)


def test_mixture_l2_batch_equals_single_calls():
    rng = np.random.default_rng(4)
    weights = rng.dirichlet(np.ones(3), size=5)
    means = rng.normal(size=(5, 3, 2))
    covs = random_covariances(rng, 15, 2).reshape(5, 3, 2, 2)
    truth = (np.array([0.5, 0.5]), np.array([[0.0, 0.0], [2.0, 2.0]]), np.stack([np.eye(2)] * 2))
    batched = mixture_l2(weights, means, covs, *truth)
    assert batched.shape == (5,)
    for row in range(5):
        single = mixture_l2(weights[row], means[row], covs[row], *truth)
        assert batched[row] == pytest.approx(single, rel=1e-10)


def test_blocked_inner_product_equals_one_block(monkeypatch):
    rng = np.random.default_rng(5)
    many = (np.full(300, 1 / 300), rng.normal(size=(300, 2)), random_covariances(rng, 300, 2))
    truth = (np.array([1.0]), np.zeros((1, 2)), np.eye(2)[None])
    whole = mixture_inner_product(*many, *truth)
    monkeypatch.setattr(gaussian_math, "_BLOCK_ELEMENTS", 64)  # forces blocks of 16
    assert mixture_inner_product(*many, *truth) == pytest.approx(whole, rel=1e-12)


# ---------------------------------------------------------------- moments and tails


def test_mixture_moments_hand_value():
    mean, cov = mixture_moments([0.5, 0.5], [[-1.0], [1.0]], [[[1.0]], [[1.0]]])
    np.testing.assert_allclose(mean, [0.0], atol=1e-15)
    np.testing.assert_allclose(cov, [[2.0]])  # within 1 + between 1


def test_tail_mass_of_a_standard_normal():
    value = mixture_marginal_tail_mass([1.0], [[0.0, 1.0]], [[1.0, 4.0]], [-2.0, -1.0], [1.0, 3.0])
    # dim 0: P(Z < -2) + P(Z > 1); dim 1 (N(1, 4)): P(Z < -1) + P(Z > 1); averaged.
    expected = 0.5 * ((ndtr(-2) + ndtr(-1)) + (ndtr(-1) + ndtr(-1)))
    assert value == pytest.approx(expected, rel=1e-12)


def test_tail_mass_treats_zero_variance_as_a_point_mass():
    value = mixture_marginal_tail_mass([0.5, 0.5], [[0.0], [5.0]], [[0.0], [0.0]], [-1.0], [1.0])
    assert value == 0.5


def test_variance_summaries_hand_values():
    cov = np.array([[1.0, 0.5], [0.5, 4.0]])
    assert mean_variance(cov) == 2.5
    assert mean_log_variance(cov) == pytest.approx(0.5 * math.log(4))
    assert covariance_logdet(cov) == pytest.approx(math.log(4 - 0.25))
    assert covariance_logdet(np.zeros((2, 2))) == -np.inf
    np.testing.assert_allclose(component_std([[1.0, 4.0], [9.0, 9.0]]), [math.sqrt(2.5), 3.0])
    batch = np.stack([cov, 2 * cov])
    np.testing.assert_allclose(mean_log_variance(batch), [math.log(2), math.log(2) + math.log(2)])


def test_component_geometric_std_hand_values():
    from genloop.metrics.gaussian_math import component_geometric_std

    covs = np.array([np.diag([4.0, 1.0]), np.diag([1e-6, 1.0]), np.eye(2) * 9.0])
    # det^(1/4): (4·1)^(1/4) = sqrt(2); (1e-6)^(1/4) = 10^-1.5; 9^(2/4) = 3
    np.testing.assert_allclose(component_geometric_std(covs), [np.sqrt(2), 10**-1.5, 3.0])
    batch = np.stack([covs, covs])
    assert component_geometric_std(batch).shape == (2, 3)
