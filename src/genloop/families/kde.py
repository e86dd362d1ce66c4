"""Kernel density estimation: scikit-learn's tree for scoring, genloop's own sampler.

A KDE sample is a training row plus kernel noise, so each generation of a KDE loop adds
the kernel's variance (``bandwidth**2`` per feature for the Gaussian kernel): the
opposite drift to the MLE Gaussian's shrinkage. Sampling takes the caller's
:class:`numpy.random.Generator` (scikit-learn's ``sample`` only takes seeds and
``RandomState``).
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.neighbors import KernelDensity as _SklearnKernelDensity
from sklearn.utils.validation import check_is_fitted, validate_data

from genloop.core.errors import ConfigError, DataError
from genloop.core.rng import as_generator
from genloop.families.base import DensityFamily
from genloop.families.gaussian import (
    check_choice,
    check_n_samples,
    require_arrays,
    stored_choice,
    text_to_array,
)

# Kernels we can sample from exactly; sklearn scores more, but a loop needs both verbs.
_KERNELS = ("gaussian", "tophat")
_BANDWIDTH_RULES = ("scott", "silverman")


class KernelDensity(DensityFamily):
    """Kernel density estimate over real vectors.

    Parameters
    ----------
    bandwidth : float or {"scott", "silverman"}, default=1.0
        Kernel bandwidth ``h`` (> 0), or a rule of thumb computed at fit. The rules
        follow scikit-learn: ``n ** (-1 / (d + 4))`` (Scott) and
        ``(n * (d + 2) / 4) ** (-1 / (d + 4))`` (Silverman), which assume features on
        unit scale (they are *not* multiplied by the data's standard deviation).
    kernel : {"gaussian", "tophat"}, default="gaussian"
        Kernel shape: an isotropic normal with standard deviation ``h`` per feature,
        or the uniform distribution on the ball of radius ``h``.

    Attributes
    ----------
    bandwidth_ : float
        The bandwidth in use.
    X_ : ndarray of shape (n_samples, n_features)
        The training rows (sampling picks among them; checkpoints store them).
    n_features_in_ : int
        Number of features seen during fit.
    """

    kind = "vectors"

    def __init__(self, bandwidth=1.0, kernel="gaussian"):
        self.bandwidth = bandwidth
        self.kernel = kernel

    def _check_params(self):
        check_choice("KernelDensity", "kernel", self.kernel, _KERNELS)
        if isinstance(self.bandwidth, str):
            check_choice("KernelDensity", "bandwidth", self.bandwidth, _BANDWIDTH_RULES)
            return
        valid = isinstance(self.bandwidth, numbers.Real) and not isinstance(self.bandwidth, bool)
        if not (valid and np.isfinite(self.bandwidth) and self.bandwidth > 0):
            raise ConfigError(
                f"KernelDensity: bandwidth={self.bandwidth!r} must be a number > 0, "
                "'scott' or 'silverman'"
            )

    def fit(self, X, y=None):
        """Store the training rows and build scikit-learn's search tree.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : None
            Ignored.

        Returns
        -------
        self : KernelDensity
            The fitted estimator.
        """
        self._check_params()
        X = validate_data(self, X, dtype=np.float64, order="C")
        # Copy: sampling and checkpoints rely on the rows never changing under us.
        self.X_ = np.array(X, dtype=np.float64, copy=True)
        self._tree = _SklearnKernelDensity(bandwidth=self.bandwidth, kernel=self.kernel)
        self._tree.fit(self.X_)
        self.bandwidth_ = float(self._tree.bandwidth_)
        return self

    def score_samples(self, X):
        """Log-density of each row of ``X`` (exact: scikit-learn with zero tolerance).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._tree.score_samples(X)

    def sample(self, n_samples=1, random_state=None):
        """Draw rows: a uniformly chosen training row plus kernel noise.

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
        n_samples = check_n_samples("KernelDensity", n_samples)
        rng = as_generator(random_state)
        n_train, n_features = self.X_.shape
        centres = self.X_[rng.integers(0, n_train, size=n_samples)]
        noise = rng.standard_normal((n_samples, n_features))
        if self.kernel == "tophat":
            # Uniform in the ball: a uniform direction times a radius h * U**(1/d).
            norms = np.linalg.norm(noise, axis=1, keepdims=True)
            radii = rng.random((n_samples, 1)) ** (1.0 / n_features)
            noise = noise / np.where(norms > 0, norms, 1.0) * radii
        return centres + self.bandwidth_ * noise

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Fitted state as named arrays.

        ``X_`` (n, d) float64, ``bandwidth_`` (0-d float64) and ``kernel`` as int64
        character codes.
        """
        check_is_fitted(self)
        return {
            "X_": np.asarray(self.X_, dtype=np.float64),
            "bandwidth_": np.asarray(self.bandwidth_, dtype=np.float64),
            "kernel": text_to_array(self.kernel),
        }

    @classmethod
    def from_arrays(cls, arrays, **params):
        """Rebuild a fitted KDE from :meth:`to_arrays` output and constructor params.

        The checkpoint's ``kernel`` is used (a different one in ``params`` is a
        :class:`DataError`), and the stored ``bandwidth_`` wins over any ``bandwidth``
        rule, which depended on the original training size.
        """
        require_arrays("KernelDensity", arrays, ("X_", "bandwidth_"))
        params = stored_choice("KernelDensity", "kernel", arrays, params, _KERNELS)
        model = cls(**params)
        check_choice("KernelDensity", "kernel", model.kernel, _KERNELS)
        rows = np.ascontiguousarray(arrays["X_"], dtype=np.float64)
        bandwidth = float(arrays["bandwidth_"])
        if rows.ndim != 2 or rows.shape[0] == 0 or not bandwidth > 0:
            raise DataError(
                f"KernelDensity: checkpoint needs X_ of shape (n > 0, d) and bandwidth_ > 0, "
                f"got X_ {rows.shape}, bandwidth_ {bandwidth}"
            )
        model.X_ = rows
        model._tree = _SklearnKernelDensity(bandwidth=bandwidth, kernel=model.kernel).fit(rows)
        model.bandwidth_ = bandwidth
        model.n_features_in_ = rows.shape[1]
        return model
