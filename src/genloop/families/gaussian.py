"""A single multivariate Gaussian, fitted in closed form.

The family behind the textbook collapse result: refitting a Gaussian by maximum
likelihood to its own samples shrinks the expected variance by ``(n - 1) / n`` per
generation, while the unbiased estimator keeps it in expectation. Both estimators are
available so that loops can compare them.

The module also holds the small helpers the other vector families share (sample-count
and parameter checks, :class:`DegenerateDataError`).
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.linalg import solve_triangular
from sklearn.utils.validation import check_is_fitted, validate_data

from genloop.core.errors import ConfigError, DataError
from genloop.core.rng import as_generator
from genloop.families.base import DensityFamily

_LOG_2PI = np.log(2.0 * np.pi)


class DegenerateDataError(DataError, ValueError):
    """The data cannot define the model (too few samples, a singular covariance).

    It is also a :class:`ValueError` so that scikit-learn code that expects one (for
    example its estimator checks) recognises it.
    """


def check_choice(owner: str, key: str, value, allowed) -> None:
    """Raise :class:`ConfigError` unless ``value`` is one of ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        options = ", ".join(repr(option) for option in allowed)
        raise ConfigError(f"{owner}: {key}={value!r} is not one of {options}")


def check_number(owner: str, key: str, value, *, minimum, integer=False, strict=False):
    """Raise :class:`ConfigError` unless ``value`` is a real (or integer) >= ``minimum``.

    ``strict=True`` requires ``value > minimum`` instead.
    """
    kind = numbers.Integral if integer else numbers.Real
    in_range = isinstance(value, kind) and not isinstance(value, bool)
    if in_range:
        in_range = value > minimum if strict else value >= minimum
        in_range = in_range and np.isfinite(value)
    if not in_range:
        what = "an integer" if integer else "a number"
        relation = ">" if strict else ">="
        raise ConfigError(f"{owner}: {key}={value!r} must be {what} {relation} {minimum}")


def check_n_samples(owner: str, n_samples) -> int:
    """Return ``n_samples`` as an int, or raise :class:`ConfigError` if it is not >= 0."""
    check_number(owner, "n_samples", n_samples, minimum=0, integer=True)
    return int(n_samples)


def require_arrays(owner: str, arrays, keys) -> None:
    """Raise :class:`DataError` if a checkpoint lacks one of ``keys``."""
    missing = [key for key in keys if key not in arrays]
    if missing:
        raise DataError(f"{owner}: checkpoint arrays lack {', '.join(map(repr, missing))}")


def text_to_array(text: str) -> np.ndarray:
    """Encode a parameter string as int64 character codes (safetensors holds no text)."""
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8).astype(np.int64)


def stored_choice(owner: str, key: str, arrays, params: dict, allowed) -> dict:
    """Return ``params`` with ``key`` taken from a checkpoint's :func:`text_to_array` entry.

    The stored value decides how the fitted arrays are laid out, so a different value in
    ``params`` is an error rather than silently misread arrays. Checkpoints without the
    entry leave ``params`` as they are.
    """
    if key not in arrays:
        return params
    codes = np.asarray(arrays[key])
    stored = bytes(codes.astype(np.uint8)).decode("ascii", errors="replace")
    check_choice(owner, key, stored, allowed)
    if key in params and params[key] != stored:
        raise DataError(
            f"{owner}: checkpoint was fitted with {key}={stored!r}, not {params[key]!r}"
        )
    return {**params, key: stored}


class Gaussian(DensityFamily):
    """A multivariate normal distribution fitted by moments.

    Parameters
    ----------
    estimator : {"mle", "unbiased"}, default="mle"
        Divide the scatter matrix by ``n`` (maximum likelihood) or ``n - 1``.
    covariance_type : {"full", "diag", "spherical"}, default="full"
        Full covariance, independent features, or one variance shared by all
        features (the mean of the per-feature variances).
    reg_covar : float, default=0.0
        Non-negative value added to the diagonal of the covariance, so that
        collapsed or tiny pools still give a usable model.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Sample mean.
    covariance_ : ndarray of shape (n_features, n_features)
        Estimated covariance, always stored as a full matrix (diagonal for
        ``"diag"`` and ``"spherical"``).
    cholesky_ : ndarray of shape (n_features, n_features)
        Lower Cholesky factor of ``covariance_``, used for sampling and scoring.
    n_features_in_ : int
        Number of features seen during fit.
    """

    kind = "vectors"
    _estimators = ("mle", "unbiased")
    _covariance_types = ("full", "diag", "spherical")

    def __init__(self, estimator="mle", covariance_type="full", reg_covar=0.0):
        self.estimator = estimator
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar

    def _check_params(self):
        check_choice("Gaussian", "estimator", self.estimator, self._estimators)
        check_choice("Gaussian", "covariance_type", self.covariance_type, self._covariance_types)
        check_number("Gaussian", "reg_covar", self.reg_covar, minimum=0.0)

    def fit(self, X, y=None):
        """Estimate the mean and covariance of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : None
            Ignored.

        Returns
        -------
        self : Gaussian
            The fitted estimator.

        Raises
        ------
        DegenerateDataError
            If the covariance is singular (e.g. one sample, or a collapsed pool with
            ``reg_covar=0``) or the unbiased estimator gets fewer than two samples.
        """
        self._check_params()
        X = validate_data(self, X, dtype=np.float64)
        n_samples, n_features = X.shape
        divisor = n_samples if self.estimator == "mle" else n_samples - 1
        if divisor < 1:
            raise DegenerateDataError(
                f"Gaussian: estimator='unbiased' needs at least 2 samples, got {n_samples} "
                "sample(s); use estimator='mle' with reg_covar > 0"
            )
        mean = X.mean(axis=0)
        centred = X - mean
        if self.covariance_type == "full":
            covariance = centred.T @ centred / divisor
        else:
            variances = np.einsum("ij,ij->j", centred, centred) / divisor
            if self.covariance_type == "spherical":
                variances = np.full(n_features, variances.mean())
            covariance = np.diag(variances)
        covariance[np.diag_indices(n_features)] += self.reg_covar
        self.cholesky_ = _cholesky_or_raise(covariance, n_samples, self.covariance_type)
        self.mean_ = mean
        self.covariance_ = covariance
        return self

    def score_samples(self, X):
        """Log-density of each row of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        whitened = solve_triangular(self.cholesky_, (X - self.mean_).T, lower=True)
        log_det = 2.0 * np.log(np.diag(self.cholesky_)).sum()
        n_features = self.mean_.shape[0]
        return -0.5 * (n_features * _LOG_2PI + log_det + np.einsum("ij,ij->j", whitened, whitened))

    def sample(self, n_samples=1, random_state=None):
        """Draw rows from the fitted Gaussian.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows (>= 0).
        random_state : None, int or numpy.random.Generator
            Source of randomness; the same Generator state gives the same rows.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        n_samples = check_n_samples("Gaussian", n_samples)
        rng = as_generator(random_state)
        noise = rng.standard_normal((n_samples, self.mean_.shape[0]))
        return self.mean_ + noise @ self.cholesky_.T

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Fitted state: ``mean_`` (d,) and ``covariance_`` (d, d), float64."""
        check_is_fitted(self)
        return {
            "mean_": np.asarray(self.mean_, dtype=np.float64),
            "covariance_": np.asarray(self.covariance_, dtype=np.float64),
        }

    @classmethod
    def from_arrays(cls, arrays, **params):
        """Rebuild a fitted Gaussian from :meth:`to_arrays` output and constructor params."""
        require_arrays("Gaussian", arrays, ("mean_", "covariance_"))
        model = cls(**params)
        mean = np.asarray(arrays["mean_"], dtype=np.float64)
        covariance = np.asarray(arrays["covariance_"], dtype=np.float64)
        if mean.ndim != 1 or covariance.shape != (mean.size, mean.size):
            raise DataError(
                f"Gaussian: checkpoint shapes disagree: mean_ {mean.shape}, "
                f"covariance_ {covariance.shape}"
            )
        model.mean_ = mean
        model.covariance_ = covariance
        model.cholesky_ = _cholesky_or_raise(covariance, None, model.covariance_type)
        model.n_features_in_ = mean.size
        return model


def _cholesky_or_raise(covariance, n_samples, covariance_type):
    """Lower Cholesky factor, or a one-line error that says what to change."""
    try:
        factor = np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError:
        factor = None
    if factor is None or not np.all(np.isfinite(factor)) or np.any(np.diag(factor) <= 0):
        counted = "" if n_samples is None else f" of {n_samples} sample(s)"
        raise DegenerateDataError(
            f"Gaussian: the {covariance_type} covariance{counted} is singular "
            "(collapsed or too few rows); set reg_covar > 0, e.g. 1e-6"
        )
    return factor
