"""verifier: keep what a check accepts; named checks for recipes, callables in Python."""

import numpy as np
import pytest

from genloop.core.errors import ConfigError, DataError
from genloop.curation.filters.base import Batch
from genloop.curation.filters.verifier import Verifier, register_check, registered_checks


def make_batch(X, texts=None):
    n = len(X)
    return Batch(X=X, origin=np.zeros(n, dtype=int), ids=np.array([f"s{i}" for i in range(n)]),
                 generation=1, texts=texts)


def test_finite():
    X = np.array([[1.0, 2.0], [np.nan, 0.0], [0.0, -np.inf], [3.0, 4.0]])
    mask, reasons = Verifier("finite").keep(make_batch(X))
    assert mask.tolist() == [True, False, False, True]
    assert reasons.tolist() == ["", "non-finite value", "non-finite value", ""]


def test_in_bounds_names_the_offending_value():
    X = np.array([[0.0, 1.0], [-4.5, 0.0], [3.0, 3.25], [np.nan, 0.0]])
    mask, reasons = Verifier("in_bounds", {"lower": -3, "upper": 3}).keep(make_batch(X))
    assert mask.tolist() == [True, False, False, False]
    assert reasons.tolist() == [
        "", "value -4.5 outside [-3, 3]", "value 3.25 outside [-3, 3]", "value nan outside [-3, 3]",
    ]
    mask, _ = Verifier("in_bounds", {"upper": 0.5}).keep(make_batch(X))
    assert mask.tolist() == [False, True, False, False]


def test_in_bounds_on_categorical_values():
    mask, _ = Verifier("in_bounds", {"lower": 1, "upper": 2}).keep(make_batch(np.array([0, 1, 2, 3])))
    assert mask.tolist() == [False, True, True, False]


def test_nonempty_texts_and_tokens():
    X = np.empty(3, dtype=object)
    X[:] = [np.array([1, 2]), np.array([], dtype=int), np.array([3])]
    mask, reasons = Verifier("nonempty").keep(make_batch(X))
    assert mask.tolist() == [True, False, True]
    assert reasons.tolist() == ["", "empty text", ""]
    mask, _ = Verifier("nonempty").keep(make_batch(X, texts=["a b", "x", "  \n"]))
    assert mask.tolist() == [True, True, False]


def test_numeric_checks_on_token_rows_are_data_errors():
    X = np.empty(2, dtype=object)
    X[:] = [np.array([1, 2]), np.array([3])]
    with pytest.raises(DataError, match="finite"):
        Verifier("finite").keep(make_batch(X))


def test_callable_check_with_and_without_reasons():
    def even_sum(batch):
        return batch.X.sum(axis=1) % 2 == 0

    mask, reasons = Verifier(even_sum).keep(make_batch(np.array([[1, 1], [1, 2], [2, 2]])))
    assert mask.tolist() == [True, False, True]
    assert reasons.tolist() == ["", "rejected by even_sum", ""]

    def answer_is_right(batch):
        right = batch.X[:, 0] + batch.X[:, 1] == batch.X[:, 2]
        why = np.array([f"{a}+{b}!={c}" for a, b, c in batch.X], dtype=object)
        why[1] = ""  # an empty reason for a rejected row falls back to the check's name
        return right, why

    X = np.array([[1, 2, 3], [2, 2, 5], [4, 4, 9], [0, 0, 0]])
    mask, reasons = Verifier(answer_is_right).keep(make_batch(X))
    assert mask.tolist() == [True, False, False, True]
    assert reasons.tolist() == ["", "rejected by answer_is_right", "4+4!=9", ""]


def test_registered_check_is_usable_by_name():
    def positive_first(batch, margin=0.0):
        return batch.X[:, 0] > margin

    register_check("test_positive_first", positive_first, replace=True)
    assert "test_positive_first" in registered_checks()
    v = Verifier("test_positive_first", {"margin": 1.0})
    assert v.keep(make_batch(np.array([[0.5], [2.0]])))[0].tolist() == [False, True]
    with pytest.raises(ConfigError, match="already registered"):
        register_check("test_positive_first", lambda batch: batch.X[:, 0] > 0)


def test_user_mistakes_are_one_line_config_errors():
    with pytest.raises(ConfigError, match="verifier.check 'nope' is not a registered check"):
        Verifier("nope")
    with pytest.raises(ConfigError, match="check_args.low is not a parameter"):
        Verifier("in_bounds", {"low": 0})
    with pytest.raises(ConfigError, match="callable"):
        Verifier(3)
    with pytest.raises(ConfigError, match="bool array of shape"):
        Verifier(lambda batch: np.ones(1, dtype=bool)).keep(make_batch(np.zeros((2, 1))))
    with pytest.raises(ConfigError, match="bool array"):
        Verifier(lambda batch: np.ones(2)).keep(make_batch(np.zeros((2, 1))))
    with pytest.raises(ConfigError, match="reasons"):
        Verifier(lambda batch: (np.ones(2, bool), ["a"])).keep(make_batch(np.zeros((2, 1))))
