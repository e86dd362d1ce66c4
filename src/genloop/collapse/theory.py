"""Closed forms for recursive refitting (model collapse), used by tests and reports.

Two laws are exact for the simplest loops, where every generation refits a model by
maximum likelihood on ``n`` samples drawn from the previous generation's model
(``replace`` mixing, no real data kept):

* **Discrete** — a categorical distribution refitted on its own samples is a
  Wright–Fisher chain: it ends in a delta (one state keeps all the mass) and the
  probability that state ``i`` wins is its starting probability ``p_i``.
* **Gaussian** — each refit multiplies the variance by ``chi2_{n-1} / n`` (MLE) or
  ``chi2_{n-1} / (n - 1)`` (unbiased), independently of the past. The log-variance is
  therefore a random walk with a negative drift even for the unbiased estimator (the
  expected variance stays put but almost every path collapses), and the variance
  tends to zero almost surely.

For a multivariate Gaussian with a full covariance, each coordinate's marginal
variance follows the same one-dimensional law (the diagonal of a Wishart matrix is a
scaled chi-square), so these formulas also give the expectation of genloop's
``log_variance`` metric (the mean over dimensions of log marginal variances).

Under ``accumulate`` (every past pool is kept, so the pool grows each generation) the
variance does **not** collapse. The new samples are centred on the pool's own fitted
mean, so they add variance at the current rate; the only loss is the shift of the
pooled mean, which costs a factor of ``1 - O(1 / (n t^2))`` in expectation at
generation ``t``. Those losses have a finite sum, so the fitted variance converges to a
random, non-zero limit. No closed form is given for that limit.

This module is pure numpy/scipy and imports nothing from genloop except its errors, so
metrics and reports may import it (never the other way round).
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, polygamma

from genloop.core.errors import ConfigError

_ESTIMATORS = ("mle", "unbiased")


def _check_sample_size(n) -> np.ndarray:
    n = np.asarray(n, dtype=float)
    if not np.all(np.isfinite(n)) or np.any(n < 2):
        raise ConfigError(f"sample size n must be at least 2, got {n.tolist()!r}")
    return n


def _check_generations(generations) -> np.ndarray:
    generations = np.asarray(generations, dtype=float)
    if not np.all(np.isfinite(generations)) or np.any(generations < 0):
        raise ConfigError(f"generations must be non-negative, got {generations.tolist()!r}")
    return generations


def _check_estimator(estimator: str) -> str:
    if estimator not in _ESTIMATORS:
        raise ConfigError(f"estimator must be one of {_ESTIMATORS}, got {estimator!r}")
    return estimator


def discrete_absorption_probabilities(probabilities) -> np.ndarray:
    """Probability that recursive MLE refitting of a categorical ends in each state.

    Refitting a categorical on ``n`` of its own samples each generation is a neutral
    Wright–Fisher chain: the probabilities are a martingale, so the chain is absorbed
    in a delta at state ``i`` with probability ``p_i`` (for any ``n``).

    Parameters
    ----------
    probabilities : array_like of shape (..., K)
        Starting probabilities (non-negative; normalised here). Leading axes are a
        batch, e.g. one row per seed.

    Returns
    -------
    ndarray of shape (..., K)
        ``probabilities`` divided by their sum along the last axis.

    Raises
    ------
    ConfigError
        If a value is negative or not finite, or a row has zero total mass.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    if probabilities.ndim == 0:
        raise ConfigError("probabilities must have at least one axis (states)")
    if not np.all(np.isfinite(probabilities)) or np.any(probabilities < 0):
        raise ConfigError("probabilities must be finite and non-negative")
    total = probabilities.sum(axis=-1, keepdims=True)
    if np.any(total <= 0):
        raise ConfigError("probabilities must have positive total mass in every row")
    return probabilities / total


def gaussian_log_variance_drift(n, generations, estimator: str = "mle") -> np.ndarray:
    """Expected change of the log-variance after ``t`` generations of Gaussian refitting.

    Each generation draws ``n`` samples from the current Gaussian and refits it, so
    ``sigma2_{t+1} = sigma2_t * chi2_{n-1} / m`` with ``m = n`` (MLE) or ``n - 1``
    (unbiased). Since ``E[log chi2_k] = psi(k / 2) + ln 2``::

        E[log sigma2_t - log sigma2_0] = t * (psi((n - 1) / 2) + ln(2 / m))

    For ``n = 100, t = 100`` and the MLE this is about ``-2.0185``.

    Parameters
    ----------
    n : int or array_like
        Samples per generation (at least 2). Broadcast against ``generations``.
    generations : int or array_like of shape (...)
        Number of refits ``t`` since generation 0 (non-negative).
    estimator : {"mle", "unbiased"}
        Variance estimator: divide by ``n`` (MLE) or ``n - 1`` (unbiased).

    Returns
    -------
    ndarray of shape broadcast(n, generations)
        The expected drift (negative for both estimators).
    """
    n = _check_sample_size(n)
    generations = _check_generations(generations)
    divisor = n if _check_estimator(estimator) == "mle" else n - 1
    per_generation = digamma((n - 1) / 2) + np.log(2 / divisor)
    return generations * per_generation


def gaussian_log_variance_sd(n, generations) -> np.ndarray:
    """Standard deviation of ``log sigma2_t - log sigma2_0`` under Gaussian refitting.

    The ``t`` per-generation factors are independent ``log chi2_{n-1}`` terms with
    variance ``psi'((n - 1) / 2)``, so the standard deviation is
    ``sqrt(t * psi'((n - 1) / 2))``. The estimator (MLE or unbiased) only shifts the
    walk by a constant, so it does not change the spread.

    Parameters
    ----------
    n : int or array_like
        Samples per generation (at least 2).
    generations : int or array_like of shape (...)
        Number of refits ``t`` (non-negative).

    Returns
    -------
    ndarray of shape broadcast(n, generations)
    """
    n = _check_sample_size(n)
    generations = _check_generations(generations)
    return np.sqrt(generations * polygamma(1, (n - 1) / 2))


def gaussian_variance_ratio_mean(n, generations, estimator: str = "mle") -> np.ndarray:
    """Expected ratio ``sigma2_t / sigma2_0`` after ``t`` generations of refitting.

    ``E[chi2_{n-1} / m] = (n - 1) / m``, so the ratio's mean is ``((n - 1) / n) ** t``
    for the MLE and exactly 1 for the unbiased estimator — even though the
    log-variance drifts down for both (see :func:`gaussian_log_variance_drift`).

    Parameters
    ----------
    n : int or array_like
        Samples per generation (at least 2).
    generations : int or array_like of shape (...)
        Number of refits ``t`` (non-negative).
    estimator : {"mle", "unbiased"}

    Returns
    -------
    ndarray of shape broadcast(n, generations)
    """
    n = _check_sample_size(n)
    generations = _check_generations(generations)
    if _check_estimator(estimator) == "unbiased":
        return np.ones(np.broadcast_shapes(n.shape, generations.shape))
    return ((n - 1) / n) ** generations


def absorbing_states(metrics) -> np.ndarray:
    """The state each absorbed seed ended in (its last ``absorbed_state`` ≥ 0)."""
    states = metrics[metrics["metric"] == "absorbed_state"]
    # Each seed's final state: the last generation it reached (absorbed seeds stop).
    final = states.sort_values("generation").groupby(["variant", "seed"])["value"].last()
    return final[final >= 0].astype(int).to_numpy()
