"""``detector``: drop (or importance-resample) rows a real-vs-synthetic classifier flags.

:meth:`Detector.prepare` trains a :class:`~genloop.curation.detect.SyntheticDetector` on
real rows (the held-out rows when there are any, else the original ones) against as many
samples of generation 0's model. :meth:`Detector.decide` then scores each candidate:

``mode: drop``
    rows with ``p_synthetic >= threshold`` are dropped (reason ``"p_synthetic=0.93"``).
``mode: resample``
    each row is kept with probability ``w = min(1, (1 - p) / p)``, the density-ratio
    weight ``p_real / p_synthetic`` of a balanced classifier capped at 1, drawn with the
    batch's stream (reason ``"resampled out (w=0.21)"``): rows typical of real data stay,
    rows the model over-produces are thinned in proportion.

``refit: every_generation`` retrains before each generation on the current model's
samples (``batch.model``) against the same real rows, following the model as it drifts.

A detector trained on generation 0's samples learns only where that model is wrong; where
the model is still accurate its samples *are* indistinguishable from real rows, so the
detector scores about 0.5 there and drops nothing. That is a measured finding (see
``docs/detection.md``), not a bug.
"""

from __future__ import annotations

import numpy as np

from genloop.core.errors import ConfigError
from genloop.curation.detect import CLASSIFIERS, SyntheticDetector, as_texts
from genloop.curation.filters.base import KEPT, Batch, CurationContext, Filter

MODES = ("drop", "resample")
REFITS = ("once", "every_generation")


class Detector(Filter):
    """Drop or resample rows by a real-vs-synthetic classifier's ``p_synthetic``.

    Parameters
    ----------
    threshold : float, default 0.5
        ``mode: drop`` drops rows with ``p_synthetic >= threshold``; in ``(0, 1]``.
    mode : {"drop", "resample"}, default "drop"
    refit : {"once", "every_generation"}, default "once"
        Train once on generation 0's samples, or again on each generation's model.
    train_size : int, default 1000
        Real rows (subsampled when there are more) and as many model samples to train on.
    classifier : {"auto", "logistic", "quadratic", "mlp"}, default "auto"
        See :mod:`genloop.curation.detect`.
    miss_rate, false_alarm_rate : float, default 0
        Imperfection knobs (see :class:`~genloop.curation.filters.base.Filter`).

    Attributes
    ----------
    detector_ : SyntheticDetector
        The fitted classifier (set by :meth:`prepare`).
    trained_on_generation_ : int
        The generation whose model's samples ``detector_`` was trained on.
    """

    name = "detector"

    def __init__(
        self,
        threshold=0.5,
        mode="drop",
        refit="once",
        train_size=1000,
        classifier="auto",
        miss_rate=0.0,
        false_alarm_rate=0.0,
    ):
        super().__init__(miss_rate=miss_rate, false_alarm_rate=false_alarm_rate)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not (
            0.0 < threshold <= 1.0
        ):
            raise ConfigError(f"detector.threshold must lie in (0, 1], got {threshold!r}")
        if mode not in MODES:
            raise ConfigError(f"detector.mode must be one of {', '.join(MODES)}, got {mode!r}")
        if refit not in REFITS:
            raise ConfigError(f"detector.refit must be one of {', '.join(REFITS)}, got {refit!r}")
        if isinstance(train_size, bool) or not isinstance(train_size, int) or train_size < 2:
            raise ConfigError(f"detector.train_size must be an integer >= 2, got {train_size!r}")
        if classifier not in CLASSIFIERS:
            raise ConfigError(
                f"detector.classifier must be one of {', '.join(CLASSIFIERS)}, got {classifier!r}"
            )
        self.threshold = float(threshold)
        self.mode = mode
        self.refit = refit
        self.train_size = train_size
        self.classifier = classifier

    # --- training ----------------------------------------------------------------------

    def prepare(self, context: CurationContext) -> None:
        """Train on real rows vs samples of ``context.initial_model``."""
        holdout = context.holdout
        real = holdout if holdout is not None and len(holdout) >= 2 else context.original
        if len(real) > self.train_size:
            real = real[np.sort(context.rng.choice(len(real), self.train_size, replace=False))]
        self.kind_ = context.kind
        self.decode_ = getattr(context.source, "decode", None)
        self.real_ = real
        self.detector_ = self._train(context.initial_model, context.rng)
        self.trained_on_generation_ = 0

    def _train(self, model, rng: np.random.Generator) -> SyntheticDetector:
        synthetic = model.sample(len(self.real_), random_state=rng)
        detector = SyntheticDetector(
            self.kind_, self.classifier, seed=int(rng.integers(2**31 - 1)), decode=self.decode_
        )
        return detector.fit(self.real_, synthetic)

    # --- verdicts ------------------------------------------------------------------------

    def p_synthetic(self, batch: Batch) -> np.ndarray:
        """The detector's ``p_synthetic`` of every row of ``batch``, shape ``(n,)``."""
        if not hasattr(self, "detector_"):
            raise ConfigError("filter 'detector' was used before prepare() trained it")
        if self.kind_ == "text":
            rows = batch.texts if batch.texts is not None else as_texts(batch.X, self.decode_)
        else:
            rows = batch.X
        return self.detector_.p_synthetic(rows)

    def decide(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        if (
            self.refit == "every_generation"
            and batch.model is not None
            and batch.generation != self.trained_on_generation_
        ):
            self.detector_ = self._train(batch.model, batch.rng)
            self.trained_on_generation_ = batch.generation
        p = self.p_synthetic(batch)
        reasons = np.full(len(batch), KEPT, dtype=object)
        if self.mode == "drop":
            keep = p < self.threshold
            for i in np.flatnonzero(~keep):
                reasons[i] = f"p_synthetic={p[i]:.2f}"
            return keep, reasons
        weight = resample_weight(p)
        keep = batch.rng.random(len(batch)) < weight
        for i in np.flatnonzero(~keep):
            reasons[i] = f"resampled out (w={weight[i]:.2f})"
        return keep, reasons


def resample_weight(p_synthetic: np.ndarray) -> np.ndarray:
    """Keep probability ``min(1, (1 - p) / p)`` of each row, shape ``(n,)``.

    For a classifier trained on balanced classes, ``(1 - p) / p`` estimates the density
    ratio ``p_real(x) / p_model(x)``; keeping rows with that probability (capped at 1)
    thins what the model over-produces toward the real density. ``p = 0`` gives 1.
    """
    p = np.asarray(p_synthetic, dtype=float)
    ratio = np.divide(1.0 - p, p, out=np.full_like(p, np.inf), where=p > 0)
    return np.minimum(1.0, ratio)
