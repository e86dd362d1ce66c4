"""``label_noise``: drop labelled rows whose label looks wrong (confident learning).

For a batch with labels, every row gets out-of-sample class probabilities from a
classifier that never saw it (``cross_val_predict`` over stratified folds), on features
suited to the data (standardised columns for vectors, TF-IDF word 1–2-grams of the
decoded text, one-hot states; :func:`genloop.curation.detect.make_features`). cleanlab's
``find_label_issues`` then flags the rows whose given label the probabilities
contradict beyond each class's own confidence threshold (Northcutt et al., 2021).

A flagged row's reason names the given label and the likeliest other one, e.g.
``"label 1 looks wrong (p(given)=0.03, p(0)=0.95)"``.

It also catches a backdoor of the seed's spam example: ham-labelled rows with spam
trigger words planted in them look like mislabelled spam (see ``docs/detection.md``).
"""

from __future__ import annotations

import numpy as np

from genloop.core.errors import ConfigError, DataError
from genloop.curation.detect import as_matrix, make_classifier, make_features
from genloop.curation.filters.base import KEPT, Batch, CurationContext, Filter

# cleanlab.filter.find_label_issues(filter_by=...)
METHODS = (
    "prune_by_noise_rate",
    "prune_by_class",
    "both",
    "confident_learning",
    "predicted_neq_given",
    "low_normalized_margin",
    "low_self_confidence",
)
CLASSIFIERS = ("logistic", "quadratic", "mlp")


class LabelNoise(Filter):
    """Drop rows whose label confident learning flags as a likely error.

    Parameters
    ----------
    folds : int, default 5
        Stratified cross-validation folds for out-of-sample probabilities; every class
        needs at least this many rows in a batch.
    classifier : {"logistic", "quadratic", "mlp"}, default "logistic"
        ``quadratic`` and ``mlp`` apply to vectors (see :mod:`genloop.curation.detect`).
    method : str, default "prune_by_noise_rate"
        cleanlab's ``filter_by``: one of ``METHODS``.
    seed : int, default 0
        Seeds the fold split and the classifier.
    miss_rate, false_alarm_rate : float, default 0
        Imperfection knobs (see :class:`~genloop.curation.filters.base.Filter`).
    """

    name = "label_noise"

    def __init__(
        self,
        folds=5,
        classifier="logistic",
        method="prune_by_noise_rate",
        seed=0,
        miss_rate=0.0,
        false_alarm_rate=0.0,
    ):
        super().__init__(miss_rate=miss_rate, false_alarm_rate=false_alarm_rate)
        if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
            raise ConfigError(f"label_noise.folds must be an integer >= 2, got {folds!r}")
        if classifier not in CLASSIFIERS:
            raise ConfigError(
                f"label_noise.classifier must be one of {', '.join(CLASSIFIERS)}, "
                f"got {classifier!r}"
            )
        if method not in METHODS:
            raise ConfigError(
                f"label_noise.method must be one of {', '.join(METHODS)}, got {method!r}"
            )
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"label_noise.seed must be an integer, got {seed!r}")
        self.folds = folds
        self.classifier = classifier
        self.method = method
        self.seed = seed
        self.decode_ = None
        self.kind_ = None

    def prepare(self, context: CurationContext) -> None:
        """Remember the data kind and how to decode text rows (for batches without texts)."""
        self.decode_ = getattr(context.source, "decode", None)
        self.kind_ = context.kind

    def _kind(self, batch: Batch) -> str:
        if self.kind_ is not None:
            return self.kind_
        # Without prepare() (the Python API on a bare batch), infer the kind from the rows.
        if batch.texts is not None or np.asarray(batch.X).dtype == object:
            return "text"
        return "categorical" if np.asarray(batch.X).dtype.kind in "iu" else "vectors"

    def _pipeline(self, kind: str):
        from sklearn.pipeline import make_pipeline

        if kind != "vectors" and self.classifier != "logistic":
            raise ConfigError(
                f"label_noise.classifier={self.classifier!r} applies to vectors, not {kind} data"
            )
        return make_pipeline(make_features(kind), make_classifier(self.classifier, self.seed, kind))

    def out_of_sample_probabilities(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities of each row from models that did not see it.

        Returns
        -------
        classes : ndarray, shape (k,)
            The distinct labels, sorted (column order of the probabilities).
        pred_probs : ndarray of float, shape (n, k)
        """
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        if batch.labels is None:
            raise ConfigError(
                "filter 'label_noise' needs labelled rows, but the batch has no labels "
                "(use a labelled source such as spam, or drop label_noise from curation)"
            )
        labels = np.asarray(batch.labels)
        if labels.shape != (len(batch),):
            raise DataError(f"label_noise: {labels.shape} labels for {len(batch)} rows")
        classes, y = np.unique(labels, return_inverse=True)
        counts = np.bincount(y)
        if len(classes) < 2:
            raise DataError(f"label_noise needs >= 2 classes in a batch, got {classes.tolist()}")
        if counts.min() < self.folds:
            rare = classes[int(np.argmin(counts))]
            raise DataError(
                f"label_noise: class {rare!r} has {counts.min()} rows, fewer than "
                f"folds={self.folds}; lower label_noise.folds or curate larger batches"
            )
        kind = self._kind(batch)
        rows = batch.texts if kind == "text" and batch.texts is not None else batch.X
        rows = as_matrix(rows, kind, self.decode_)
        splitter = StratifiedKFold(n_splits=self.folds, shuffle=True, random_state=self.seed)
        pred_probs = cross_val_predict(
            self._pipeline(kind), rows, y, cv=splitter, method="predict_proba"
        )
        return classes, pred_probs

    def decide(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        from cleanlab.filter import find_label_issues

        classes, pred_probs = self.out_of_sample_probabilities(batch)
        y = np.searchsorted(classes, np.asarray(batch.labels))
        issues = find_label_issues(y, pred_probs, filter_by=self.method, n_jobs=1)
        reasons = np.full(len(batch), KEPT, dtype=object)
        for i in np.flatnonzero(issues):
            others = pred_probs[i].copy()
            others[y[i]] = -1.0
            best = int(np.argmax(others))
            reasons[i] = (
                f"label {classes[y[i]]} looks wrong (p(given)={pred_probs[i, y[i]]:.2f}, "
                f"p({classes[best]})={pred_probs[i, best]:.2f})"
            )
        return ~issues, reasons
