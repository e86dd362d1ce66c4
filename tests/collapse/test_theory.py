"""Closed forms of genloop.collapse.theory: hand values, and seeded Monte-Carlo of the real loops.

The Monte-Carlo tests simulate recursive refitting with plain numpy (no genloop code),
so they check the formulas rather than any implementation. Tolerance: 4 standard
errors of the Monte-Carlo estimate (a false failure rate of about 6e-5 per check).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from genloop.collapse.theory import (
    discrete_absorption_probabilities,
    gaussian_log_variance_drift,
    gaussian_log_variance_sd,
    gaussian_variance_ratio_mean,
)
from genloop.core.errors import ConfigError

# ---------------------------------------------------------------- hand values


def test_log_variance_drift_hand_value_n100_t100():
    # psi(49.5) = ln 49.5 - 1/99 - 1/(12 * 49.5^2) + O(49.5^-4) = 3.891838;
    # plus ln(2/100) = -3.912023 gives -0.020185 per generation, -2.0185 over 100.
    assert gaussian_log_variance_drift(100, 100) == pytest.approx(-2.0185, abs=5e-4)
    # Unbiased: ln(2/99) instead of ln(2/100) adds 100 * ln(100/99) = 1.00503.
    unbiased = gaussian_log_variance_drift(100, 100, estimator="unbiased")
    assert unbiased == pytest.approx(-2.0185 + 1.00503, abs=5e-4)


def test_log_variance_sd_hand_value():
    # n = 2: psi'(1/2) = pi^2 / 2, so one generation has sd pi / sqrt(2).
    assert gaussian_log_variance_sd(2, 1) == pytest.approx(math.pi / math.sqrt(2), rel=1e-12)
    assert gaussian_log_variance_sd(2, 4) == pytest.approx(2 * math.pi / math.sqrt(2), rel=1e-12)


def test_variance_ratio_mean_hand_values():
    assert gaussian_variance_ratio_mean(20, 10) == pytest.approx(0.95**10, rel=1e-14)
    assert gaussian_variance_ratio_mean(20, 10, estimator="unbiased") == 1.0


def test_vectorised_over_generations():
    generations = np.array([0, 1, 10, 100])
    drift = gaussian_log_variance_drift(20, generations)
    assert drift.shape == (4,)
    np.testing.assert_allclose(drift, generations * drift[1], rtol=1e-14)
    assert gaussian_log_variance_sd(20, generations).shape == (4,)
    ones = gaussian_variance_ratio_mean(20, generations, "unbiased")
    np.testing.assert_array_equal(ones, np.ones(4))


def test_absorption_probabilities_normalise_with_a_batch_axis():
    np.testing.assert_allclose(discrete_absorption_probabilities([2, 1, 1]), [0.5, 0.25, 0.25])
    batch = discrete_absorption_probabilities([[1, 1], [3, 1]])
    np.testing.assert_allclose(batch, [[0.5, 0.5], [0.75, 0.25]])


@pytest.mark.parametrize(
    "call",
    [
        lambda: gaussian_log_variance_drift(1, 5),
        lambda: gaussian_log_variance_drift(10, -1),
        lambda: gaussian_log_variance_drift(10, 5, estimator="bayes"),
        lambda: gaussian_log_variance_sd(0, 5),
        lambda: discrete_absorption_probabilities([0.5, -0.1]),
        lambda: discrete_absorption_probabilities([0.0, 0.0]),
    ],
)
def test_bad_parameters_raise_config_errors(call):
    with pytest.raises(ConfigError):
        call()


# ---------------------------------------------------------------- Monte Carlo


def _refit_gaussian(n, generations, seeds, ddof, rng):
    """Log-variance change after recursive refits of N(mu, sigma^2) on n of its samples."""
    mean, variance = np.zeros(seeds), np.ones(seeds)
    for _ in range(generations):
        rows = mean[:, None] + np.sqrt(variance)[:, None] * rng.standard_normal((seeds, n))
        mean, variance = rows.mean(axis=1), rows.var(axis=1, ddof=ddof)
    return np.log(variance)  # the start is log 1 = 0


@pytest.mark.parametrize("estimator, ddof", [("mle", 0), ("unbiased", 1)])
def test_gaussian_laws_match_monte_carlo(estimator, ddof):
    """4,000 seeds, n = 20, t = 10, seed 20240601; each check within 4 standard errors."""
    n, generations, seeds = 20, 10, 4000
    change = _refit_gaussian(n, generations, seeds, ddof, np.random.default_rng(20240601))

    standard_error = change.std(ddof=1) / math.sqrt(seeds)
    drift = gaussian_log_variance_drift(n, generations, estimator)
    assert abs(change.mean() - drift) < 4 * standard_error

    # The sd of a sample sd is about sd / sqrt(2 (N - 1)) for a near-normal sum.
    sd = gaussian_log_variance_sd(n, generations)
    assert abs(change.std(ddof=1) - sd) < 4 * sd / math.sqrt(2 * (seeds - 1))

    ratio = np.exp(change)
    ratio_standard_error = ratio.std(ddof=1) / math.sqrt(seeds)
    expected_ratio = gaussian_variance_ratio_mean(n, generations, estimator)
    assert abs(ratio.mean() - expected_ratio) < 4 * ratio_standard_error


def test_discrete_absorption_matches_monte_carlo():
    """2,000 seeds refit a categorical on n = 10 of its samples until absorbed (seed 7).

    The frequency of each absorbing state is within 4 binomial standard errors of p_i.
    """
    p, n, seeds = np.array([0.5, 0.3, 0.2]), 10, 2000
    rng = np.random.default_rng(7)
    probabilities = np.tile(p, (seeds, 1))
    for _ in range(2000):
        probabilities = rng.multinomial(n, probabilities) / n
        if np.all(probabilities.max(axis=1) == 1.0):
            break
    assert np.all(probabilities.max(axis=1) == 1.0), "every seed should be absorbed"
    frequencies = np.bincount(probabilities.argmax(axis=1), minlength=3) / seeds
    expected = discrete_absorption_probabilities(p)
    standard_errors = np.sqrt(expected * (1 - expected) / seeds)
    assert np.all(np.abs(frequencies - expected) < 4 * standard_errors), frequencies
