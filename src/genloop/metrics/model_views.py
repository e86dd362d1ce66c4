"""Read Gaussian and mixture parameters out of models and sources.

Metrics see models only through the Generator contract plus documented fitted
attributes, so any estimator with the same names plugs in:

* Gaussian: ``mean_`` (d,), ``covariance_`` (d, d);
* Gaussian mixture: ``weights_`` (k,), ``means_`` (k, d) and ``full_covariances_``
  (k, d, d) — or scikit-learn's ``covariances_`` interpreted by ``covariance_type``;
* Gaussian kernel density: ``X_`` (n, d) training rows and a scalar ``bandwidth_``,
  i.e. an equal-weight mixture of ``N(x_i, bandwidth^2 I)``;
* anything else: moments from a Monte-Carlo sample (``sample(n, random_state=rng)``).

Sources expose ``mean``/``covariance`` (a Gaussian truth) or ``mixture`` (weights,
means, full covariances) when the truth is known.
"""

from __future__ import annotations

import numpy as np

from genloop.core.errors import DataError
from genloop.metrics.gaussian_math import mixture_moments

Mixture = tuple[np.ndarray, np.ndarray, np.ndarray]


def _expand_sklearn_covariances(covariances, covariance_type: str, k: int, d: int) -> np.ndarray:
    covariances = np.asarray(covariances, dtype=float)
    if covariance_type == "full":
        return covariances.reshape(k, d, d)
    if covariance_type == "tied":
        return np.broadcast_to(covariances.reshape(d, d), (k, d, d))
    if covariance_type == "diag":
        return covariances.reshape(k, d)[:, :, None] * np.eye(d)
    if covariance_type == "spherical":
        return covariances.reshape(k)[:, None, None] * np.eye(d)
    raise DataError(f"unknown covariance_type {covariance_type!r} on a mixture model")


def model_gaussian(model) -> tuple[np.ndarray, np.ndarray] | None:
    """``(mean (d,), covariance (d, d))`` of a Gaussian model, or None."""
    mean = getattr(model, "mean_", None)
    covariance = getattr(model, "covariance_", None)
    if mean is None or covariance is None:
        return None
    mean = np.atleast_1d(np.asarray(mean, dtype=float))
    d = mean.shape[0]
    covariance = np.asarray(covariance, dtype=float)
    if covariance.size == d and covariance.ndim <= 1:
        # A variance vector (diagonal model) or a scalar for d = 1.
        covariance = np.diag(covariance.reshape(d))
    return mean, covariance.reshape(d, d)


def model_mixture(model) -> Mixture | None:
    """``(weights (k,), means (k, d), covariances (k, d, d))`` of a model, or None.

    A Gaussian is a 1-component mixture; a Gaussian KDE is an ``n``-component mixture
    whose covariances are a read-only broadcast view (no ``(n, d, d)`` copy).
    """
    gaussian = model_gaussian(model)
    if gaussian is not None:
        mean, covariance = gaussian
        return np.ones(1), mean[None, :], covariance[None, :, :]
    weights = getattr(model, "weights_", None)
    means = getattr(model, "means_", None)
    if weights is not None and means is not None:
        weights = np.asarray(weights, dtype=float).ravel()
        k = weights.shape[0]
        means = np.asarray(means, dtype=float).reshape(k, -1)
        d = means.shape[1]
        covariances = getattr(model, "full_covariances_", None)
        if covariances is not None:
            return weights, means, np.asarray(covariances, dtype=float).reshape(k, d, d)
        covariances = getattr(model, "covariances_", None)
        if covariances is not None:
            covariance_type = getattr(model, "covariance_type", "full")
            return weights, means, _expand_sklearn_covariances(covariances, covariance_type, k, d)
    return _kde_mixture(model)


def _kde_mixture(model) -> Mixture | None:
    rows = getattr(model, "X_", None)
    bandwidth = getattr(model, "bandwidth_", None)
    if rows is None or bandwidth is None or getattr(model, "kernel", "gaussian") != "gaussian":
        return None
    bandwidth = np.asarray(bandwidth, dtype=float)
    if bandwidth.size != 1:
        return None  # a per-dimension or matrix bandwidth: leave it to Monte Carlo
    rows = np.asarray(rows, dtype=float)
    rows = rows.reshape(rows.shape[0], -1)
    n, d = rows.shape
    kernel = float(bandwidth) ** 2 * np.eye(d)
    return np.full(n, 1.0 / n), rows, np.broadcast_to(kernel, (n, d, d))


def sample_model(model, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n_samples`` rows from a model as a float array of shape (n_samples, d)."""
    rows = np.asarray(model.sample(n_samples, random_state=rng), dtype=float)
    return rows.reshape(n_samples, -1)


def sample_moments(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sample mean (d,) and unbiased covariance (d, d) of rows of shape (n, d)."""
    rows = np.asarray(rows, dtype=float).reshape(len(rows), -1)
    if len(rows) < 2:
        raise DataError(f"need at least 2 rows to estimate a covariance, got {len(rows)}")
    covariance = np.atleast_2d(np.cov(rows, rowvar=False, ddof=1))
    return rows.mean(axis=0), covariance


def model_moments(model, rng: np.random.Generator, n_samples: int):
    """Mean (d,) and covariance (d, d) of a model, and whether they are exact.

    Exact for Gaussians, mixtures and Gaussian KDEs; otherwise estimated from
    ``n_samples`` draws with ``rng``.

    Returns
    -------
    mean : ndarray of shape (d,)
    covariance : ndarray of shape (d, d)
    exact : bool
    """
    gaussian = model_gaussian(model)
    if gaussian is not None:
        return gaussian[0], gaussian[1], True
    mixture = model_mixture(model)
    if mixture is not None:
        mean, covariance = mixture_moments(*mixture)
        return mean, covariance, True
    mean, covariance = sample_moments(sample_model(model, n_samples, rng))
    return mean, covariance, False


def truth_gaussian(source) -> tuple[np.ndarray, np.ndarray] | None:
    """The source's Gaussian truth ``(mean (d,), covariance (d, d))``, or None."""
    mean = getattr(source, "mean", None)
    covariance = getattr(source, "covariance", None)
    if mean is None or covariance is None:
        return None
    mean = np.atleast_1d(np.asarray(mean, dtype=float))
    return mean, np.asarray(covariance, dtype=float).reshape(mean.shape[0], mean.shape[0])


def truth_mixture(source) -> Mixture | None:
    """The source's truth as a mixture (a Gaussian truth is 1 component), or None."""
    mixture = getattr(source, "mixture", None)
    if mixture is not None:
        weights, means, covariances = (np.asarray(part, dtype=float) for part in mixture)
        k = weights.reshape(-1).shape[0]
        means = means.reshape(k, -1)
        d = means.shape[1]
        return weights.reshape(k), means, covariances.reshape(k, d, d)
    gaussian = truth_gaussian(source)
    if gaussian is None:
        return None
    return np.ones(1), gaussian[0][None, :], gaussian[1][None, :, :]


def reference_mean(context) -> np.ndarray:
    """Truth mean when known (Gaussian or mixture), else the mean of the original data."""
    gaussian = truth_gaussian(context.source)
    if gaussian is not None:
        return gaussian[0]
    mixture = truth_mixture(context.source)
    if mixture is not None:
        return mixture_moments(*mixture)[0]
    original = np.asarray(context.original, dtype=float)
    return original.reshape(len(original), -1).mean(axis=0)
