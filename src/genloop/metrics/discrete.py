"""Metrics for categorical models: support, lost states, entropy, divergences, tails.

Two layers:

* **Pure functions** (``entropy``, ``total_variation``, ...) take probability arrays of
  shape ``(..., K)`` — leading axes are a batch, e.g. 10,000 seeds simulated at once by
  a fast engine — and return arrays of shape ``(...)``.
* **Metric classes** are thin wrappers: they read the model's ``probabilities_`` (q)
  and the reference (p) from a :class:`~genloop.metrics.base.MetricContext` and call
  the pure functions.

The reference p is the source's truth ``source.probabilities`` when known, otherwise
the empirical frequencies of ``context.original``. If p and q have different lengths
(e.g. a model that sized itself from the largest state it saw), the shorter one is
padded with zeros: a state the model does not know has model probability 0.
"""

from __future__ import annotations

import numpy as np
from scipy.special import entr, rel_entr

from genloop.core.errors import ConfigError, DataError
from genloop.metrics.base import BatchMetricContext, Metric, MetricContext

# ---------------------------------------------------------------------------
# Pure functions, shapes (..., K) -> (...)
# ---------------------------------------------------------------------------


def _as_probabilities(values, name: str) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.ndim == 0:
        raise DataError(f"{name} must have a states axis, got a scalar")
    return values


def support_size(q) -> np.ndarray:
    """Number of states with positive probability.

    Parameters
    ----------
    q : array_like of shape (..., K)

    Returns
    -------
    ndarray of int, shape (...)
    """
    q = _as_probabilities(q, "q")
    return np.count_nonzero(q > 0, axis=-1)


def states_lost(p, q) -> np.ndarray:
    """Number of states the reference has (p > 0) and the model lost (q == 0).

    Parameters
    ----------
    p, q : array_like of shape (..., K)
        Reference and model probabilities (broadcast against each other).

    Returns
    -------
    ndarray of int, shape (...)
    """
    p = _as_probabilities(p, "p")
    q = _as_probabilities(q, "q")
    return np.count_nonzero((p > 0) & (q <= 0), axis=-1)


def entropy(q) -> np.ndarray:
    """Shannon entropy in nats, with ``0 log 0 = 0``.

    Parameters
    ----------
    q : array_like of shape (..., K)
        Probabilities (each row summing to 1).

    Returns
    -------
    ndarray of shape (...)
    """
    q = _as_probabilities(q, "q")
    return entr(q).sum(axis=-1)


def total_variation(p, q) -> np.ndarray:
    """Total-variation distance ``0.5 * sum |p - q|`` (0 = equal, 1 = disjoint).

    Parameters
    ----------
    p, q : array_like of shape (..., K)

    Returns
    -------
    ndarray of shape (...)
    """
    p = _as_probabilities(p, "p")
    q = _as_probabilities(q, "q")
    return 0.5 * np.abs(p - q).sum(axis=-1)


def kl_divergence(p, q, smoothing: float = 1e-12) -> np.ndarray:
    """``KL(p || q)`` in nats, with q smoothed so that it is never infinite.

    The model is smoothed additively, ``q_smooth = (q + eps) / (1 + K * eps)`` with
    ``eps = smoothing``, which keeps it a distribution and caps the cost of a lost
    state at about ``p_i * log(p_i / eps)`` (about 27.6 nats per unit of lost mass for
    the default). The reference p is not smoothed; ``0 log 0 = 0``.

    Parameters
    ----------
    p, q : array_like of shape (..., K)
        Reference and model probabilities (each row summing to 1).
    smoothing : float
        ``eps > 0``.

    Returns
    -------
    ndarray of shape (...)
    """
    if not smoothing > 0 or not np.isfinite(smoothing):
        raise ConfigError(f"smoothing must be a positive number, got {smoothing!r}")
    p = _as_probabilities(p, "p")
    q = _as_probabilities(q, "q")
    n_states = q.shape[-1]
    smoothed = (q + smoothing) / (1 + n_states * smoothing)
    return rel_entr(p, smoothed).sum(axis=-1)


def tail_mass_retained(p, q, quantile: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """How much of the reference's rarest states the model still covers.

    The rare states are those with ``0 < p_i <= np.quantile(p[p > 0], quantile)``
    (linear interpolation, so the rarest state is always included).

    Parameters
    ----------
    p, q : array_like of shape (..., K)
        Reference and model probabilities (broadcast against each other).
    quantile : float
        In ``[0, 1]``.

    Returns
    -------
    mass_retained : ndarray of shape (...)
        Model mass on the rare states divided by the reference's mass on them: 1 means
        the tail is intact, 0 that it is gone (above 1: the model over-weights it).
    states_kept : ndarray of shape (...)
        Fraction of the rare states with ``q > 0``.
    """
    if not 0 <= quantile <= 1:
        raise ConfigError(f"quantile must lie in [0, 1], got {quantile!r}")
    p = _as_probabilities(p, "p")
    q = _as_probabilities(q, "q")
    if np.any(~(p > 0).any(axis=-1)):
        raise DataError("reference probabilities p have no state with positive mass")
    # The tail depends on p alone: find it before broadcasting against a batch of models
    # (one reference for 10,000 seeds needs one quantile, not 10,000).
    positive = np.where(p > 0, p, np.nan)
    threshold = np.nanquantile(positive, quantile, axis=-1, keepdims=True)
    rare = (p > 0) & (p <= threshold)
    p, q, rare = np.broadcast_arrays(p, q, rare)
    mass_retained = np.where(rare, q, 0).sum(axis=-1) / np.where(rare, p, 0).sum(axis=-1)
    states_kept = np.count_nonzero(rare & (q > 0), axis=-1) / np.count_nonzero(rare, axis=-1)
    return mass_retained, states_kept


def absorbed(q) -> tuple[np.ndarray, np.ndarray]:
    """Whether the model has collapsed onto a single state, and which one.

    Parameters
    ----------
    q : array_like of shape (..., K)

    Returns
    -------
    is_absorbed : ndarray of bool, shape (...)
        True when exactly one state has positive probability.
    state : ndarray of int, shape (...)
        The index of that state, or -1 when not absorbed.
    """
    q = _as_probabilities(q, "q")
    is_absorbed = support_size(q) == 1
    state = np.where(is_absorbed, np.argmax(q, axis=-1), -1)
    return is_absorbed, state


# ---------------------------------------------------------------------------
# Reading p and q from a context
# ---------------------------------------------------------------------------


def model_probabilities(model) -> np.ndarray:
    """The model's state probabilities ``probabilities_``, shape (K,)."""
    q = getattr(model, "probabilities_", None)
    if q is None:
        raise DataError(
            f"model {type(model).__name__} has no probabilities_; discrete metrics need a "
            "categorical model"
        )
    return np.asarray(q, dtype=float).ravel()


def reference_probabilities(context: MetricContext, n_states: int) -> np.ndarray:
    """The truth's probabilities, or the empirical frequencies of ``context.original``.

    Parameters
    ----------
    context : MetricContext
    n_states : int
        Number of states to count when falling back to empirical frequencies.

    Returns
    -------
    ndarray of shape (K,)
        ``K`` is ``n_states`` or the truth's length.
    """
    truth = getattr(context.source, "probabilities", None)
    if truth is not None:
        return np.asarray(truth, dtype=float).ravel()
    states = np.asarray(context.original).ravel()
    if states.size == 0:
        raise DataError("original data is empty; cannot form reference frequencies")
    if not np.all(np.equal(np.mod(states, 1), 0)) or states.min() < 0:
        raise DataError("original data must hold non-negative integer states")
    counts = np.bincount(states.astype(np.int64), minlength=n_states)
    return counts / counts.sum()


def _reference_and_model(context: MetricContext) -> tuple[np.ndarray, np.ndarray]:
    q = model_probabilities(context.model)
    p = reference_probabilities(context, len(q))
    size = max(len(p), len(q))
    return np.pad(p, (0, size - len(p))), np.pad(q, (0, size - len(q)))


def batch_reference_and_model(context: BatchMetricContext) -> tuple[np.ndarray, np.ndarray]:
    """Reference p and models q of a batch, padded to one width: (K,) or (S, K), and (S, K).

    The batched twin of the per-seed lookup: the truth when known, otherwise each seed's
    empirical frequencies of its original data (counted over the models' K states).
    """
    q = np.asarray(context.probabilities, dtype=float)
    truth = getattr(context.source, "probabilities", None)
    if truth is not None:
        p = np.asarray(truth, dtype=float).ravel()
    else:
        states = np.asarray(context.original).reshape(len(q), -1).astype(np.int64)
        width = max(q.shape[1], int(states.max()) + 1)
        counts = np.zeros((len(q), width))
        np.add.at(counts, (np.arange(len(q))[:, None], states), 1.0)
        p = counts / counts.sum(axis=1, keepdims=True)
    size = max(p.shape[-1], q.shape[-1])
    pad = [(0, 0)] * (p.ndim - 1) + [(0, size - p.shape[-1])]
    return np.pad(p, pad), np.pad(q, [(0, 0), (0, size - q.shape[-1])])


# ---------------------------------------------------------------------------
# Metric classes (``measure`` per seed, ``measure_batch`` on (S, K) probabilities)
# ---------------------------------------------------------------------------


class SupportSize(Metric):
    """``support_size``: number of states the model gives positive probability."""

    name = "support_size"
    kinds = ("categorical",)
    batch_forms = ("categorical",)

    def measure(self, context: MetricContext) -> dict[str, float]:
        return {"support_size": float(support_size(model_probabilities(context.model)))}

    def measure_batch(self, context: BatchMetricContext) -> dict[str, np.ndarray]:
        return {"support_size": support_size(context.probabilities).astype(float)}


class StatesLost(Metric):
    """``states_lost``: states the reference has (p > 0) that the model lost (q == 0)."""

    name = "states_lost"
    kinds = ("categorical",)
    batch_forms = ("categorical",)

    def measure(self, context: MetricContext) -> dict[str, float]:
        p, q = _reference_and_model(context)
        return {"states_lost": float(states_lost(p, q))}

    def measure_batch(self, context: BatchMetricContext) -> dict[str, np.ndarray]:
        p, q = batch_reference_and_model(context)
        return {"states_lost": states_lost(p, q).astype(float)}


class Entropy(Metric):
    """``entropy``: the model's Shannon entropy in nats."""

    name = "entropy"
    kinds = ("categorical",)
    batch_forms = ("categorical",)

    def measure(self, context: MetricContext) -> dict[str, float]:
        return {"entropy": float(entropy(model_probabilities(context.model)))}

    def measure_batch(self, context: BatchMetricContext) -> dict[str, np.ndarray]:
        return {"entropy": entropy(context.probabilities)}


class TotalVariation(Metric):
    """``total_variation``: ``0.5 * sum |p - q|`` between reference and model."""

    name = "total_variation"
    kinds = ("categorical",)
    batch_forms = ("categorical",)

    def measure(self, context: MetricContext) -> dict[str, float]:
        p, q = _reference_and_model(context)
        return {"total_variation": float(total_variation(p, q))}

    def measure_batch(self, context: BatchMetricContext) -> dict[str, np.ndarray]:
        p, q = batch_reference_and_model(context)
        return {"total_variation": total_variation(p, q)}


class KLDivergence(Metric):
    """``kl``: ``KL(p || q)`` in nats with q smoothed to ``(q + eps) / (1 + K eps)``.

    Parameters
    ----------
    smoothing : float, default 1e-12
        ``eps``; a lost state costs about ``p_i log(p_i / eps)`` instead of infinity.
    """

    name = "kl"
    kinds = ("categorical",)
    batch_forms = ("categorical",)

    def __init__(self, smoothing: float = 1e-12):
        if not isinstance(smoothing, (int, float)) or not 0 < smoothing < 1:
            raise ConfigError(f"kl.smoothing must be a number in (0, 1), got {smoothing!r}")
        self.smoothing = float(smoothing)

    def measure(self, context: MetricContext) -> dict[str, float]:
        p, q = _reference_and_model(context)
        return {"kl": float(kl_divergence(p, q, self.smoothing))}

    def measure_batch(self, context: BatchMetricContext) -> dict[str, np.ndarray]:
        p, q = batch_reference_and_model(context)
        return {"kl": kl_divergence(p, q, self.smoothing)}


class TailMassRetained(Metric):
    """``tail_mass_retained`` and ``tail_states_kept`` on the reference's rarest states.

    Parameters
    ----------
    quantile : float, default 0.1
        States whose reference probability is at or below this quantile of the
        positive reference probabilities form the tail.
    """

    name = "tail_mass_retained"
    kinds = ("categorical",)
    batch_forms = ("categorical",)

    def __init__(self, quantile: float = 0.1):
        if not isinstance(quantile, (int, float)) or not 0 <= quantile <= 1:
            raise ConfigError(
                f"tail_mass_retained.quantile must be a number in [0, 1], got {quantile!r}"
            )
        self.quantile = float(quantile)

    def measure(self, context: MetricContext) -> dict[str, float]:
        p, q = _reference_and_model(context)
        mass, kept = tail_mass_retained(p, q, self.quantile)
        return {"tail_mass_retained": float(mass), "tail_states_kept": float(kept)}

    def measure_batch(self, context: BatchMetricContext) -> dict[str, np.ndarray]:
        p, q = batch_reference_and_model(context)
        mass, kept = tail_mass_retained(p, q, self.quantile)
        return {"tail_mass_retained": mass, "tail_states_kept": kept}


class Absorbed(Metric):
    """``absorbed`` (1.0 when one state holds all the mass) and ``absorbed_state`` (or -1)."""

    name = "absorbed"
    kinds = ("categorical",)
    batch_forms = ("categorical",)

    def measure(self, context: MetricContext) -> dict[str, float]:
        is_absorbed, state = absorbed(model_probabilities(context.model))
        return {"absorbed": float(is_absorbed), "absorbed_state": float(state)}

    def measure_batch(self, context: BatchMetricContext) -> dict[str, np.ndarray]:
        is_absorbed, state = absorbed(context.probabilities)
        return {"absorbed": is_absorbed.astype(float), "absorbed_state": state.astype(float)}
