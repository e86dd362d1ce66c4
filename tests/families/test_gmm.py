"""Gaussian-mixture family: contracts (tier 1) and seeded sampling statistics (tier 2)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chisquare
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from genloop.core.errors import ConfigError
from genloop.families.gaussian import DegenerateDataError
from genloop.families.gmm import GaussianMixture

MEANS = np.array([[0.0, 0.0], [30.0, 0.0], [0.0, 30.0]])


def _three_blobs(seed=0, sizes=(250, 150, 100)):
    """Well separated blobs (30 standard deviations apart): components never overlap."""
    rng = np.random.default_rng(seed)
    scales = [np.array([[1.0, 0.5], [0.0, 0.8]]), np.eye(2) * 1.5, np.eye(2) * 0.7]
    blocks = [
        mean + rng.standard_normal((size, 2)) @ scale.T
        for mean, scale, size in zip(MEANS, scales, sizes, strict=True)
    ]
    return np.vstack(blocks)


def _nearest_component(model, rows):
    """Label of the closest component mean (exact for blobs this far apart)."""
    distances = ((rows[:, None, :] - model.means_[None, :, :]) ** 2).sum(axis=2)
    return distances.argmin(axis=1)


@pytest.fixture(scope="module")
def fitted():
    return GaussianMixture(n_components=3, random_state=0).fit(_three_blobs())


# --- tier 1: contracts ------------------------------------------------------------


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_fit_and_score_agree_with_sklearn(covariance_type):
    X = _three_blobs()
    ours = GaussianMixture(3, covariance_type=covariance_type, random_state=4).fit(X)
    theirs = SklearnGaussianMixture(3, covariance_type=covariance_type, random_state=4).fit(X)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "lower_bound_"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(theirs, name))
    assert ours.converged_ == theirs.converged_ and ours.n_iter_ == theirs.n_iter_
    np.testing.assert_array_equal(ours.score_samples(X[:20]), theirs.score_samples(X[:20]))


def test_full_covariances_expand_every_layout():
    X = _three_blobs()
    for covariance_type in ("tied", "diag", "spherical"):
        model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
        full = model.full_covariances_
        assert full.shape == (3, 2, 2)
        if covariance_type == "tied":
            np.testing.assert_array_equal(full[1], model.covariances_)
        elif covariance_type == "diag":
            np.testing.assert_array_equal(full[2], np.diag(model.covariances_[2]))
        else:
            np.testing.assert_array_equal(full[0], model.covariances_[0] * np.eye(2))


def test_same_generator_state_same_rows_different_generators_different_rows(fitted):
    # sklearn's own sample() reseeds from random_state=0 and would repeat its rows here.
    first = fitted.sample(200, np.random.default_rng(1))
    np.testing.assert_array_equal(first, fitted.sample(200, np.random.default_rng(1)))
    assert not np.array_equal(first, fitted.sample(200, np.random.default_rng(2)))
    stream = np.random.default_rng(3)
    assert not np.array_equal(fitted.sample(200, stream), fitted.sample(200, stream))
    np.testing.assert_array_equal(fitted.sample(5, 9), fitted.sample(5, 9))


def test_sample_shape_and_shuffled_rows(fitted):
    rows = fitted.sample(300, np.random.default_rng(0))
    assert rows.shape == (300, 2)
    labels = _nearest_component(fitted, rows)
    assert np.any(np.diff(labels) < 0)  # not sorted by component, unlike sklearn's sample
    assert fitted.sample(0, 0).shape == (0, 2)


def test_a_generator_random_state_seeds_the_fit():
    X = _three_blobs()
    a = GaussianMixture(3, random_state=np.random.default_rng(5)).fit(X)
    b = GaussianMixture(3, random_state=np.random.default_rng(5)).fit(X)
    np.testing.assert_array_equal(a.means_, b.means_)


def test_too_few_rows_and_collapsed_components_raise_degenerate_data_error():
    with pytest.raises(DegenerateDataError, match="n_components=3 needs at least"):
        GaussianMixture(3).fit(np.zeros((2, 2)))
    collapsed = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0]]), 10, axis=0)
    with pytest.raises(DegenerateDataError, match="increase reg_covar"):
        GaussianMixture(2, reg_covar=0.0, random_state=0).fit(collapsed)


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"n_components": 0}, "n_components"),
        ({"covariance_type": "banded"}, "covariance_type"),
        ({"tol": -1.0}, "tol"),
        ({"max_iter": 0}, "max_iter"),
        ({"n_init": 1.5}, "n_init"),
        ({"init_params": "magic"}, "init_params"),
        ({"random_state": "seed"}, "random_state"),
    ],
)
def test_bad_parameters_raise_config_error_naming_the_key(params, key):
    with pytest.raises(ConfigError, match=f"GaussianMixture: {key}="):
        GaussianMixture(**params).fit(_three_blobs())


# --- tier 2: seeded statistics ----------------------------------------------------


def test_component_proportions_match_weights(fitted):
    """Chi-square goodness of fit of component counts to weights_, 1% level (seed 42).

    Rows are labelled by the nearest mean, exact here because components are 30 standard
    deviations apart. The first 2,000 rows are tested on their own as well: a sampler
    that kept rows grouped by component would fail there.
    """
    n = 20_000
    labels = _nearest_component(fitted, fitted.sample(n, np.random.default_rng(42)))
    for part in (labels, labels[:2_000]):
        counts = np.bincount(part, minlength=3)
        assert chisquare(counts, part.size * fitted.weights_).pvalue > 0.01


def test_component_moments_match_fitted_parameters(fitted):
    """Per component, sample mean and covariance within 4 standard errors (seed 8).

    Standard errors as for one Gaussian: sqrt(S_jj / n_k) for means and
    sqrt((S_ij^2 + S_ii S_jj) / n_k) for covariance entries, n_k the component's rows.
    """
    rows = fitted.sample(30_000, np.random.default_rng(8))
    labels = _nearest_component(fitted, rows)
    for component, (mean, cov) in enumerate(
        zip(fitted.means_, fitted.full_covariances_, strict=True)
    ):
        own = rows[labels == component]
        n_k = own.shape[0]
        assert np.all(np.abs(own.mean(axis=0) - mean) < 4 * np.sqrt(np.diag(cov) / n_k))
        cov_error = np.sqrt((cov**2 + np.outer(np.diag(cov), np.diag(cov))) / n_k)
        assert np.all(np.abs(np.cov(own, rowvar=False) - cov) < 4 * cov_error)
