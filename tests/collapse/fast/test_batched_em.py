"""Batched EM against scikit-learn's GaussianMixture, and batched sampling.

Parity tests start both from the same parameters (``weights_init``, ``means_init``,
``precisions_init``) or the same k-means labels (sklearn's KMeans with the same
``random_state``), and require the same iteration count and convergence flag, the lower
bound within 1e-6 relative and parameters within 1e-8 absolute (in practice they agree
to ~1e-14).
"""

import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from genloop.collapse.fast.batched_em import BatchedGaussianMixture, sample_mixtures
from genloop.collapse.fast.batched_kmeans import batched_kmeans, kmeans_plusplus
from genloop.collapse.fast.threads import limited_threads
from genloop.core.errors import ConfigError, DataError


@pytest.fixture(autouse=True)
def _single_threaded_blas():
    """sklearn on 2x2 matrices is ~20x slower with threaded BLAS on small machines."""
    with limited_threads(1):
        yield


SEEDS, N, D, K = 5, 240, 2, 3


def _data(seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[-3.0, 0.0], [0.0, 2.0], [3.0, -1.0]])
    labels = rng.integers(K, size=(SEEDS, N))
    scale = rng.uniform(0.3, 1.5, size=(SEEDS, 1, 1))
    return 10.0 + centres[labels] + scale * rng.normal(size=(SEEDS, N, D))


def _initial(X, covariance_type):
    weights = np.full((SEEDS, K), 1.0 / K)
    means = X[:, [0, 1, 2]] + 0.1
    shape = {"full": (SEEDS, K, D, D), "diag": (SEEDS, K, D), "spherical": (SEEDS, K)}
    if covariance_type == "full":
        precisions = np.broadcast_to(np.eye(D) * 0.5, shape["full"]).copy()
    else:
        precisions = np.full(shape[covariance_type], 0.5)
    return weights, means, precisions


def _assert_same_fit(batched, s, reference):
    assert batched.n_iter_[s] == reference.n_iter_
    assert batched.converged_[s] == reference.converged_
    assert abs(batched.lower_bound_[s] - reference.lower_bound_) <= 1e-6 * abs(
        reference.lower_bound_
    )
    for ours, theirs in (
        (batched.weights_[s], reference.weights_),
        (batched.means_[s], reference.means_),
        (batched.covariances_[s], reference.covariances_),
        (batched.precisions_cholesky_[s], reference.precisions_cholesky_),
    ):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-8)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_matches_sklearn_from_the_same_initial_parameters(covariance_type):
    X = _data()
    weights, means, precisions = _initial(X, covariance_type)
    options = dict(covariance_type=covariance_type, tol=1e-6, max_iter=500, reg_covar=1e-4)
    batched = BatchedGaussianMixture(K, **options).fit(
        X, weights_init=weights, means_init=means, precisions_init=precisions
    )
    scores = batched.score_samples(X)
    for s in range(SEEDS):
        reference = GaussianMixture(
            K,
            weights_init=weights[s],
            means_init=means[s],
            precisions_init=precisions[s],
            **options,
        ).fit(X[s])
        _assert_same_fit(batched, s, reference)
        np.testing.assert_allclose(scores[s], reference.score_samples(X[s]), rtol=1e-9)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_matches_sklearn_with_the_same_kmeans_initialisation(covariance_type):
    X = _data(1)
    batched = BatchedGaussianMixture(
        K, covariance_type=covariance_type, init_params="sklearn-kmeans"
    ).fit(X, random_state=np.arange(SEEDS) + 7)
    for s in range(SEEDS):
        reference = GaussianMixture(K, covariance_type=covariance_type, random_state=s + 7)
        _assert_same_fit(batched, s, reference.fit(X[s]))


def test_converged_seeds_are_frozen_and_seeds_do_not_interact():
    """Each seed's fit in the batch equals its fit alone (different iteration counts)."""
    X = _data(2)
    weights, means, precisions = _initial(X, "full")
    batched = BatchedGaussianMixture(K, tol=1e-8, max_iter=300).fit(
        X, weights_init=weights, means_init=means, precisions_init=precisions
    )
    assert len(set(batched.n_iter_.tolist())) > 1
    for s in range(SEEDS):
        alone = BatchedGaussianMixture(K, tol=1e-8, max_iter=300).fit(
            X[s : s + 1],
            weights_init=weights[s : s + 1],
            means_init=means[s : s + 1],
            precisions_init=precisions[s : s + 1],
        )
        np.testing.assert_allclose(alone.means_[0], batched.means_[s], atol=1e-10)
        assert alone.n_iter_[0] == batched.n_iter_[s]


def test_em_never_lowers_the_lower_bound():
    X = _data(3)
    weights, means, precisions = _initial(X, "full")
    bounds = [
        BatchedGaussianMixture(K, tol=0.0, max_iter=iterations)
        .fit(X, weights_init=weights, means_init=means, precisions_init=precisions)
        .lower_bound_
        for iterations in range(1, 8)
    ]
    assert np.all(np.diff(np.stack(bounds), axis=0) >= -1e-12)


def test_singular_seed_is_flagged_and_the_others_continue():
    X = _data(4)[:2, :40]
    X[1] = np.where(np.arange(40)[:, None] < 20, 0.0, 1.0)  # two points, repeated
    means = np.stack([X[0, :2], [[0.0, 0.0], [1.0, 1.0]]])
    batched = BatchedGaussianMixture(2, reg_covar=0.0).fit(
        X,
        weights_init=np.full((2, 2), 0.5),
        means_init=means,
        precisions_init=np.broadcast_to(np.eye(2), (2, 2, 2, 2)),
    )
    assert batched.failed_.tolist() == [False, True]
    assert batched.converged_[0] and np.all(np.isfinite(batched.covariances_[1]))


def test_batched_kmeans_recovers_separated_clusters():
    rng = np.random.default_rng(5)
    centres = np.array([[-10.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    truth = rng.integers(3, size=(20, 150))
    X = centres[truth] + rng.normal(size=(20, 150, 2))
    labels, found, n_iter = batched_kmeans(X, 3, rng)
    for s in range(20):
        # Same partition up to a relabelling: every true cluster maps to one label.
        pairs = set(zip(truth[s].tolist(), labels[s].tolist()))
        assert len(pairs) == 3
    assert np.all(n_iter >= 1)
    indices = kmeans_plusplus(X, 3, rng)
    assert all(len(set(row)) == 3 for row in indices.tolist())


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_sample_mixtures_moments(covariance_type):
    """Label frequencies (chi-square at 1%) and component moments of 40,000 draws (seed 6)."""
    rng = np.random.default_rng(6)
    weights = np.array([[0.2, 0.8], [0.5, 0.5]])
    means = np.array([[[0.0, 0.0], [5.0, 5.0]], [[-1.0, 2.0], [3.0, 3.0]]])
    full = np.array([[[1.0, 0.5], [0.5, 2.0]], [[0.3, 0.0], [0.0, 0.3]]])
    covariances = {
        "full": np.stack([full, full[::-1]]),
        "diag": np.array([[[1.0, 2.0], [0.3, 0.3]], [[0.5, 1.0], [2.0, 0.2]]]),
        "spherical": np.array([[1.0, 0.3], [2.0, 0.5]]),
    }[covariance_type]
    X, labels = sample_mixtures(rng, weights, means, covariances, covariance_type, 40_000)
    assert X.shape == (2, 40_000, 2)
    for s in range(2):
        assert (
            stats.chisquare(np.bincount(labels[s], minlength=2), 40_000 * weights[s]).pvalue > 0.01
        )
        for k in range(2):
            points = X[s, labels[s] == k]
            expected = {
                "full": covariances[s, k],
                "diag": np.diag(covariances[s, k]) if covariance_type == "diag" else None,
                "spherical": np.eye(2) * covariances[s, k]
                if covariance_type == "spherical"
                else None,
            }[covariance_type]
            np.testing.assert_allclose(points.mean(axis=0), means[s, k], atol=0.05)
            np.testing.assert_allclose(np.cov(points.T), expected, atol=0.08)


def test_fit_then_sample_is_a_generation_of_the_nature_protocol():
    X = _data(7)
    model = BatchedGaussianMixture(2).fit(X, random_state=np.random.default_rng(0))
    nxt, _ = model.sample(N, np.random.default_rng(1))
    assert nxt.shape == X.shape and np.all(np.isfinite(nxt))
    assert np.all(model.converged_)


def test_bad_parameters_raise_one_line_errors():
    with pytest.raises(ConfigError, match="covariance_type"):
        BatchedGaussianMixture(2, covariance_type="tied")
    with pytest.raises(ConfigError, match="n_components"):
        BatchedGaussianMixture(0)
    with pytest.raises(DataError, match=r"shape \(S, N, d\)"):
        BatchedGaussianMixture(2).fit(np.zeros((10, 2)))
    with pytest.raises(DataError, match="NaN"):
        BatchedGaussianMixture(2).fit(np.full((1, 10, 2), np.nan))


def test_unconverged_fits_match_sklearn():
    """sklearn's non-convergence (a ConvergenceWarning) is our converged_ == False."""
    X = _data(8)
    weights, means, precisions = _initial(X, "full")
    batched = BatchedGaussianMixture(K, max_iter=2, tol=1e-12).fit(
        X, weights_init=weights, means_init=means, precisions_init=precisions
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = GaussianMixture(
            K,
            max_iter=2,
            tol=1e-12,
            weights_init=weights[0],
            means_init=means[0],
            precisions_init=precisions[0],
        ).fit(X[0])
    _assert_same_fit(batched, 0, reference)
    assert not batched.converged_.any()
