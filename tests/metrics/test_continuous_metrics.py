"""Continuous metrics through MetricContext, with hand-made stand-in models."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from scipy.special import ndtr
from scipy.stats import multivariate_normal

from genloop.core.errors import ConfigError
from genloop.core.registry import METRICS, resolve
from genloop.metrics.base import Metric
from genloop.metrics.continuous import (
    ComponentStd,
    CovarianceLogDet,
    HeldoutLogLik,
    LogVariance,
    MeanShift,
    MixtureL2,
    MixtureL2SquaredToStart,
    TailMass,
    Variance,
    Wasserstein2,
    empirical_tail_mass,
    empirical_w2,
)
from genloop.metrics.gaussian_math import mixture_l2


class GaussianModel:
    """Stand-in for the Gaussian family: mean_, covariance_, score_samples, sample."""

    def __init__(self, mean, covariance):
        self.mean_ = np.atleast_1d(np.asarray(mean, dtype=float))
        self.covariance_ = np.atleast_2d(np.asarray(covariance, dtype=float))

    def score_samples(self, X):
        return multivariate_normal(self.mean_, self.covariance_).logpdf(X).reshape(len(X))

    def sample(self, n_samples, random_state):
        return random_state.multivariate_normal(self.mean_, self.covariance_, size=n_samples)


class SampleOnlyModel:
    """A model with no readable parameters: metrics must fall back to Monte Carlo."""

    def __init__(self, mean, covariance):
        self._inner = GaussianModel(mean, covariance)

    def sample(self, n_samples, random_state):
        return self._inner.sample(n_samples, random_state)


class MixtureModel:
    """Stand-in for the GMM family: weights_, means_, full_covariances_."""

    def __init__(self, weights, means, covariances):
        self.weights_ = np.asarray(weights, dtype=float)
        self.means_ = np.asarray(means, dtype=float)
        self.full_covariances_ = np.asarray(covariances, dtype=float)


def test_every_registered_metric_resolves_to_a_metric_with_its_name():
    for name in METRICS:
        metric_class = resolve("metric", name)
        assert issubclass(metric_class, Metric)
        assert metric_class.name == name


def test_moment_metrics_on_a_gaussian_model(make_context, truth_source):
    model = GaussianModel([3.0, 4.0], [[1.0, 0.5], [0.5, 4.0]])
    initial = GaussianModel([0.0, 0.0], np.diag([2.0, 8.0]))
    source = truth_source(mean=np.zeros(2), covariance=np.eye(2))
    context = make_context(model, source=source, initial_model=initial)
    assert MeanShift().measure(context) == {"mean_shift": pytest.approx(5.0)}
    assert Variance().measure(context) == {"variance": pytest.approx(2.5)}
    values = LogVariance().measure(context)
    assert values["log_variance"] == pytest.approx(math.log(2))  # mean of log 1, log 4
    assert values["log_variance_change"] == pytest.approx(math.log(2) - math.log(4))
    assert values["variance_ratio"] == pytest.approx(0.5)
    logdet = CovarianceLogDet().measure(context)["covariance_logdet"]
    assert logdet == pytest.approx(math.log(3.75))


def test_mean_shift_falls_back_to_the_original_data(make_context):
    original = np.array([[0.0, 0.0], [2.0, 0.0]])  # mean (1, 0)
    context = make_context(GaussianModel([1.0, 3.0], np.eye(2)), original=original)
    assert MeanShift().measure(context) == {"mean_shift": pytest.approx(3.0)}


def test_mixture_model_moments_are_exact(make_context, truth_source):
    model = MixtureModel([0.5, 0.5], [[-1.0], [1.0]], [[[1.0]], [[1.0]]])
    context = make_context(model, source=truth_source(mean=[0.0], covariance=[[1.0]]))
    assert Variance().measure(context) == {"variance": pytest.approx(2.0)}
    assert MeanShift().measure(context) == {"mean_shift": pytest.approx(0.0, abs=1e-15)}


def test_monte_carlo_moments_for_models_without_parameters(make_context):
    """20,000 draws (seed 0): the variance 4 has standard error 4 * sqrt(2 / 20000) = 0.04."""
    context = make_context(SampleOnlyModel([0.0], [[4.0]]), original=np.zeros((2, 1)))
    assert Variance().measure(context)["variance"] == pytest.approx(4.0, abs=4 * 0.04)


def test_w2_closed_form_between_gaussians(make_context, truth_source):
    source = truth_source(mean=np.array([1.0]), covariance=np.array([[4.0]]))
    context = make_context(GaussianModel([0.0], [[1.0]]), source=source)
    assert Wasserstein2().measure(context) == {"w2": pytest.approx(math.sqrt(2)), "w2_exact": 1.0}


def test_w2_empirical_path_between_samples_of_one_distribution(make_context):
    """Model and holdout are both N(0, 1) in 1-D, 1,000 points each (seeds 0 and 1).

    Exact OT between two such samples is about 0.05-0.1; a shifted model is about 1.
    """
    holdout = np.random.default_rng(1).normal(size=(1000, 1))
    same = make_context(SampleOnlyModel([0.0], [[1.0]]), holdout=holdout)
    values = Wasserstein2().measure(same)
    assert values["w2_exact"] == 0.0
    assert values["w2"] < 0.15
    shifted = make_context(SampleOnlyModel([1.0], [[1.0]]), holdout=holdout)
    assert Wasserstein2().measure(shifted)["w2"] == pytest.approx(1.0, abs=0.15)


def test_w2_subsamples_the_reference_to_max_points(make_context):
    holdout = np.random.default_rng(1).normal(size=(500, 2))
    context = make_context(SampleOnlyModel([0.0, 0.0], np.eye(2)), holdout=holdout)
    assert Wasserstein2(max_points=50).measure(context)["w2_exact"] == 0.0


def test_empirical_w2_is_sorted_matching_in_one_dimension(monkeypatch):
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(200, 1)), rng.normal(1.0, 2.0, size=(200, 1))
    expected = math.sqrt(np.mean((np.sort(x[:, 0]) - np.sort(y[:, 0])) ** 2))
    assert empirical_w2(x, y) == pytest.approx(expected, rel=1e-12)
    # Unequal sizes go through POT; duplicating every point leaves the measure unchanged.
    assert empirical_w2(np.repeat(x, 2, axis=0), y) == pytest.approx(expected, rel=1e-9)
    monkeypatch.setitem(sys.modules, "ot", None)  # POT missing
    with pytest.raises(ConfigError, match="POT"):
        empirical_w2(np.repeat(x, 2, axis=0), y)


def test_tail_mass_exact_for_a_gaussian_model(make_context):
    original = np.random.default_rng(0).normal(size=(1000, 1))
    lower, upper = np.quantile(original[:, 0], [0.01, 0.99])
    context = make_context(GaussianModel([0.0], [[1.0]]), original=original)
    values = TailMass().measure(context)
    expected = ndtr(lower) + ndtr(-upper)
    assert values["tail_mass"] == pytest.approx(expected, rel=1e-12)
    assert values["tail_mass_ratio"] == pytest.approx(expected / 0.02, rel=1e-12)


def test_tail_mass_monte_carlo_agrees_with_exact(make_context):
    """20,000 draws (seed 0): the binomial standard error of a 0.02 mass is 0.001; 5 SE."""
    original = np.random.default_rng(0).normal(size=(1000, 2))
    exact = TailMass().measure(make_context(GaussianModel([0, 0], np.eye(2)), original=original))
    model = SampleOnlyModel([0.0, 0.0], np.eye(2))
    estimate = TailMass().measure(make_context(model, original=original))
    assert estimate["tail_mass"] == pytest.approx(exact["tail_mass"], abs=0.005)


def test_empirical_tail_mass_counts_rows_outside():
    samples = np.array([[-2.0, 0.0], [0.0, 0.0], [3.0, 0.0], [0.0, 5.0]])
    assert empirical_tail_mass(samples, [-1.0, -1.0], [1.0, 1.0]) == pytest.approx(3 / 8)


def test_heldout_loglik_is_the_mean_score(make_context):
    holdout = np.array([[0.0], [1.0], [-2.0]])
    model = GaussianModel([0.0], [[1.0]])
    expected = np.mean(-0.5 * holdout[:, 0] ** 2 - 0.5 * math.log(2 * math.pi))
    values = HeldoutLogLik().measure(make_context(model, holdout=holdout))
    assert values == {"heldout_loglik": pytest.approx(expected)}
    assert HeldoutLogLik().measure(make_context(model)) == {}


def test_mixture_l2_metric(make_context, truth_source):
    truth = (np.array([0.3, 0.7]), np.array([[-1.0], [2.0]]), np.array([[[0.5]], [[1.0]]]))
    model = MixtureModel(*truth)
    assert MixtureL2().measure(make_context(model, source=truth_source(mixture=truth))) == {
        "gmm_l2": pytest.approx(0.0, abs=1e-7)
    }
    # A Gaussian model is a one-component mixture; a Gaussian truth is one too.
    gaussian = GaussianModel([0.0], [[2.0]])
    value = MixtureL2().measure(make_context(gaussian, source=truth_source(mixture=truth)))
    expected = mixture_l2(np.ones(1), np.zeros((1, 1)), np.full((1, 1, 1), 2.0), *truth)
    assert value == {"gmm_l2": pytest.approx(float(expected))}
    assert MixtureL2().measure(make_context(gaussian)) == {}  # truth unknown
    opaque = make_context(SampleOnlyModel([0.0], [[1.0]]), source=truth_source(mixture=truth))
    assert MixtureL2().measure(opaque) == {}


def test_mixture_l2_squared_to_start_metric(make_context, truth_source):
    # Measured from generation 0's model, not from the truth, and not square-rooted.
    initial = (np.array([0.3, 0.7]), np.array([[-1.0], [2.0]]), np.array([[[0.5]], [[1.0]]]))
    model = MixtureModel(*initial)
    far_truth = truth_source(mixture=(np.ones(1), np.full((1, 1), 9.0), np.ones((1, 1, 1))))
    metric = MixtureL2SquaredToStart()
    same = metric.measure(make_context(model, source=far_truth, initial_model=model))
    assert same == {"gmm_l2sq_gen0": pytest.approx(0.0, abs=1e-12)}
    gaussian = GaussianModel([0.0], [[2.0]])
    value = metric.measure(make_context(gaussian, source=far_truth, initial_model=model))
    expected = mixture_l2(np.ones(1), np.zeros((1, 1)), np.full((1, 1, 1), 2.0), *initial) ** 2
    assert value == {"gmm_l2sq_gen0": pytest.approx(float(expected), rel=1e-12)}
    assert metric.measure(make_context(gaussian)) == {}  # no generation-0 model
    opaque = SampleOnlyModel([0.0], [[1.0]])
    assert metric.measure(make_context(opaque, initial_model=model)) == {}


def test_component_std(make_context):
    model = MixtureModel([0.5, 0.5], [[0, 0], [1, 1]], [np.diag([1.0, 4.0]), np.diag([9.0, 9.0])])
    values = ComponentStd().measure(make_context(model))
    assert values == {
        "component_std": pytest.approx(0.5 * (math.sqrt(2.5) + 3.0)),
        "component_std_min": pytest.approx(math.sqrt(2.5)),
        "component_std_max": pytest.approx(3.0),
        # det^(1/4): (1·4)^(1/4) = sqrt(2) and (9·9)^(1/4) = 3; median of two = their mean
        "component_std_geometric": pytest.approx(0.5 * (math.sqrt(2) + 3.0)),
    }
    single = ComponentStd().measure(make_context(GaussianModel([0.0], [[4.0]])))
    assert single["component_std"] == pytest.approx(2.0)
    assert ComponentStd().measure(make_context(SampleOnlyModel([0.0], [[1.0]]))) == {}


@pytest.mark.parametrize(
    "build, key",
    [
        (lambda: TailMass(low=0.5, high=0.2), "tail_mass"),
        (lambda: TailMass(low="a"), "tail_mass.low"),
        (lambda: Wasserstein2(max_points=1), "w2.max_points"),
        (lambda: Variance(n_samples=1.5), "variance.n_samples"),
    ],
)
def test_bad_parameters_raise_config_errors(build, key):
    with pytest.raises(ConfigError, match=key):
        build()
