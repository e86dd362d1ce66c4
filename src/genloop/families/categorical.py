"""A categorical distribution over integer states ``0..K-1``.

The discrete collapse family: with maximum likelihood (``smoothing=0``) a state that
draws no sample in one generation gets probability zero and is lost for good, so
recursive fitting ends in a delta at some state. Additive smoothing keeps every state
alive and shows how a prior changes that fate.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

from genloop.core.errors import DataError
from genloop.core.rng import as_generator
from genloop.families.base import DensityFamily
from genloop.families.gaussian import check_n_samples, check_number, require_arrays


class InvalidStatesError(DataError, ValueError):
    """Rows that are not integer states in ``0..K-1`` (also a :class:`ValueError`)."""


class Categorical(DensityFamily):
    """Categorical distribution over states ``0..K-1``, one state per row.

    Parameters
    ----------
    n_states : int or None, default=None
        Number of states ``K``. ``None`` infers ``K = max(X) + 1`` at fit, so states
        above the largest one seen are not part of the model.
    smoothing : float, default=0.0
        Additive (Lidstone) pseudo-count per state; ``0`` is maximum likelihood.

    Attributes
    ----------
    counts_ : ndarray of shape (n_states_,), dtype int64
        How often each state occurs in the training data.
    probabilities_ : ndarray of shape (n_states_,)
        ``(counts_ + smoothing) / (n_samples + n_states_ * smoothing)``.
    n_states_ : int
        Number of states ``K``.
    n_features_in_ : int
        Always 1.
    """

    kind = "categorical"

    def __init__(self, n_states=None, smoothing=0.0):
        self.n_states = n_states
        self.smoothing = smoothing

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Rows are category codes, so sklearn's checks feed rounded non-negative ints.
        tags.input_tags.categorical = True
        tags.input_tags.positive_only = True
        return tags

    def _check_params(self):
        if self.n_states is not None:
            check_number("Categorical", "n_states", self.n_states, minimum=1, integer=True)
        check_number("Categorical", "smoothing", self.smoothing, minimum=0.0)

    def fit(self, X, y=None):
        """Count the states in ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1)
            Integer states (float arrays holding integers are accepted).
        y : None
            Ignored.

        Returns
        -------
        self : Categorical
            The fitted estimator.

        Raises
        ------
        InvalidStatesError
            If ``X`` has more than one column, or holds non-integers, negatives, or
            states ``>= n_states``.
        """
        self._check_params()
        X = validate_data(self, X, dtype="numeric")
        if self.n_states is None:
            states = _states(X, None)
            n_states = int(states.max()) + 1
        else:
            n_states = int(self.n_states)
            states = _states(X, n_states)
        counts = np.bincount(states, minlength=n_states).astype(np.int64)
        total = counts.sum() + n_states * self.smoothing
        self.counts_ = counts
        self.probabilities_ = (counts + self.smoothing) / total
        self.n_states_ = n_states
        return self

    def score_samples(self, X):
        """Log-probability of each row's state.

        Parameters
        ----------
        X : array-like of shape (n_samples, 1)
            Integer states in ``0..n_states_-1``.

        Returns
        -------
        log_probability : ndarray of shape (n_samples,)
            ``-inf`` for states with probability zero.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype="numeric", reset=False)
        states = _states(X, self.n_states_)
        with np.errstate(divide="ignore"):
            return np.log(self.probabilities_[states])

    def sample(self, n_samples=1, random_state=None):
        """Draw states from the fitted distribution.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows (>= 0).
        random_state : None, int or numpy.random.Generator
            Source of randomness; the same Generator state gives the same rows.

        Returns
        -------
        X : ndarray of shape (n_samples, 1), dtype int64
        """
        check_is_fitted(self)
        n_samples = check_n_samples("Categorical", n_samples)
        rng = as_generator(random_state)
        # Inverse-CDF draws (one uniform per row): exact, and O(n log K) even for the
        # large vocabularies of word-frequency sources.
        states = rng.choice(self.n_states_, size=n_samples, p=self.probabilities_)
        return states.astype(np.int64).reshape(-1, 1)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Fitted state: ``counts_`` (K,) int64 and ``probabilities_`` (K,) float64."""
        check_is_fitted(self)
        return {
            "counts_": np.asarray(self.counts_, dtype=np.int64),
            "probabilities_": np.asarray(self.probabilities_, dtype=np.float64),
        }

    @classmethod
    def from_arrays(cls, arrays, **params):
        """Rebuild a fitted Categorical from :meth:`to_arrays` output and constructor params."""
        require_arrays("Categorical", arrays, ("counts_", "probabilities_"))
        counts = np.asarray(arrays["counts_"], dtype=np.int64)
        probabilities = np.asarray(arrays["probabilities_"], dtype=np.float64)
        if counts.ndim != 1 or probabilities.shape != counts.shape:
            raise DataError(
                f"Categorical: checkpoint shapes disagree: counts_ {counts.shape}, "
                f"probabilities_ {probabilities.shape}"
            )
        model = cls(**params)
        model.counts_ = counts
        model.probabilities_ = probabilities
        model.n_states_ = counts.size
        model.n_features_in_ = 1
        return model


def _states(X, n_states):
    """The single column of ``X`` as int64 states, checked against ``0..n_states-1``."""
    if X.size and X.min() < 0:
        # sklearn's wording, so its checks recognise an estimator tagged positive_only.
        raise InvalidStatesError(
            f"Categorical: Negative values in data: got state {X.min()!s}; states are 0..K-1"
        )
    if X.shape[1] != 1:
        raise InvalidStatesError(
            f"Categorical: X must have one column of integer states, got shape {X.shape}"
        )
    column = X[:, 0]
    if column.dtype.kind == "f":
        fractional = column != np.floor(column)
        if fractional.any():
            value = float(column[np.argmax(fractional)])
            raise InvalidStatesError(f"Categorical: states must be integers, got {value!r}")
    states = column.astype(np.int64)
    if n_states is not None and states.size and states.max() >= n_states:
        raise InvalidStatesError(
            f"Categorical: state {states.max()} is out of range for n_states={n_states} "
            f"(states are 0..{n_states - 1})"
        )
    return states
