"""The Metric contract and the context every metric reads.

A metric is a small object with ``measure(context) -> dict[str, float]``. The runner
calls it once per generation and writes the rows; reports only read them. Metrics see
models only through the Generator contract (:mod:`genloop.families.base`) plus the
fitted attributes a family documents (``probabilities_``, ``mean_``/``covariance_``,
``weights_``/``means_``/``full_covariances_``), so any estimator with the same names plugs in.
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


class Metric:
    """Base class. Subclasses set ``name`` and implement :meth:`measure`.

    ``kinds`` lists the data kinds the metric applies to (``"vectors"``,
    ``"categorical"``); config validation uses it to reject a mismatched metric early.
    """

    name: str = "metric"
    kinds: tuple[str, ...] = ("vectors", "categorical")

    def measure(self, context: MetricContext) -> dict[str, float]:  # pragma: no cover
        """Return named values for this generation."""
        raise NotImplementedError
