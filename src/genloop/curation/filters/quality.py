"""``quality``: keep rows by their log-likelihood under a reference model.

A row's score is ``model.score_samples(X)`` (natural-log likelihood), divided by the row's
length for token sequences so that long and short blocks compare (a per-token
log-likelihood, minus the log of the perplexity). The reference model is generation 0's
model, fitted on real data (``reference: initial``), or the model that generated the
batch (``reference: batch``).

``keep: high`` keeps the likely rows: those scoring at least ``threshold``, or else all
but the ``quantile`` share of the batch with the lowest scores. Keeping only likely rows
is itself a way to cut tails: it removes exactly the rare rows collapse loses first.

``keep: typical`` keeps the rows whose score lies in the central band of the scores of
held-out real rows, between their ``quantile / 2`` and ``1 - quantile / 2`` quantiles.
It drops the unlikely rows less often than ``high`` (only below what real data reaches)
and also drops rows that are *more* likely than real data usually is, the ones a
collapsing model over-produces. It still trims tails: on a real 1-D Gaussian sample with
``quantile: 0.2`` the kept variance is 0.70 of the sample's (``high``: 0.44).
"""

from __future__ import annotations

import numpy as np

from genloop.core.errors import ConfigError
from genloop.curation.filters.base import KEPT, Batch, CurationContext, Filter

_KEEP = ("high", "typical")
_REFERENCE = ("initial", "batch")


def per_row_scores(model, X, per_token: bool) -> np.ndarray:
    """Log-likelihood of each row, per token for token sequences.

    Parameters
    ----------
    model : object with ``score_samples(X) -> ndarray of shape (n,)``
    X : ndarray
        Rows in the layout the model was fitted on.
    per_token : bool
        Divide each row's log-likelihood by its number of tokens (an empty row gets NaN).

    Returns
    -------
    ndarray of float, shape (n,)
    """
    scores = np.asarray(model.score_samples(X), dtype=float).reshape(-1)
    if per_token:
        lengths = np.array([len(np.atleast_1d(row)) for row in X], dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = np.where(lengths > 0, scores / np.maximum(lengths, 1), np.nan)
    return scores


class Quality(Filter):
    """Keep rows whose reference-model log-likelihood is high or typical.

    Parameters
    ----------
    keep : {"high", "typical"}, default "high"
        ``high``: drop low scores; ``typical``: drop scores outside the central band of
        held-out real rows' scores.
    quantile : float, default 0.1
        ``high`` without ``threshold``: the share of the batch with the lowest scores
        that is dropped. ``typical``: the share of held-out real scores outside the band
        (half below it, half above). In ``[0, 1)``.
    threshold : float, optional
        ``high`` only: keep rows scoring at least this (per token for text).
    reference : {"initial", "batch"}, default "initial"
        Score under generation 0's model (fitted on real data) or under the model that
        generated the batch (``batch.model``).
    per_token : bool, optional
        Divide scores by row length; default: yes for token-sequence rows (object
        arrays), no otherwise.
    miss_rate, false_alarm_rate : float, default 0
        Imperfection knobs (see :class:`~genloop.curation.filters.base.Filter`).
    """

    name = "quality"

    def __init__(
        self,
        keep="high",
        quantile=0.1,
        threshold=None,
        reference="initial",
        per_token=None,
        miss_rate=0.0,
        false_alarm_rate=0.0,
    ):
        super().__init__(miss_rate=miss_rate, false_alarm_rate=false_alarm_rate)
        if keep not in _KEEP:
            raise ConfigError(f"quality.keep must be one of {', '.join(_KEEP)}, got {keep!r}")
        if reference not in _REFERENCE:
            raise ConfigError(
                f"quality.reference must be one of {', '.join(_REFERENCE)}, got {reference!r}"
            )
        if not 0.0 <= float(quantile) < 1.0:
            raise ConfigError(f"quality.quantile must lie in [0, 1), got {quantile}")
        if threshold is not None and keep != "high":
            raise ConfigError("quality.threshold applies to keep: high only; use quantile")
        self.keep_mode = keep
        self.quantile = float(quantile)
        self.threshold = None if threshold is None else float(threshold)
        self.reference = reference
        self.per_token = per_token
        self._initial_model = None
        self._holdout = None
        self._band: tuple[float, float] | None = None

    def prepare(self, context: CurationContext) -> None:
        """Keep the reference model and, for ``typical``, the held-out real rows."""
        self._initial_model = context.initial_model
        self._band = None
        if self.keep_mode == "typical":
            if context.holdout is None or len(context.holdout) == 0:
                raise ConfigError(
                    "quality keep: typical needs held-out real rows (set holdout > 0)"
                )
            self._holdout = context.holdout

    def _per_token(self, X) -> bool:
        if self.per_token is not None:
            return bool(self.per_token)
        return isinstance(X, np.ndarray) and X.dtype == object

    def _model(self, batch: Batch):
        if self.reference == "batch":
            if batch.model is None:
                raise ConfigError("quality.reference: batch needs a batch with its model")
            return batch.model
        if self._initial_model is None:
            raise ConfigError("quality.reference: initial needs prepare(context) first")
        return self._initial_model

    def typical_band(self, model) -> tuple[float, float]:
        """The ``(low, high)`` score band of the held-out real rows under ``model``."""
        if self._holdout is None:
            raise ConfigError("quality keep: typical needs prepare(context) first")
        if self._band is not None and self.reference == "initial":
            return self._band  # the initial model never changes within a seed
        scores = per_row_scores(model, self._holdout, self._per_token(self._holdout))
        scores = scores[~np.isnan(scores)]
        if len(scores) == 0:
            raise ConfigError("quality keep: typical: no held-out row has a score")
        low, high = np.quantile(scores, [self.quantile / 2, 1 - self.quantile / 2])
        self._band = (float(low), float(high))
        return self._band

    def decide(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        model = self._model(batch)
        scores = per_row_scores(model, batch.X, self._per_token(batch.X))
        mask = ~np.isnan(scores)
        reasons = np.where(mask, KEPT, "no score (nan)").astype(object)
        if self.keep_mode == "typical":
            low, high = self.typical_band(model)
            below, above = mask & (scores < low), mask & (scores > high)
            band = f"[{low:.3g}, {high:.3g}]"
            for i in np.flatnonzero(below):
                reasons[i] = f"score {scores[i]:.3g} below the typical band {band}"
            for i in np.flatnonzero(above):
                reasons[i] = f"score {scores[i]:.3g} above the typical band {band}"
            mask &= ~(below | above)
        elif self.threshold is not None:
            low = mask & (scores < self.threshold)
            for i in np.flatnonzero(low):
                reasons[i] = f"score {scores[i]:.3g} < threshold {self.threshold:.3g}"
            mask &= ~low
        else:
            # The lowest floor(q n) scores go, ties broken by position (a fixed share,
            # unlike a cut at np.quantile, which ties and -inf scores would move).
            n_drop = int(np.floor(self.quantile * len(batch) + 1e-9))
            order = np.argsort(np.where(mask, scores, -np.inf), kind="stable")
            lowest = order[:n_drop]
            lowest = lowest[mask[lowest]]  # NaN rows already carry their reason
            for i in lowest:
                reasons[i] = (
                    f"score {scores[i]:.3g} in the lowest {self.quantile:.0%} of the batch"
                )
            mask[lowest] = False
        return mask, reasons
