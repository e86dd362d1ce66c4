"""Sample-based estimators for models without closed forms: W2 and tail mass from samples.

Pure functions (no Metric wrappers); :mod:`genloop.metrics.continuous` uses them when a
model or truth has no Gaussian or mixture form.
"""

from __future__ import annotations

import numpy as np

from genloop.core.errors import ConfigError, DataError


def empirical_w2(x, y) -> float:
    """Exact 2-Wasserstein distance between two empirical distributions.

    Both samples get uniform weights and the cost is the squared Euclidean distance;
    the optimal transport is solved exactly. For equal sizes an optimal plan is a
    permutation, found with :func:`scipy.optimize.linear_sum_assignment` (as fast as
    POT's network simplex here, without POT's multi-second import of its torch
    backend). For unequal sizes POT's ``ot.emd2`` is used (imported lazily; install
    ``genloop[ot]``). The estimate is biased upwards: two samples of the same
    distribution are at a positive distance that shrinks with the sample size
    (roughly like ``n^(-1/d)`` in ``d >= 3`` dimensions).

    Parameters
    ----------
    x : array_like of shape (n, d)
    y : array_like of shape (m, d)

    Returns
    -------
    float
    """
    x = np.asarray(x, dtype=float).reshape(len(x), -1)
    y = np.asarray(y, dtype=float).reshape(len(y), -1)
    if len(x) == 0 or len(y) == 0 or x.shape[1] != y.shape[1]:
        raise DataError(
            f"empirical_w2 needs two non-empty samples of equal width, got {x.shape}, {y.shape}"
        )
    from scipy.spatial.distance import cdist

    cost = cdist(x, y, "sqeuclidean")
    if len(x) == len(y):
        from scipy.optimize import linear_sum_assignment

        rows, columns = linear_sum_assignment(cost)
        squared = float(cost[rows, columns].mean())
    else:
        try:
            import ot
        except ImportError as error:
            raise ConfigError(
                "empirical W2 between samples of different sizes needs POT: pip install POT"
            ) from error
        uniform_x = np.full(len(x), 1.0 / len(x))
        uniform_y = np.full(len(y), 1.0 / len(y))
        squared = float(ot.emd2(uniform_x, uniform_y, cost, numItermax=10_000_000))
    return float(np.sqrt(max(squared, 0.0)))


def empirical_tail_mass(samples, lower, upper) -> np.ndarray:
    """Fraction of samples outside ``[lower_j, upper_j]``, averaged over dimensions.

    Parameters
    ----------
    samples : array_like of shape (..., n, d)
    lower, upper : array_like of shape (..., d)

    Returns
    -------
    ndarray of shape (...)
    """
    samples = np.asarray(samples, dtype=float)
    lower = np.asarray(lower, dtype=float)[..., None, :]
    upper = np.asarray(upper, dtype=float)[..., None, :]
    outside = (samples < lower) | (samples > upper)
    return outside.mean(axis=(-2, -1))


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


