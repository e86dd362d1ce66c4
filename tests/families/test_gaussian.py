"""Gaussian family: exact contracts (tier 1) and seeded statistics (tier 2)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from genloop.core.errors import ConfigError, DataError
from genloop.families.gaussian import DegenerateDataError, Gaussian

# mean (1.5, 1.0); scatter [[5, 2], [2, 2]]
TINY = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 1.0]])

# --- tier 1: hand-made inputs, exact outputs ---------------------------------------


@pytest.mark.parametrize(
    ("estimator", "covariance_type", "expected"),
    [
        ("mle", "full", [[5 / 4, 2 / 4], [2 / 4, 2 / 4]]),
        ("unbiased", "full", [[5 / 3, 2 / 3], [2 / 3, 2 / 3]]),
        ("mle", "diag", [[5 / 4, 0.0], [0.0, 2 / 4]]),
        ("unbiased", "diag", [[5 / 3, 0.0], [0.0, 2 / 3]]),
        ("mle", "spherical", [[7 / 8, 0.0], [0.0, 7 / 8]]),
        ("unbiased", "spherical", [[7 / 6, 0.0], [0.0, 7 / 6]]),
    ],
)
def test_mean_and_covariance_on_a_tiny_array(estimator, covariance_type, expected):
    model = Gaussian(estimator=estimator, covariance_type=covariance_type).fit(TINY)
    np.testing.assert_allclose(model.mean_, [1.5, 1.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(model.covariance_, expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(model.cholesky_ @ model.cholesky_.T, expected, atol=1e-15)


def test_reg_covar_is_added_to_the_diagonal():
    model = Gaussian(reg_covar=0.25).fit(TINY)
    np.testing.assert_allclose(model.covariance_, [[1.5, 0.5], [0.5, 0.75]], atol=1e-15)


def test_score_samples_is_the_exact_log_density():
    model = Gaussian().fit(TINY)
    points = np.array([[0.0, 0.0], [1.5, 1.0], [-3.0, 4.0]])
    expected = multivariate_normal(model.mean_, model.covariance_).logpdf(points)
    np.testing.assert_allclose(model.score_samples(points), expected, rtol=1e-12)
    assert model.score(points) == pytest.approx(expected.mean(), rel=1e-12)


def test_one_sample_or_a_collapsed_pool_is_degenerate_and_says_what_to_do():
    with pytest.raises(DegenerateDataError, match=r"1 sample.*reg_covar") as caught:
        Gaussian().fit(np.array([[1.0, 2.0]]))
    assert isinstance(caught.value, DataError) and isinstance(caught.value, ValueError)
    with pytest.raises(DegenerateDataError, match="at least 2 samples, got 1 sample"):
        Gaussian(estimator="unbiased", reg_covar=1.0).fit(np.array([[1.0]]))
    with pytest.raises(DegenerateDataError, match="singular"):
        Gaussian().fit(np.ones((5, 2)))
    # ...and reg_covar rescues the collapsed pool.
    model = Gaussian(reg_covar=1e-6).fit(np.ones((5, 2)))
    np.testing.assert_allclose(model.covariance_, 1e-6 * np.eye(2))


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"estimator": "map"}, "estimator"),
        ({"covariance_type": "tied"}, "covariance_type"),
        ({"reg_covar": -1.0}, "reg_covar"),
        ({"reg_covar": float("nan")}, "reg_covar"),
    ],
)
def test_bad_parameters_raise_config_error_naming_the_key(params, key):
    with pytest.raises(ConfigError, match=f"Gaussian: {key}="):
        Gaussian(**params).fit(TINY)


def test_sample_shape_and_stream_determinism():
    model = Gaussian().fit(TINY)
    rows = model.sample(10, np.random.default_rng(0))
    assert rows.shape == (10, 2)
    np.testing.assert_array_equal(rows, model.sample(10, np.random.default_rng(0)))
    assert not np.array_equal(rows, model.sample(10, np.random.default_rng(1)))
    assert model.sample(0).shape == (0, 2)
    with pytest.raises(ConfigError, match="n_samples"):
        model.sample(2.5)


# --- tier 2: seeded statistics ----------------------------------------------------


def test_sample_moments_match_fitted_parameters():
    """Seed 11, 20,000 draws: every mean and covariance entry within 4 standard errors.

    Standard errors: mean_j, sqrt(S_jj / n); covariance_ij, sqrt((S_ij^2 + S_ii S_jj) / n)
    (the variance of a Gaussian sample covariance entry).
    """
    truth = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, -0.3], [0.0, -0.3, 0.5]])
    data = np.random.default_rng(10).multivariate_normal([1.0, -2.0, 0.5], truth, size=200)
    model = Gaussian().fit(data)
    n = 20_000
    rows = model.sample(n, np.random.default_rng(11))
    cov = model.covariance_
    mean_error = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(rows.mean(axis=0) - model.mean_) < 4 * mean_error)
    cov_error = np.sqrt((cov**2 + np.outer(np.diag(cov), np.diag(cov))) / n)
    assert np.all(np.abs(np.cov(rows, rowvar=False) - cov) < 4 * cov_error)


@pytest.mark.parametrize(("estimator", "expected_ratio"), [("mle", 4 / 5), ("unbiased", 1.0)])
def test_variance_estimator_bias(estimator, expected_ratio):
    """E[sigma_hat^2] = (n-1)/n sigma^2 for MLE and sigma^2 for unbiased (n=5).

    4,000 fits on fresh N(0, 1) pools of 5 rows (seed 5). The MLE variance has standard
    deviation sqrt(2 (n-1)) / n = 0.566, so the mean over 4,000 fits has standard error
    0.0089; the tolerance is 4 standard errors (0.036), while the two expectations differ
    by 0.2. Verified to fail with the divisors swapped.
    """
    n, fits = 5, 4_000
    pools = np.random.default_rng(5).standard_normal((fits, n, 1))
    variances = np.array(
        [Gaussian(estimator=estimator).fit(pool).covariance_[0, 0] for pool in pools]
    )
    standard_error = np.sqrt(2 * (n - 1)) / n * expected_ratio / np.sqrt(fits)
    assert abs(variances.mean() - expected_ratio) < 4 * standard_error


def test_recursive_mle_refitting_shrinks_variance_geometrically():
    """Fit -> sample -> refit for 5 generations of M=10 rows: E[sigma_5^2] = 0.9^5 sigma_0^2.

    1,000 independent chains (spawned from SeedSequence(99)). Each generation multiplies
    the variance by chi2_{M-1} / M, so E[prod^2] = 0.99^5 and the standard deviation of
    sigma_5^2 is sqrt(0.99^5 - 0.81^5) = 0.776, giving a standard error of 0.0245; the
    tolerance is 4 standard errors (0.098) around 0.9^5 = 0.590.
    """
    generations, m, chains = 5, 10, 1_000
    final = np.empty(chains)
    streams = np.random.SeedSequence(99).spawn(chains)
    for chain, stream in enumerate(streams):
        rng = np.random.default_rng(stream)
        model = Gaussian().fit(rng.standard_normal((m, 1)))
        start = model.covariance_[0, 0]
        for _ in range(generations):
            model = Gaussian().fit(model.sample(m, rng))
        final[chain] = model.covariance_[0, 0] / start
    # The ratio to generation 0's variance removes the first fit's own noise.
    assert abs(final.mean() - 0.9**generations) < 4 * 0.776 / np.sqrt(chains)
