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

**Theory for d > 1.** The metric the laws describe is genloop's ``log_variance_change``:
the mean over the ``d`` dimensions of ``log Sigma_jj`` (the diagonal of the fitted
covariance) minus the same at generation 0; ``variance_ratio`` is its exponential (the
geometric mean of the per-dimension variance ratios). With ``m = n`` (MLE) or ``n - 1``
(unbiased), one refit on ``n`` rows multiplies

* **spherical** — the shared variance by ``chi2_{d(n-1)} / (d m)`` (the mean of ``d``
  independent per-dimension scatters), so the drift per generation is
  ``psi(d(n-1)/2) + ln(2/(d m))``, the variance ``psi'(d(n-1)/2)`` and the ratio's mean
  ``((n-1)/m)^t`` as in one dimension;
* **diag** — each variance by its own, independent ``chi2_{n-1} / m``: the drift is the
  one-dimensional one, the variance of the mean over dimensions ``psi'((n-1)/2) / d`` and
  the ratio's mean ``(E[(chi2_{n-1}/m)^(1/d)])^(d t)`` with
  ``E[chi2_k^a] = 2^a Gamma(k/2 + a) / Gamma(k/2)``;
* **full** — the covariance by a Wishart factor ``Sigma^(1/2) W Sigma^(1/2) / m``,
  ``W ~ W_d(n-1, I)``. Each diagonal entry is still ``Sigma_jj chi2_{n-1} / m`` whatever
  the correlations, so the drift of ``log_variance_change`` is the one-dimensional one;
  but the dimensions' factors are correlated through the (random, evolving) correlation
  matrix, so for ``d > 1`` there is no closed form for its spread or for the mean of
  ``variance_ratio``. The log-determinant has one (Bartlett: ``det W`` is a product of
  independent ``chi2_{n-i}``, ``i = 1..d``):
  ``E[log det Sigma_t - log det Sigma_0] = t (sum_i psi((n-i)/2) + d ln(2/m))``
  (:func:`gaussian_log_det_drift`; for diag and spherical it is ``d`` times the drift).

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
from scipy.special import digamma, gammaln, polygamma

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


_COVARIANCE_TYPES = ("full", "diag", "spherical")


def _check_shape(dim, covariance_type: str) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ConfigError(f"dim must be an integer >= 1, got {dim!r}")
    if covariance_type not in _COVARIANCE_TYPES:
        raise ConfigError(
            f"covariance_type must be one of {_COVARIANCE_TYPES}, got {covariance_type!r}"
        )
    return int(dim)


def _refit_factor(n, estimator, dim, covariance_type):
    """``(k, scale)``: one refit multiplies each logged variance by ``chi2_k / scale``."""
    n = _check_sample_size(n)
    dim = _check_shape(dim, covariance_type)
    m = n if _check_estimator(estimator) == "mle" else n - 1
    if covariance_type == "spherical":
        return dim * (n - 1), dim * m
    return n - 1, m


def has_closed_form(quantity: str, dim: int = 1, covariance_type: str = "full") -> bool:
    """Whether :mod:`genloop.collapse.theory` has a law for ``quantity`` in this shape.

    ``quantity`` is ``"drift"`` or ``"log_det_drift"`` (always), ``"sd"`` or
    ``"variance_ratio_mean"`` (all but a full covariance in ``d > 1`` dimensions).
    """
    dim = _check_shape(dim, covariance_type)
    if quantity in ("drift", "log_det_drift"):
        return True
    if quantity in ("sd", "variance_ratio_mean"):
        return dim == 1 or covariance_type != "full"
    raise ConfigError(f"unknown theory quantity {quantity!r}")


def _require(quantity, dim, covariance_type):
    if not has_closed_form(quantity, dim, covariance_type):
        raise ConfigError(
            f"no closed form for the {quantity} of a full covariance in {dim} dimensions "
            "(the dimensions' factors are correlated)"
        )


def gaussian_log_variance_drift(
    n, generations, estimator: str = "mle", dim: int = 1, covariance_type: str = "full"
) -> np.ndarray:
    """Expected ``log_variance_change`` after ``t`` generations of Gaussian refitting.

    ``log_variance_change`` is the mean over dimensions of ``log Sigma_jj`` minus its
    generation-0 value. Each refit multiplies every ``Sigma_jj`` by ``chi2_k / s`` with
    ``k = n - 1, s = m`` (full, diag) or ``k = d(n - 1), s = d m`` (spherical), where
    ``m = n`` (MLE) or ``n - 1`` (unbiased). Since ``E[log chi2_k] = psi(k / 2) + ln 2``::

        E[log_variance_change_t] = t * (psi(k / 2) + ln(2 / s))

    For ``n = 100, t = 100``, one dimension and the MLE this is about ``-2.0185``.

    Parameters
    ----------
    n : int or array_like
        Samples per generation (at least 2). Broadcast against ``generations``.
    generations : int or array_like of shape (...)
        Number of refits ``t`` since generation 0 (non-negative).
    estimator : {"mle", "unbiased"}
        Variance estimator: divide by ``n`` (MLE) or ``n - 1`` (unbiased).
    dim : int, default 1
        Dimension ``d`` of the Gaussian.
    covariance_type : {"full", "diag", "spherical"}, default "full"
        The family's covariance type.

    Returns
    -------
    ndarray of shape broadcast(n, generations)
        The expected drift (negative for both estimators).
    """
    k, scale = _refit_factor(n, estimator, dim, covariance_type)
    generations = _check_generations(generations)
    return generations * (digamma(k / 2) + np.log(2 / scale))


def gaussian_log_variance_sd(
    n, generations, dim: int = 1, covariance_type: str = "full"
) -> np.ndarray:
    """Standard deviation of ``log_variance_change`` after ``t`` generations.

    The ``t`` per-generation factors are independent; ``log chi2_k`` has variance
    ``psi'(k / 2)``. Spherical: ``sqrt(t psi'(d(n - 1)/2))``; diag (``d`` independent
    dimensions averaged): ``sqrt(t psi'((n - 1)/2) / d)``; full: ``sqrt(t psi'((n-1)/2))``
    in one dimension and no closed form above. The estimator only shifts the walk by a
    constant, so it does not change the spread.

    Parameters
    ----------
    n : int or array_like
        Samples per generation (at least 2).
    generations : int or array_like of shape (...)
        Number of refits ``t`` (non-negative).
    dim : int, default 1
    covariance_type : {"full", "diag", "spherical"}, default "full"

    Returns
    -------
    ndarray of shape broadcast(n, generations)

    Raises
    ------
    ConfigError
        For a full covariance with ``dim > 1`` (see :func:`has_closed_form`).
    """
    _require("sd", dim, covariance_type)
    k, _ = _refit_factor(n, "mle", dim, covariance_type)
    generations = _check_generations(generations)
    per_generation = polygamma(1, k / 2)
    if covariance_type == "diag":
        per_generation = per_generation / dim
    return np.sqrt(generations * per_generation)


def gaussian_variance_ratio_mean(
    n, generations, estimator: str = "mle", dim: int = 1, covariance_type: str = "full"
) -> np.ndarray:
    """Expected ``variance_ratio`` (``exp`` of ``log_variance_change``) after ``t`` refits.

    One dimension or spherical: ``E[chi2_k / s] = (n - 1) / m``, so the mean is
    ``((n - 1) / n) ** t`` for the MLE and exactly 1 for the unbiased estimator — even
    though the log-variance drifts down for both (see
    :func:`gaussian_log_variance_drift`). Diag: the ratio is the geometric mean of ``d``
    independent ratios, so its mean is ``(E[(chi2_{n-1} / m)^(1/d)])^(d t)``.

    Parameters
    ----------
    n : int or array_like
        Samples per generation (at least 2).
    generations : int or array_like of shape (...)
        Number of refits ``t`` (non-negative).
    estimator : {"mle", "unbiased"}
    dim : int, default 1
    covariance_type : {"full", "diag", "spherical"}, default "full"

    Returns
    -------
    ndarray of shape broadcast(n, generations)

    Raises
    ------
    ConfigError
        For a full covariance with ``dim > 1`` (see :func:`has_closed_form`).
    """
    _require("variance_ratio_mean", dim, covariance_type)
    k, scale = _refit_factor(n, estimator, dim, covariance_type)
    n = _check_sample_size(n)
    generations = _check_generations(generations)
    if covariance_type != "diag" or dim == 1:
        m = n if estimator == "mle" else n - 1
        return ((n - 1) / m) ** generations
    power = 1.0 / dim
    # log E[(chi2_k / scale)^a] = a ln(2 / scale) + ln Gamma(k/2 + a) - ln Gamma(k/2)
    log_moment = power * np.log(2 / scale) + gammaln(k / 2 + power) - gammaln(k / 2)
    return np.exp(generations * log_moment / power)


def gaussian_log_det_drift(
    n, generations, estimator: str = "mle", dim: int = 1, covariance_type: str = "full"
) -> np.ndarray:
    """Expected ``log det Sigma_t - log det Sigma_0`` after ``t`` generations of refitting.

    Full (Bartlett decomposition of ``W ~ W_d(n - 1, I)``, ``det W = prod_i chi2_{n-i}``)::

        t * (sum_{i=1..d} psi((n - i) / 2) + d ln(2 / m))

    which needs ``n > d`` (otherwise the refit covariance is singular). Diag and
    spherical: ``d`` times :func:`gaussian_log_variance_drift`. This is the change of
    genloop's ``covariance_logdet`` metric since generation 0.

    Parameters
    ----------
    n : int
        Samples per generation (at least 2, and above ``dim`` for a full covariance).
    generations : int or array_like of shape (...)
        Number of refits ``t`` (non-negative).
    estimator : {"mle", "unbiased"}
    dim : int, default 1
    covariance_type : {"full", "diag", "spherical"}, default "full"

    Returns
    -------
    ndarray of shape (...)
    """
    if covariance_type != "full":
        drift = gaussian_log_variance_drift(n, generations, estimator, dim, covariance_type)
        return dim * drift
    n = _check_sample_size(n)
    dim = _check_shape(dim, covariance_type)
    if np.any(n <= dim):
        raise ConfigError(f"a full {dim}-D covariance needs n > {dim} samples, got {n.tolist()!r}")
    m = n if _check_estimator(estimator) == "mle" else n - 1
    generations = _check_generations(generations)
    rows = np.arange(1, dim + 1)
    per_generation = digamma((n[..., None] - rows) / 2).sum(axis=-1) + dim * np.log(2 / m)
    return generations * per_generation


def absorbing_states(metrics) -> np.ndarray:
    """The state each absorbed seed ended in (its last ``absorbed_state`` ≥ 0)."""
    states = metrics[metrics["metric"] == "absorbed_state"]
    # Each seed's final state: the last generation it reached (absorbed seeds stop).
    final = states.sort_values("generation").groupby(["variant", "seed"])["value"].last()
    return final[final >= 0].astype(int).to_numpy()
