"""Tier 1: ``measure_batch`` on stacked parameters equals ``measure`` per fitted model.

This is the contract that keeps the fast engines and the sample-level loop honest: for
every metric with a batched form, real fitted families of a few seeds are measured one
by one and as one batch, and the values must agree to 1e-10 (relative for large values).
"""

from __future__ import annotations

import numpy as np
import pytest

from genloop.collapse.fast.batched_gmm import full_covariances
from genloop.data.synthetic import GaussianSource, MixtureSource, ZipfSource
from genloop.families.categorical import Categorical
from genloop.families.gaussian import Gaussian
from genloop.families.gmm import GaussianMixture
from genloop.metrics import continuous, discrete
from genloop.metrics.base import BatchMetricContext, MetricContext

SEEDS = 4


def compare(metric, singles, batch):
    """measure() per seed vs measure_batch() on the stack: same keys, equal values."""
    batched = metric.measure_batch(batch)
    for s, context in enumerate(singles):
        single = metric.measure(context)
        assert set(single) == set(batched), (metric.name, single.keys(), batched.keys())
        for key, value in single.items():
            np.testing.assert_allclose(
                batched[key][s],
                value,
                rtol=1e-10,
                atol=1e-10,
                err_msg=f"{metric.name}.{key} seed {s}",
            )


def contexts(models, initial, source, originals, holdouts, pools):
    rng = np.random.default_rng(0)
    return [
        MetricContext(
            generation=3,
            model=m,
            pool=p,
            initial_model=i,
            source=source,
            original=o,
            holdout=h,
            rng=rng,
        )
        for m, i, o, h, p in zip(models, initial, originals, holdouts, pools, strict=True)
    ]


# --- categorical -----------------------------------------------------------------------


@pytest.mark.parametrize("with_truth", [True, False])
@pytest.mark.parametrize("smoothing", [0.0, 0.5])
def test_discrete_metrics_batch_equal_single(with_truth, smoothing):
    source = ZipfSource(k=6, exponent=1.0)
    rng = np.random.default_rng(1)
    originals = [source.draw(30, rng) for _ in range(SEEDS)]
    # Pools with lost states and one absorbed seed, so every branch is exercised.
    pools = [rng.choice(3, size=(20, 1)), np.zeros((20, 1), int), originals[2], originals[3][:5]]
    models = [Categorical(n_states=6, smoothing=smoothing).fit(p) for p in pools]
    initial = [Categorical(n_states=6, smoothing=smoothing).fit(o) for o in originals]
    if not with_truth:
        source.probabilities = None  # reference: each seed's empirical frequencies
    singles = contexts(models, initial, source, originals, [np.zeros((0, 1))] * SEEDS, pools)
    batch = BatchMetricContext(
        generation=3,
        form="categorical",
        source=source,
        original=np.stack(originals),
        holdout=np.zeros((SEEDS, 0, 1)),
        rng=rng,
        probabilities=np.stack([m.probabilities_ for m in models]),
        initial_probabilities=np.stack([m.probabilities_ for m in initial]),
    )
    for metric in (
        discrete.SupportSize(),
        discrete.StatesLost(),
        discrete.Entropy(),
        discrete.TotalVariation(),
        discrete.KLDivergence(),
        discrete.TailMassRetained(0.3),
        discrete.Absorbed(),
    ):
        assert metric.batch_unsupported("categorical", source) is None
        compare(metric, singles, batch)


# --- Gaussian and mixtures ----------------------------------------------------------------


def vector_setup(form, dim, covariance_type="full"):
    if form == "gaussian":
        source = GaussianSource(dim=dim, mean=0.5, variance=2.0)
    else:
        source = MixtureSource(weights=[0.3, 0.7], means=np.eye(2, dim) * 3, stds=1.0)
    rng = np.random.default_rng(2)
    originals = [source.draw(60, rng) for _ in range(SEEDS)]
    holdouts = [source.draw(50, rng) for _ in range(SEEDS)]
    # Later-generation pools: shrunk and shifted copies of the data.
    pools = [o * (0.3 + 0.2 * s) + 0.1 * s for s, o in enumerate(originals)]

    def fit(X, seed):
        if form == "gaussian":
            return Gaussian(estimator="unbiased").fit(X)
        return GaussianMixture(2, covariance_type=covariance_type, random_state=seed).fit(X)

    models = [fit(p, s) for s, p in enumerate(pools)]
    initial = [fit(o, s) for s, o in enumerate(originals)]

    def params(ms):
        if form == "gaussian":
            return (
                np.ones((SEEDS, 1)),
                np.stack([m.mean_ for m in ms])[:, None],
                np.stack([m.covariance_ for m in ms])[:, None],
            )
        covariances = np.stack([m.covariances_ for m in ms])
        return (
            np.stack([m.weights_ for m in ms]),
            np.stack([m.means_ for m in ms]),
            full_covariances(covariances, covariance_type, dim),
        )

    w, m, c = params(models)
    w0, m0, c0 = params(initial)
    batch = BatchMetricContext(
        generation=3,
        form=form,
        source=source,
        original=np.stack(originals),
        holdout=np.stack(holdouts),
        rng=rng,
        weights=w,
        means=m,
        covariances=c,
        initial_weights=w0,
        initial_means=m0,
        initial_covariances=c0,
    )
    return source, contexts(models, initial, source, originals, holdouts, pools), batch


CONTINUOUS = (
    continuous.MeanShift(),
    continuous.Variance(),
    continuous.LogVariance(),
    continuous.CovarianceLogDet(),
    continuous.TailMass(0.05, 0.9),
    continuous.HeldoutLogLik(),
    continuous.MixtureL2(),
    continuous.MixtureL2SquaredToStart(),
    continuous.ComponentStd(),
)


@pytest.mark.parametrize("dim", [1, 3])
def test_gaussian_metrics_batch_equal_single(dim):
    source, singles, batch = vector_setup("gaussian", dim)
    for metric in (*CONTINUOUS, continuous.Wasserstein2()):
        assert metric.batch_unsupported("gaussian", source) is None
        compare(metric, singles, batch)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_mixture_metrics_batch_equal_single(covariance_type):
    source, singles, batch = vector_setup("mixture", 2, covariance_type)
    for metric in CONTINUOUS:
        assert metric.batch_unsupported("mixture", source) is None
        compare(metric, singles, batch)


def test_metrics_without_exact_parameter_form_say_why():
    gaussian_truth = GaussianSource(dim=1)
    mixture_truth = MixtureSource()
    assert "w2" in continuous.Wasserstein2().batch_unsupported("mixture", gaussian_truth)
    assert "w2" in continuous.Wasserstein2().batch_unsupported("gaussian", mixture_truth)
    assert "categorical" in continuous.Variance().batch_unsupported("categorical", None)
    assert "gaussian" in discrete.Entropy().batch_unsupported("gaussian", None)
