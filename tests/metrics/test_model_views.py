"""Reading Gaussian and mixture parameters out of models (incl. plain scikit-learn ones)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.mixture import GaussianMixture

from genloop.metrics.model_views import (
    model_gaussian,
    model_mixture,
    model_moments,
    reference_mean,
    truth_mixture,
)


def mixture_log_density(weights, means, covariances, X):
    densities = [
        weight * multivariate_normal(mean, covariance).pdf(X)
        for weight, mean, covariance in zip(weights, means, covariances, strict=True)
    ]
    return np.log(np.sum(densities, axis=0))


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_sklearn_mixture_expands_to_the_same_density(covariance_type):
    X = np.random.default_rng(0).normal(size=(200, 2)) * [1.0, 3.0]
    model = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(X)
    weights, means, covariances = model_mixture(model)
    assert covariances.shape == (2, 2, 2)
    points = X[:10]
    np.testing.assert_allclose(
        mixture_log_density(weights, means, covariances, points),
        model.score_samples(points),
        rtol=1e-8,
    )


def test_gaussian_kde_is_an_equal_weight_mixture_with_exact_moments():
    rows = np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 6.0]])
    kde = SimpleNamespace(X_=rows, bandwidth_=0.5, kernel="gaussian")
    weights, means, covariances = model_mixture(kde)
    np.testing.assert_allclose(weights, [1 / 3] * 3)
    np.testing.assert_array_equal(means, rows)
    assert covariances.shape == (3, 2, 2) and covariances.strides[0] == 0  # a view, no copy
    mean, covariance, exact = model_moments(kde, np.random.default_rng(0), 10)
    assert exact
    np.testing.assert_allclose(mean, rows.mean(axis=0))
    np.testing.assert_allclose(covariance, np.cov(rows, rowvar=False, ddof=0) + 0.25 * np.eye(2))
    tophat = SimpleNamespace(X_=rows, bandwidth_=0.5, kernel="tophat")
    assert model_mixture(tophat) is None


def test_gaussian_with_a_variance_vector_becomes_diagonal():
    mean, covariance = model_gaussian(SimpleNamespace(mean_=[0.0, 1.0], covariance_=[1.0, 4.0]))
    np.testing.assert_array_equal(covariance, np.diag([1.0, 4.0]))
    weights, means, covariances = model_mixture(SimpleNamespace(mean_=[2.0], covariance_=3.0))
    assert weights.tolist() == [1.0] and means.tolist() == [[2.0]]
    assert covariances.tolist() == [[[3.0]]]


def test_truth_views_and_reference_mean():
    truth = (np.array([0.25, 0.75]), np.array([[0.0], [4.0]]), np.ones((2, 1, 1)))
    source = SimpleNamespace(mean=None, covariance=None, mixture=truth)
    weights, means, _ = truth_mixture(source)
    assert weights.tolist() == [0.25, 0.75] and means.shape == (2, 1)
    context = SimpleNamespace(source=source, original=np.zeros((3, 1)))
    np.testing.assert_allclose(reference_mean(context), [3.0])
    unknown = SimpleNamespace(source=SimpleNamespace(), original=np.array([[1.0], [3.0]]))
    assert truth_mixture(unknown.source) is None
    np.testing.assert_allclose(reference_mean(unknown), [2.0])
