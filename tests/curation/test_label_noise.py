"""The ``label_noise`` curation filter (cleanlab confident learning)."""

from types import SimpleNamespace

import numpy as np
import pytest

from genloop.core.errors import ConfigError, DataError
from genloop.core.registry import ComponentSpec
from genloop.curation.filters.base import Batch, CurationContext, build_filter
from genloop.curation.filters.label_noise import LabelNoise


def _batch(X, labels, texts=None):
    n = len(X)
    return Batch(X=X, origin=np.full(n, -1), ids=np.array([f"r{i}" for i in range(n)]),
                 generation=1, labels=labels, texts=texts)


def _two_blobs():
    """Two blobs 8 apart (x = ±4 + noise of sd 0.3), 20 rows each; rows 3 and 27 flipped."""
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal([-4.0, 0.0], 0.3, (20, 2)), rng.normal([4.0, 0.0], 0.3, (20, 2))]
    labels = np.r_[np.zeros(20, dtype=int), np.ones(20, dtype=int)]
    labels[[3, 27]] = 1 - labels[[3, 27]]
    return X, labels


def test_flags_exactly_the_flipped_labels():
    X, labels = _two_blobs()
    mask, reasons = LabelNoise().keep(_batch(X, labels))
    assert np.flatnonzero(~mask).tolist() == [3, 27]
    assert reasons[3].startswith("label 1 looks wrong (p(given)=0.0")
    assert ", p(0)=" in reasons[3] and reasons[27].startswith("label 0 looks wrong")
    assert set(reasons[mask]) == {""}


def test_label_names_are_kept_in_reasons():
    X, labels = _two_blobs()
    names = np.where(labels == 1, "spam", "ham")
    mask, reasons = LabelNoise().keep(_batch(X, names))
    assert np.flatnonzero(~mask).tolist() == [3, 27]
    assert reasons[3].startswith("label spam looks wrong") and "p(ham)=" in reasons[3]


def test_clean_labels_flag_nothing():
    X, labels = _two_blobs()
    labels[[3, 27]] = 1 - labels[[3, 27]]
    mask, _ = LabelNoise().keep(_batch(X, labels))
    assert mask.all()


def test_text_rows_use_tfidf_of_texts():
    """Ten 'spam' and ten 'ham' messages from two disjoint vocabularies, seed 0, one ham
    message labelled spam: it alone is flagged."""
    rng = np.random.default_rng(0)
    spam = "free win offer cash prize claim now click".split()
    ham = "thou art my lord good night sweet prince".split()
    texts = [" ".join(rng.choice(spam if i < 10 else ham, 6)) for i in range(20)]
    labels = np.r_[np.ones(10, dtype=int), np.zeros(10, dtype=int)]
    labels[15] = 1
    X = np.empty(20, dtype=object)
    X[:] = [np.zeros(1, dtype=np.int64)] * 20
    mask, reasons = LabelNoise(folds=3).keep(_batch(X, labels, texts=texts))
    assert np.flatnonzero(~mask).tolist() == [15]


def test_errors_name_the_problem():
    X, labels = _two_blobs()
    with pytest.raises(ConfigError, match="needs labelled rows"):
        LabelNoise().keep(_batch(X, None))
    with pytest.raises(DataError, match="fewer than folds=5"):
        LabelNoise().keep(_batch(X[:23], labels[:23]))
    with pytest.raises(DataError, match=">= 2 classes"):
        LabelNoise().keep(_batch(X[:10], np.zeros(10, dtype=int)))
    for bad in ({"folds": 1}, {"classifier": "forest"}, {"method": "vote"}, {"seed": 0.5},
                {"false_alarm_rate": -0.1}):
        with pytest.raises(ConfigError):
            LabelNoise(**bad)
    f = build_filter(ComponentSpec(name="label_noise", folds=3, method="both", miss_rate=0.2))
    assert isinstance(f, LabelNoise) and f.folds == 3 and f.miss_rate == 0.2
    text_filter = LabelNoise(classifier="quadratic")
    text_filter.prepare(CurationContext(X, None, SimpleNamespace(kind="text"), None,
                                        np.random.default_rng(0)))
    with pytest.raises(ConfigError, match="applies to vectors"):
        text_filter.keep(_batch(X, labels, texts=["a"] * 40))
