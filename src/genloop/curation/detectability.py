"""How detectable synthetic data is: out-of-fold AUC of the real-vs-synthetic classifier.

::

    result = detectability(real, synthetic, kind="vectors")
    result.auc, (result.auc_low, result.auc_high), result.top_features[:3]

The classifier and its features are :class:`genloop.curation.detect.SyntheticDetector`'s;
this module only evaluates it: stratified folds so every row is scored by a model that
did not see it, a bootstrap interval of the AUC, and the features that give synthetic
rows away. ``genloop audit`` reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from genloop.core.errors import ConfigError, DataError
from genloop.curation.detect import SyntheticDetector, balanced, stack_labelled

# Bootstrap resamples of the out-of-fold scores for the AUC interval.
N_BOOTSTRAP = 400


@dataclass
class DetectabilityResult:
    """How well a classifier tells synthetic rows from real ones.

    Attributes
    ----------
    auc : float
        Cross-validated ROC AUC over out-of-fold predictions (0.5: indistinguishable,
        1.0: every synthetic row scores above every real one).
    auc_low, auc_high : float
        A 95 % percentile-bootstrap interval of ``auc``: rows resampled (within each
        class) ``N_BOOTSTRAP`` times with the seed, the out-of-fold scores kept fixed,
        so it reflects the finite test set, not the variance of refitting.
    n_real, n_synthetic : int
        Rows of each side used (after balancing; equal).
    top_features : list of (str, float)
        Features that give synthetic data away, as ``(name, signed weight)`` from a
        classifier fitted on all rows; positive: more typical of synthetic rows.
    classifier : str
        The classifier used (``auto`` resolved).
    """

    auc: float
    auc_low: float
    auc_high: float
    n_real: int
    n_synthetic: int
    top_features: list[tuple[str, float]] = field(default_factory=list)
    classifier: str = ""


def _bootstrap_interval(y, scores, rng, level=0.95) -> tuple[float, float]:
    from sklearn.metrics import roc_auc_score

    positives, negatives = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    aucs = np.empty(N_BOOTSTRAP)
    for b in range(N_BOOTSTRAP):
        index = np.r_[rng.choice(negatives, len(negatives)), rng.choice(positives, len(positives))]
        aucs[b] = roc_auc_score(y[index], scores[index])
    tail = (1 - level) / 2
    return float(np.quantile(aucs, tail)), float(np.quantile(aucs, 1 - tail))


def detectability(
    real, synthetic, kind, folds=5, seed=0, classifier="auto", decode=None, feature_names=None,
    n_top=10,
) -> DetectabilityResult:
    """Cross-validated real-vs-synthetic AUC, its interval, and the tell-tale features.

    Parameters
    ----------
    real, synthetic : array-like
        Rows of ``kind`` (see :class:`SyntheticDetector`); the larger side is subsampled
        to the smaller one's size with ``seed``.
    kind : {"vectors", "categorical", "text"}
    folds : int, default 5
        Stratified folds; every row is scored by a model that did not see it.
    seed : int, default 0
        Seeds the balancing, the fold split, the classifier and the bootstrap.
    classifier, decode, feature_names
        As in :class:`SyntheticDetector`.
    n_top : int, default 10
        How many top features to report.

    Returns
    -------
    DetectabilityResult
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise ConfigError(f"folds must be an integer >= 2, got {folds!r}")
    detector = SyntheticDetector(kind, classifier, seed, decode, feature_names)
    rng = np.random.default_rng(seed)
    real, synthetic = detector.as_rows(real), detector.as_rows(synthetic)
    real, synthetic = balanced(real, synthetic, rng)
    if len(real) < folds:
        raise DataError(
            f"detectability with folds={folds} needs >= {folds} rows of each side, "
            f"got {len(real)}"
        )
    rows, y = stack_labelled(real, synthetic)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = cross_val_predict(
        detector.new_pipeline(), rows, y, cv=splitter, method="predict_proba"
    )[:, 1]
    low, high = _bootstrap_interval(y, scores, rng)
    # Top features from a model fitted on every row (already balanced: no second cut).
    detector.fit(real, synthetic)
    return DetectabilityResult(
        auc=float(roc_auc_score(y, scores)),
        auc_low=low,
        auc_high=high,
        n_real=len(real),
        n_synthetic=len(synthetic),
        top_features=detector.top_features(n_top, rows, y),
        classifier=detector.classifier,
    )
