"""Real vs synthetic: a classifier that tells real rows from generated ones.

Used by the ``detector`` filter and, through
:func:`genloop.curation.detectability.detectability`, by ``genloop audit``::

    detector = SyntheticDetector("text", decode=source.decode).fit(real, synthetic)
    p = detector.p_synthetic(rows)          # (n,) in [0, 1]

Features (:func:`make_features`): TF-IDF of word 1–2-grams of the decoded text,
standardised columns for vectors, one-hot states for categorical data. Classifiers:

* ``"logistic"`` — the text and categorical default;
* ``"quadratic"`` — logistic regression on standardised columns, their squares and
  products (vectors default): the log density ratio of two Gaussians is quadratic, so it
  sees a shrunk variance a linear model cannot. Against a small MLP on variance-shrunk
  Gaussians it detected better in 7 of 8 settings (the eighth: both within noise of 0.5;
  ``docs/detection.md``);
* ``"mlp"`` — a small ``MLPClassifier`` with early stopping, for ratios a quadratic
  cannot draw (a bimodal truth against one Gaussian).

Classes are balanced by subsampling the larger side, so ``p_synthetic`` has a 50% prior
and AUC 0.5 means "indistinguishable". Text rows may be strings or token arrays; token
arrays need ``decode`` (the text source's ``decode(tokens) -> str``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from genloop.core.errors import ConfigError, DataError

KINDS = ("vectors", "categorical", "text")
CLASSIFIERS = ("auto", "logistic", "quadratic", "mlp")
# Classifier per data kind when classifier="auto" (why: see the module docstring).
AUTO_CLASSIFIER = {"vectors": "quadratic", "categorical": "logistic", "text": "logistic"}
# Inverse L2 penalty of the text classifier (see make_classifier).
TEXT_C = 10.0


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ConfigError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return kind


def _check_classifier(classifier: str, kind: str) -> str:
    if classifier not in CLASSIFIERS:
        raise ConfigError(
            f"classifier must be one of {', '.join(CLASSIFIERS)}, got {classifier!r}"
        )
    if classifier == "auto":
        return AUTO_CLASSIFIER[kind]
    if kind != "vectors" and classifier in ("quadratic", "mlp"):
        raise ConfigError(f"classifier={classifier!r} applies to vectors, not {kind} data")
    return classifier


def as_texts(rows, decode: Callable[[np.ndarray], str] | None = None) -> list[str]:
    """Text rows as strings: strings pass through, token arrays go through ``decode``.

    Parameters
    ----------
    rows : sequence of str, or object array of 1-D token arrays, shape (n,)
    decode : callable, optional
        ``decode(tokens) -> str``; required when the rows are token arrays.

    Returns
    -------
    list of str, length n
    """
    texts = []
    for row in rows:
        if isinstance(row, str):
            texts.append(row)
        elif decode is None:
            raise ConfigError(
                "text rows are token arrays; pass decode= (the text source's decode) "
                "or give the rows as strings"
            )
        else:
            texts.append(decode(row))
    return texts


def as_matrix(rows, kind: str, decode=None):
    """Rows in the layout :func:`make_features` expects.

    Vectors become a float array ``(n, d)`` (1-D input is one column), categorical rows an
    int array ``(n, 1)``, text rows a list of strings.
    """
    if kind == "text":
        return as_texts(rows, decode)
    try:
        array = np.asarray(rows, dtype=float if kind == "vectors" else np.int64)
    except (TypeError, ValueError):
        raise DataError(f"{kind} rows must be numbers, got {type(rows).__name__}") from None
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise DataError(f"{kind} rows must be a 2-D array (n, d), got shape {array.shape}")
    if kind == "vectors" and not np.all(np.isfinite(array)):
        raise DataError("vector rows hold NaN or infinite values")
    return array


def make_features(kind: str):
    """An unfitted scikit-learn transformer that turns rows of ``kind`` into features.

    Parameters
    ----------
    kind : {"vectors", "categorical", "text"}

    Returns
    -------
    transformer
        text: ``TfidfVectorizer`` over lower-case word 1–2-grams (sublinear tf, words of
        letters and apostrophes); vectors: ``StandardScaler``; categorical:
        ``OneHotEncoder`` (unknown states encode as all zeros).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    _check_kind(kind)
    if kind == "text":
        # Words, not characters: the features must be readable in top_features, and the
        # planted-word and lost-rare-word signals are word-level.
        return TfidfVectorizer(
            ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z']*\b"
        )
    if kind == "vectors":
        return StandardScaler()
    return OneHotEncoder(handle_unknown="ignore")


def make_classifier(classifier: str, seed: int = 0, kind: str = "vectors"):
    """An unfitted classifier: ``logistic``, ``quadratic`` (vectors) or ``mlp`` (vectors)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    if classifier == "mlp":
        return MLPClassifier(
            hidden_layer_sizes=(32, 32), early_stopping=True, max_iter=500, random_state=seed
        )
    # TF-IDF rows have unit norm, so single words move the logit little: a weaker penalty
    # on text keeps p_synthetic from hugging 0.5 when a planted word separates the classes.
    logistic = LogisticRegression(C=TEXT_C if kind == "text" else 1.0, max_iter=2000)
    if classifier == "quadratic":
        # Squares and products of standardised columns, standardised again so one C suits
        # every term.
        return make_pipeline(
            PolynomialFeatures(degree=2, include_bias=False), StandardScaler(), logistic
        )
    return logistic


def balanced(real, synthetic, rng: np.random.Generator):
    """Both sides cut to the smaller size by a seeded subsample (order kept).

    Returns
    -------
    real, synthetic
        Subsets of the inputs, each of ``min(len(real), len(synthetic))`` rows.
    """
    n = min(len(real), len(synthetic))

    def cut(rows):
        if len(rows) == n:
            return rows
        index = np.sort(rng.choice(len(rows), size=n, replace=False))
        return [rows[i] for i in index] if isinstance(rows, list) else rows[index]

    return cut(real), cut(synthetic)


def stack_labelled(real, synthetic):
    """Real then synthetic rows, and labels 0 (real) / 1 (synthetic)."""
    rows = real + synthetic if isinstance(real, list) else np.concatenate([real, synthetic])
    y = np.r_[np.zeros(len(real), dtype=int), np.ones(len(synthetic), dtype=int)]
    return rows, y


class SyntheticDetector:
    """A classifier of real (0) vs synthetic (1) rows.

    Parameters
    ----------
    kind : {"vectors", "categorical", "text"}
    classifier : {"auto", "logistic", "quadratic", "mlp"}, default "auto"
        ``auto``: quadratic logistic regression for vectors, logistic otherwise.
    seed : int, default 0
        Seeds the class-balancing subsample and the MLP's initialisation.
    decode : callable, optional
        ``decode(tokens) -> str`` for text rows given as token arrays.
    feature_names : list of str, optional
        Column names for vectors (default ``x0, x1, ...``).

    Attributes
    ----------
    features_ : transformer
        The fitted feature map (:func:`make_features`).
    model_ : estimator
        The fitted classifier.
    n_real_, n_synthetic_ : int
        Rows of each side used (after balancing).
    """

    def __init__(self, kind, classifier="auto", seed=0, decode=None, feature_names=None):
        self.kind = _check_kind(kind)
        self.classifier = _check_classifier(classifier, self.kind)
        self.seed = int(seed)
        self.decode = decode
        self.feature_names = None if feature_names is None else [str(f) for f in feature_names]

    def new_pipeline(self):
        """An unfitted features + classifier pipeline of this detector's settings."""
        from sklearn.pipeline import make_pipeline

        classifier = make_classifier(self.classifier, self.seed, self.kind)
        return make_pipeline(make_features(self.kind), classifier)

    def as_rows(self, rows):
        """``rows`` in the form the pipeline takes (strings for text, a matrix otherwise)."""
        return as_matrix(rows, self.kind, self.decode)

    def fit(self, real, synthetic) -> SyntheticDetector:
        """Fit on ``real`` (label 0) and ``synthetic`` (label 1) rows, balanced first.

        Parameters
        ----------
        real, synthetic : array-like
            Rows of this detector's kind: ``(n, d)`` vectors, ``(n, 1)`` states, strings
            or token arrays (text).
        """
        real, synthetic = self.as_rows(real), self.as_rows(synthetic)
        if min(len(real), len(synthetic)) < 2:
            raise DataError(
                f"a real-vs-synthetic detector needs >= 2 rows of each side, got "
                f"{len(real)} real and {len(synthetic)} synthetic"
            )
        real, synthetic = balanced(real, synthetic, np.random.default_rng(self.seed))
        rows, y = stack_labelled(real, synthetic)
        self.pipeline_ = self.new_pipeline().fit(rows, y)
        self.features_, self.model_ = self.pipeline_[0], self.pipeline_[-1]
        self.n_real_, self.n_synthetic_ = len(real), len(synthetic)
        return self

    def p_synthetic(self, rows) -> np.ndarray:
        """Probability that each row is synthetic, shape ``(n,)``."""
        if not hasattr(self, "pipeline_"):
            raise RuntimeError("call SyntheticDetector.fit before p_synthetic")
        rows = self.as_rows(rows)
        if len(rows) == 0:
            return np.zeros(0)
        return self.pipeline_.predict_proba(rows)[:, 1]

    def top_features(self, k=10, rows=None, y=None) -> list[tuple[str, float]]:
        """The ``k`` features that weigh most, as ``(name, signed weight)``, largest first.

        A positive weight points to synthetic, a negative one to real. Linear classifiers
        report their coefficients on standardised (or TF-IDF) features: words and 2-grams
        for text, ``state=j`` for categorical data, ``x0``, ``x0^2``, ``x0 x1`` terms for
        quadratic vectors. The MLP reports permutation importance per column on
        ``rows``/``y`` (AUC lost when the column is shuffled; its sign says only that the
        column helps, not in which direction).
        """
        if self.classifier == "mlp":
            weights, names = self._permutation_weights(rows, y), self._column_names()
        else:
            weights = self.model_[-1].coef_[0] if self.classifier == "quadratic" else (
                self.model_.coef_[0]
            )
            names = self._linear_names()
        order = np.argsort(-np.abs(weights), kind="stable")[:k]
        return [(str(names[i]), float(weights[i])) for i in order]

    def _column_names(self) -> list[str]:
        d = self.features_.n_features_in_
        names = self.feature_names or [f"x{j}" for j in range(d)]
        if len(names) != d:
            raise ConfigError(f"feature_names has {len(names)} names for {d} columns")
        return names

    def _linear_names(self) -> list[str]:
        if self.kind == "text":
            return list(self.features_.get_feature_names_out())
        if self.kind == "categorical":
            return [f"state={c}" for c in self.features_.categories_[0]]
        columns = self._column_names()
        if self.classifier == "quadratic":
            return list(self.model_[0].get_feature_names_out(columns))
        return columns

    def _permutation_weights(self, rows, y) -> np.ndarray:
        from sklearn.inspection import permutation_importance

        if rows is None or y is None:
            raise ConfigError("an MLP detector's top features need rows and labels to permute")
        result = permutation_importance(
            self.pipeline_, self.as_rows(rows), y, scoring="roc_auc", n_repeats=5,
            random_state=self.seed,
        )
        return result.importances_mean
