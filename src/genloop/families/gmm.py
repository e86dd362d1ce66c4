"""A Gaussian mixture: scikit-learn's EM for fitting, genloop's own sampler.

scikit-learn's :meth:`sklearn.mixture.GaussianMixture.sample` reseeds from
``self.random_state`` on every call, so a model fitted with a fixed seed returns the
same rows each time it is sampled, and it returns rows sorted by component. In a loop
that silently correlates generations. Here sampling takes the caller's
:class:`numpy.random.Generator`, draws component counts multinomially, draws each
component through its Cholesky factor, and shuffles the rows.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.mixture import GaussianMixture as _SklearnGaussianMixture
from sklearn.utils.validation import check_is_fitted, validate_data

from genloop.core.errors import ConfigError, DataError
from genloop.core.rng import as_generator
from genloop.families.base import DensityFamily
from genloop.families.gaussian import (
    DegenerateDataError,
    check_choice,
    check_n_samples,
    check_number,
    require_arrays,
    stored_choice,
    text_to_array,
)

_COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
_INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")
_FITTED = ("weights_", "means_", "covariances_", "precisions_cholesky_")


class GaussianMixture(DensityFamily):
    """Gaussian mixture fitted by EM (scikit-learn), sampled with the caller's Generator.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
        Covariance structure, as in :class:`sklearn.mixture.GaussianMixture`.
    tol : float, default=1e-3
        EM convergence threshold on the lower bound.
    reg_covar : float, default=1e-6
        Non-negative value added to every covariance diagonal.
    max_iter : int, default=100
        EM iterations per initialisation.
    n_init : int, default=1
        Initialisations; the best lower bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
        How responsibilities are initialised.
    random_state : None, int, numpy.random.Generator or RandomState, default=None
        Randomness of the *fitting* initialisation only; sampling never uses it. A
        Generator is turned into a seed by drawing from it.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixing weights.
    means_ : ndarray of shape (n_components, n_features)
        Component means.
    covariances_ : ndarray
        Covariances in scikit-learn's layout: ``(k,)`` spherical, ``(k, d)`` diag,
        ``(d, d)`` tied, ``(k, d, d)`` full.
    precisions_cholesky_ : ndarray
        Cholesky factors of the precisions, same layout as ``covariances_``.
    full_covariances_ : ndarray of shape (n_components, n_features, n_features)
        ``covariances_`` expanded to full matrices (a property, for metrics).
    converged_ : bool
        Whether the best initialisation converged.
    n_iter_ : int
        EM iterations of the best initialisation.
    lower_bound_ : float
        Lower bound on the log-likelihood of the best initialisation.
    n_features_in_ : int
        Number of features seen during fit.
    """

    kind = "vectors"

    def __init__(
        self,
        n_components=1,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        random_state=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state

    def _check_params(self):
        owner = "GaussianMixture"
        check_number(owner, "n_components", self.n_components, minimum=1, integer=True)
        check_choice(owner, "covariance_type", self.covariance_type, _COVARIANCE_TYPES)
        check_number(owner, "tol", self.tol, minimum=0.0)
        check_number(owner, "reg_covar", self.reg_covar, minimum=0.0)
        check_number(owner, "max_iter", self.max_iter, minimum=1, integer=True)
        check_number(owner, "n_init", self.n_init, minimum=1, integer=True)
        check_choice(owner, "init_params", self.init_params, _INIT_PARAMS)
        accepted = (numbers.Integral, np.random.Generator, np.random.RandomState)
        if self.random_state is not None and not isinstance(self.random_state, accepted):
            raise ConfigError(
                f"GaussianMixture: random_state={self.random_state!r} must be None, "
                "an int or a numpy Generator"
            )

    def fit(self, X, y=None):
        """Fit the mixture by EM.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : None
            Ignored.

        Returns
        -------
        self : GaussianMixture
            The fitted estimator.

        Raises
        ------
        DegenerateDataError
            If there are fewer rows than components, or a component collapses to a
            singular covariance during EM.
        """
        self._check_params()
        X = validate_data(self, X, dtype=np.float64)
        if X.shape[0] < self.n_components:
            raise DegenerateDataError(
                f"GaussianMixture: n_components={self.n_components} needs at least as many "
                f"rows, got {X.shape[0]} sample(s)"
            )
        seed = self.random_state
        if isinstance(seed, np.random.Generator):
            # sklearn only understands ints and RandomState: take a seed from the stream.
            seed = int(seed.integers(2**32 - 1))
        estimator = _SklearnGaussianMixture(
            n_components=self.n_components,
            covariance_type=self.covariance_type,
            tol=self.tol,
            reg_covar=self.reg_covar,
            max_iter=self.max_iter,
            n_init=self.n_init,
            init_params=self.init_params,
            random_state=seed,
        )
        try:
            estimator.fit(X)
        except ValueError as error:
            if "ill-defined empirical covariance" not in str(error):
                raise
            raise DegenerateDataError(
                "GaussianMixture: a component's covariance became singular during EM "
                f"(collapsed rows); increase reg_covar (now {self.reg_covar}) or reduce "
                f"n_components (now {self.n_components})"
            ) from error
        for name in (*_FITTED, "converged_", "n_iter_", "lower_bound_"):
            setattr(self, name, getattr(estimator, name))
        return self

    @property
    def full_covariances_(self):
        """Covariances as full matrices, shape (n_components, n_features, n_features)."""
        return _full_covariances(self.covariances_, self.covariance_type, self.means_.shape)

    def _as_sklearn(self):
        """A scikit-learn mixture sharing this model's fitted arrays (for scoring)."""
        estimator = _SklearnGaussianMixture(
            n_components=self.weights_.shape[0], covariance_type=self.covariance_type
        )
        for name in (*_FITTED, "n_features_in_"):
            setattr(estimator, name, getattr(self, name))
        return estimator

    def score_samples(self, X):
        """Log-density of each row of ``X`` under the mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._as_sklearn().score_samples(X)

    def sample(self, n_samples=1, random_state=None):
        """Draw rows from the mixture with the given random stream.

        Component counts are multinomial in ``weights_``; each component's rows are
        ``mean + z @ L.T`` with ``L`` the Cholesky factor of its covariance; rows are
        then shuffled so that their order carries no component information.

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
        n_samples = check_n_samples("GaussianMixture", n_samples)
        rng = as_generator(random_state)
        weights = np.asarray(self.weights_, dtype=np.float64)
        counts = rng.multinomial(n_samples, weights / weights.sum())
        factors = np.linalg.cholesky(self.full_covariances_)
        n_features = self.means_.shape[1]
        noise = rng.standard_normal((n_samples, n_features))
        rows = np.empty((n_samples, n_features))
        stops = np.cumsum(counts)
        for component, (start, stop) in enumerate(zip(stops - counts, stops, strict=True)):
            block = noise[start:stop] @ factors[component].T
            rows[start:stop] = self.means_[component] + block
        return rows[rng.permutation(n_samples)]

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Fitted state as named float64/int64 arrays.

        ``weights_``, ``means_``, ``covariances_``, ``precisions_cholesky_``; the EM
        diagnostics ``converged_``, ``n_iter_``, ``lower_bound_`` as 0-d arrays; and
        ``covariance_type`` as character codes, since it fixes the covariance layout.
        """
        check_is_fitted(self)
        arrays = {name: np.asarray(getattr(self, name), dtype=np.float64) for name in _FITTED}
        arrays["converged_"] = np.asarray(int(self.converged_), dtype=np.int64)
        arrays["n_iter_"] = np.asarray(self.n_iter_, dtype=np.int64)
        arrays["lower_bound_"] = np.asarray(self.lower_bound_, dtype=np.float64)
        arrays["covariance_type"] = text_to_array(self.covariance_type)
        return arrays

    @classmethod
    def from_arrays(cls, arrays, **params):
        """Rebuild a fitted mixture from :meth:`to_arrays` output and constructor params.

        The checkpoint's ``covariance_type`` is used (a different one in ``params`` is a
        :class:`DataError`); checkpoints without it need it in ``params``.
        """
        require_arrays("GaussianMixture", arrays, _FITTED)
        params = stored_choice(
            "GaussianMixture", "covariance_type", arrays, params, _COVARIANCE_TYPES
        )
        model = cls(**params)
        check_choice("GaussianMixture", "covariance_type", model.covariance_type, _COVARIANCE_TYPES)
        for name in _FITTED:
            setattr(model, name, np.asarray(arrays[name], dtype=np.float64))
        n_components, n_features = model.means_.shape
        expected = _covariance_shape(model.covariance_type, n_components, n_features)
        for name in ("covariances_", "precisions_cholesky_"):
            if getattr(model, name).shape != expected:
                raise DataError(
                    f"GaussianMixture: checkpoint {name} has shape {getattr(model, name).shape}, "
                    f"expected {expected} for covariance_type={model.covariance_type!r}"
                )
        model.converged_ = bool(arrays.get("converged_", 1))
        model.n_iter_ = int(arrays.get("n_iter_", 0))
        model.lower_bound_ = float(arrays.get("lower_bound_", np.nan))
        model.n_features_in_ = n_features
        return model


def _covariance_shape(covariance_type, n_components, n_features):
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]


def _full_covariances(covariances, covariance_type, means_shape):
    """Expand scikit-learn's covariance layout to shape (k, d, d)."""
    n_components, n_features = means_shape
    if covariance_type == "full":
        return np.asarray(covariances)
    if covariance_type == "tied":
        return np.broadcast_to(covariances, (n_components, n_features, n_features)).copy()
    variances = np.asarray(covariances)
    if covariance_type == "spherical":
        variances = np.repeat(variances[:, None], n_features, axis=1)
    return variances[:, :, None] * np.eye(n_features)
