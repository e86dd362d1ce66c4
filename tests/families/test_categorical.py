"""Categorical family: exact contracts (tier 1) and seeded sampling statistics (tier 2)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy.stats import chisquare
from sklearn.exceptions import NotFittedError

from genloop.core.errors import ConfigError, DataError
from genloop.families.categorical import Categorical, InvalidStatesError

# --- tier 1: hand-made inputs, exact outputs ---------------------------------------


def test_mle_probabilities_on_hand_made_states():
    model = Categorical(n_states=3).fit(np.array([[0], [0], [1]]))
    np.testing.assert_array_equal(model.counts_, [2, 1, 0])
    np.testing.assert_allclose(model.probabilities_, [2 / 3, 1 / 3, 0.0], rtol=0, atol=1e-15)
    assert model.n_states_ == 3
    assert model.n_features_in_ == 1
    assert model.kind == "categorical"


def test_smoothing_adds_a_pseudo_count_per_state():
    model = Categorical(n_states=3, smoothing=1.0).fit(np.array([[0], [0], [1]]))
    # (counts + 1) / (3 + 3 * 1)
    np.testing.assert_allclose(model.probabilities_, [3 / 6, 2 / 6, 1 / 6], rtol=0, atol=1e-15)


def test_n_states_is_inferred_from_the_largest_state():
    model = Categorical().fit(np.array([[4], [1], [1]]))
    assert model.n_states_ == 5
    np.testing.assert_array_equal(model.counts_, [0, 2, 0, 0, 1])


def test_float_arrays_holding_integers_are_accepted():
    floats = Categorical(n_states=3).fit(np.array([[0.0], [2.0], [2.0]]))
    ints = Categorical(n_states=3).fit(np.array([[0], [2], [2]]))
    np.testing.assert_array_equal(floats.probabilities_, ints.probabilities_)


def test_score_samples_is_log_probability_with_minus_inf_for_lost_states():
    model = Categorical(n_states=3).fit(np.array([[0], [0], [1]]))
    scores = model.score_samples(np.array([[0], [1], [2]]))
    np.testing.assert_allclose(scores[:2], np.log([2 / 3, 1 / 3]), rtol=1e-15)
    assert scores[2] == -np.inf
    assert model.score(np.array([[0], [1]])) == pytest.approx(np.mean(np.log([2 / 3, 1 / 3])))


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([[0.5]], "must be integers, got 0.5"),
        ([[-1]], "Negative values in data"),
        ([[3]], "state 3 is out of range for n_states=3"),
        ([[0, 1]], "one column of integer states"),
    ],
)
def test_invalid_states_are_rejected_with_one_line_messages(rows, message):
    with pytest.raises(InvalidStatesError, match=message) as caught:
        Categorical(n_states=3).fit(np.array(rows))
    assert "\n" not in str(caught.value)
    # Both genloop's DataError (the CLI prints it) and sklearn's ValueError.
    assert isinstance(caught.value, DataError)
    assert isinstance(caught.value, ValueError)


def test_score_samples_rejects_states_outside_the_model():
    model = Categorical(n_states=2).fit(np.array([[0], [1]]))
    with pytest.raises(InvalidStatesError, match="out of range"):
        model.score_samples(np.array([[2]]))


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"n_states": 0}, "n_states"),
        ({"n_states": 2.5}, "n_states"),
        ({"smoothing": -1.0}, "smoothing"),
        ({"smoothing": "add-one"}, "smoothing"),
    ],
)
def test_bad_parameters_raise_config_error_naming_the_key(params, key):
    with pytest.raises(ConfigError, match=f"Categorical: {key}="):
        Categorical(**params).fit(np.array([[0], [1]]))


def test_unfitted_model_refuses_to_score_or_sample():
    with pytest.raises(NotFittedError):
        Categorical().score_samples(np.array([[0]]))
    with pytest.raises(NotFittedError):
        Categorical().sample(3)


def test_rejects_nan_and_one_dimensional_input():
    with pytest.raises(ValueError, match="NaN"):
        Categorical().fit(np.array([[0.0], [np.nan]]))
    with pytest.raises(ValueError, match="2D array"):
        Categorical().fit(np.array([0, 1]))


def test_sample_shape_dtype_and_support():
    model = Categorical(n_states=4).fit(np.array([[0], [2], [2]]))
    rows = model.sample(50, np.random.default_rng(1))
    assert rows.shape == (50, 1)
    assert rows.dtype == np.int64
    assert set(np.unique(rows)) <= {0, 2}  # states with probability zero never appear
    assert model.sample(0, 1).shape == (0, 1)
    with pytest.raises(ConfigError, match="n_samples"):
        model.sample(-1)


def test_same_generator_state_gives_same_samples_and_different_generators_differ():
    model = Categorical(n_states=5, smoothing=1.0).fit(np.array([[0], [1], [4]]))
    first = model.sample(100, np.random.default_rng(7))
    again = model.sample(100, np.random.default_rng(7))
    other = model.sample(100, np.random.default_rng(8))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    np.testing.assert_array_equal(model.sample(20, 3), model.sample(20, 3))


def test_single_column_versions_of_the_skipped_sklearn_checks():
    X = np.array([[0], [2], [2], [1]])
    model = Categorical()
    assert model.fit(X) is model  # fit returns self
    first = model.score_samples(X)
    np.testing.assert_array_equal(model.fit(X).score_samples(X), first)  # idempotent
    np.testing.assert_array_equal(model.score_samples(X[::-1]), first[::-1])  # row order
    np.testing.assert_array_equal(model.score_samples(X[1:3]), first[1:3])  # subsets
    with pytest.raises(ValueError, match="expecting 1 features"):
        model.score_samples(np.array([[0, 1]]))
    assert model.get_params() == {"n_states": None, "smoothing": 0.0}  # params untouched


def test_pickle_keeps_the_fitted_model():
    model = Categorical(smoothing=0.5).fit(np.array([[0], [1], [1]]))
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.probabilities_, model.probabilities_)


# --- tier 2: seeded statistics ----------------------------------------------------


def test_sample_frequencies_match_probabilities():
    """Chi-square goodness of fit at the 1% level; seed 2024, 20,000 draws, K=6."""
    model = Categorical(n_states=6).fit(np.array([[0]] * 40 + [[1]] * 30 + [[3]] * 20 + [[5]] * 10))
    rows = model.sample(20_000, np.random.default_rng(2024))
    observed = np.bincount(rows[:, 0], minlength=6)
    support = model.probabilities_ > 0
    assert observed[~support].sum() == 0
    result = chisquare(observed[support], 20_000 * model.probabilities_[support])
    assert result.pvalue > 0.01
