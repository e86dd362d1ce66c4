"""Kernel-density family: contracts (tier 1) and seeded sampling statistics (tier 2)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import KernelDensity as SklearnKernelDensity

from genloop.core.errors import ConfigError
from genloop.families.kde import KernelDensity

DATA = np.random.default_rng(0).standard_normal((300, 2)) * [1.0, 2.0] + [5.0, -1.0]

# --- tier 1: contracts ------------------------------------------------------------


@pytest.mark.parametrize("kernel", ["gaussian", "tophat"])
def test_score_samples_agree_with_sklearn(kernel):
    ours = KernelDensity(bandwidth=0.7, kernel=kernel).fit(DATA)
    theirs = SklearnKernelDensity(bandwidth=0.7, kernel=kernel).fit(DATA)
    np.testing.assert_array_equal(ours.score_samples(DATA[:25]), theirs.score_samples(DATA[:25]))
    assert ours.bandwidth_ == 0.7


def test_bandwidth_rules_follow_sklearn():
    n, d = DATA.shape
    scott = KernelDensity(bandwidth="scott").fit(DATA)
    silverman = KernelDensity(bandwidth="silverman").fit(DATA)
    assert scott.bandwidth_ == pytest.approx(n ** (-1 / (d + 4)), rel=1e-15)
    assert silverman.bandwidth_ == pytest.approx((n * (d + 2) / 4) ** (-1 / (d + 4)), rel=1e-15)


def test_training_rows_are_copied():
    rows = DATA.copy()
    model = KernelDensity().fit(rows)
    rows[:] = 0.0
    np.testing.assert_array_equal(model.X_, DATA)


def test_tophat_samples_stay_within_one_bandwidth_of_a_training_row():
    model = KernelDensity(bandwidth=0.3, kernel="tophat").fit(DATA)
    rows = model.sample(500, np.random.default_rng(3))
    distances = np.sqrt(((rows[:, None, :] - DATA[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    assert np.all(distances <= 0.3 + 1e-12)


def test_sample_shape_and_stream_determinism():
    model = KernelDensity(bandwidth=0.5).fit(DATA)
    rows = model.sample(40, np.random.default_rng(1))
    assert rows.shape == (40, 2)
    np.testing.assert_array_equal(rows, model.sample(40, np.random.default_rng(1)))
    assert not np.array_equal(rows, model.sample(40, np.random.default_rng(2)))
    assert model.sample(0).shape == (0, 2)


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"kernel": "epanechnikov"}, "kernel"),
        ({"bandwidth": 0.0}, "bandwidth"),
        ({"bandwidth": -1.0}, "bandwidth"),
        ({"bandwidth": "auto"}, "bandwidth"),
        ({"bandwidth": float("inf")}, "bandwidth"),
    ],
)
def test_bad_parameters_raise_config_error_naming_the_key(params, key):
    with pytest.raises(ConfigError, match=f"KernelDensity: {key}="):
        KernelDensity(**params).fit(DATA)


# --- tier 2: seeded statistics ----------------------------------------------------


@pytest.mark.parametrize(("kernel", "kernel_variance"), [("gaussian", 1.0), ("tophat", 1 / 4)])
def test_sample_variance_is_data_variance_plus_kernel_variance(kernel, kernel_variance):
    """Per feature, Var[sample] = Var_n[data] + h^2 * c, c = 1 (Gaussian), 1/(d+2) (tophat).

    Seed 6, 40,000 draws, h = 1.5, d = 2. The tolerance is 4 standard errors of a sample
    variance, sqrt((m4 - s^4) / N) from the draws' own fourth central moment; the means
    must match the data's within 4 standard errors too.
    """
    h, n = 1.5, 40_000
    model = KernelDensity(bandwidth=h, kernel=kernel).fit(DATA)
    rows = model.sample(n, np.random.default_rng(6))
    expected = DATA.var(axis=0) + kernel_variance * h**2
    centred = rows - rows.mean(axis=0)
    variance = (centred**2).mean(axis=0)
    fourth = (centred**4).mean(axis=0)
    assert np.all(np.abs(variance - expected) < 4 * np.sqrt((fourth - variance**2) / n))
    assert np.all(np.abs(rows.mean(axis=0) - DATA.mean(axis=0)) < 4 * np.sqrt(expected / n))
