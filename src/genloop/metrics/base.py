"""The Metric contract and the context every metric reads.

A metric is a small object with ``measure(context) -> dict[str, float]``. The runner
calls it once per generation and writes the rows; reports only read them. Metrics see
models only through the Generator contract (:mod:`genloop.families.base`) plus the
fitted attributes a family documents (``probabilities_``, ``mean_``/``covariance_``,
``weights_``/``means_``/``full_covariances_``), so any estimator with the same names plugs in.

Fast engines simulate many seeds at once and hold only the fitted *parameters* of every
seed's model. A metric that can be computed exactly from parameters, vectorised over
seeds, also implements :meth:`Metric.measure_batch` on a :class:`BatchMetricContext`
and lists the model forms it handles in ``batch_forms``; the engine falls back to the
sample-level loop when a recipe names a metric without one (never an approximation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class MetricContext:
    """Everything a metric may look at for one generation of one seed.

    Attributes
    ----------
    generation : int
        The generation whose model is measured (0 = fitted on real data).
    model : estimator
        The model fitted on this generation's pool.
    pool : ndarray of shape (n_samples, n_features)
        The data the model was fitted on.
    initial_model : estimator
        Generation 0's model (fitted on the original data); the reference for
        "change since the start" metrics such as ``log_variance_change``.
    source : genloop.data.base.Source
        The reference source, with truth parameters where known.
    original : ndarray
        The original (real) data of generation 0.
    holdout : ndarray
        Held-out real data never used for fitting.
    rng : numpy.random.Generator
        A stream reserved for metrics that sample (e.g. Monte-Carlo estimates).
    extra : dict
        Free-form values other parts of genloop attach (e.g. curation verdicts).
    """

    generation: int
    model: Any
    pool: np.ndarray
    initial_model: Any
    source: Any
    original: np.ndarray
    holdout: np.ndarray
    rng: np.random.Generator
    extra: dict = field(default_factory=dict)


@dataclass
class BatchMetricContext:
    """One generation of ``S`` seeds' fitted models, as parameter arrays (fast engines).

    Attributes
    ----------
    generation : int
    form : {"categorical", "gaussian", "mixture"}
        What the models are: categorical distributions, single Gaussians (a family with
        ``mean_``/``covariance_``), or Gaussian mixtures (``weights_``/``means_``).
    source : genloop.data.base.Source
    original : ndarray of shape (S, n, d)
        Each seed's generation-0 real data (``(S, n, 1)`` states for categorical data).
    holdout : ndarray of shape (S, H, d)
    rng : numpy.random.Generator
        One stream for the whole batch (no batched metric samples today).
    probabilities, initial_probabilities : ndarray of shape (S, K) or None
        Categorical models of this generation and of generation 0.
    weights, initial_weights : ndarray of shape (S, k) or None
        Mixture weights (a Gaussian is one component of weight 1).
    means, initial_means : ndarray of shape (S, k, d) or None
    covariances, initial_covariances : ndarray of shape (S, k, d, d) or None
        Full covariance matrices whatever the family's covariance layout.
    cache : dict
        Kept across the generations of one batch: metrics store quantities of the fixed
        reference data here (quantiles of the original data, holdout moments).
    parameters : dict
        Parameter arrays of other model forms (a plugin fast path's, with their
        ``initial_`` versions), by the names its simulator and metrics agree on.
    """

    generation: int
    form: str
    source: Any
    original: np.ndarray
    holdout: np.ndarray
    rng: np.random.Generator
    probabilities: np.ndarray | None = None
    initial_probabilities: np.ndarray | None = None
    weights: np.ndarray | None = None
    means: np.ndarray | None = None
    covariances: np.ndarray | None = None
    initial_weights: np.ndarray | None = None
    initial_means: np.ndarray | None = None
    initial_covariances: np.ndarray | None = None
    cache: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)


class Metric:
    """Base class. Subclasses set ``name`` and implement :meth:`measure`.

    ``kinds`` lists the data kinds the metric applies to (``"vectors"``,
    ``"categorical"``); config validation uses it to reject a mismatched metric early.
    """

    name: str = "metric"
    kinds: tuple[str, ...] = ("vectors", "categorical")
    #: model forms (see :class:`BatchMetricContext`) :meth:`measure_batch` handles exactly
    batch_forms: tuple[str, ...] = ()

    def measure(self, context: MetricContext) -> dict[str, float]:  # pragma: no cover
        """Return named values for this generation."""
        raise NotImplementedError

    def batch_unsupported(self, form: str, source) -> str | None:
        """Why :meth:`measure_batch` cannot give this metric for ``form`` models, or None.

        The answer must not depend on the data: a fast engine asks once, before the run.
        """
        if form not in self.batch_forms:
            return f"metric {self.name!r} has no exact form from {form} parameters"
        return None

    def measure_batch(self, context: BatchMetricContext) -> dict[str, np.ndarray]:
        """Return named values of shape (S,): what :meth:`measure` gives for each seed.

        Only called when :meth:`batch_unsupported` returned None.
        """
        raise NotImplementedError(f"metric {self.name!r} has no batched form")
