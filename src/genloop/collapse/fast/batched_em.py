"""EM for Gaussian mixtures on many datasets at once, with scikit-learn's semantics.

One :class:`BatchedGaussianMixture` fits ``S`` mixtures (one per seed) to ``S`` datasets
of equal shape ``(N, d)`` with array operations over the leading seed axis. It follows
``sklearn.mixture.GaussianMixture`` (``n_init=1``) step for step:

* initialisation from responsibilities (k-means labels, k-means++ points, random) with
  ``reg_covar`` added to the covariances and ``weights = nk / N``; or from given
  ``weights_init`` / ``means_init`` / ``precisions_init`` (precision Cholesky factors
  taken by the same flipped Cholesky as sklearn);
* each iteration: E-step with the current parameters (its mean log-likelihood is the
  lower bound), M-step (``nk`` plus ``10 eps``; ``reg_covar`` on the diagonal); stop
  when the lower bound changes by less than ``tol``, keeping the M-step's parameters;
* per-seed convergence: a converged seed is frozen and dropped from later iterations.

Seeds whose covariance becomes singular (sklearn would raise) are frozen at their last
valid parameters and flagged in ``failed_``. Supported covariance types: ``full``,
``diag``, ``spherical``.
"""

from __future__ import annotations

import numpy as np

from genloop.collapse.fast.batched_kmeans import batched_kmeans, kmeans_plusplus
from genloop.collapse.fast.mixture_math import (
    covariances_from_precision_cholesky,
    e_step,
    estimate_parameters,
    log_gaussian_prob,
    precision_cholesky,
    precision_cholesky_from_precisions,
    quadratic_features,
    sample_mixtures,
)
from genloop.core.errors import ConfigError, DataError

COVARIANCE_TYPES = ("full", "diag", "spherical")
INIT_PARAMS = ("kmeans", "sklearn-kmeans", "k-means++", "random", "random_from_data")


def _check_params(n_components, covariance_type, tol, reg_covar, max_iter, init_params):
    if not isinstance(n_components, (int, np.integer)) or n_components < 1:
        raise ConfigError(f"n_components must be a positive integer, got {n_components!r}")
    if covariance_type not in COVARIANCE_TYPES:
        raise ConfigError(
            f"covariance_type must be one of {', '.join(COVARIANCE_TYPES)}, got {covariance_type!r}"
        )
    if init_params not in INIT_PARAMS:
        raise ConfigError(
            f"init_params must be one of {', '.join(INIT_PARAMS)}, got {init_params!r}"
        )
    if tol < 0 or reg_covar < 0:
        raise ConfigError(f"tol and reg_covar must be non-negative, got {tol}, {reg_covar}")
    if not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ConfigError(f"max_iter must be a positive integer, got {max_iter!r}")


class BatchedGaussianMixture:
    """Gaussian mixtures fitted by EM to a batch of datasets (one per seed).

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : {"full", "diag", "spherical"}, default="full"
    tol : float, default=1e-3
        Convergence threshold on the change of the lower bound (mean log-likelihood).
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance.
    max_iter : int, default=100
    init_params : str, default="kmeans"
        ``kmeans`` (batched k-means, same algorithm as sklearn, own random stream),
        ``sklearn-kmeans`` (sklearn's KMeans per seed, draw-for-draw parity with
        ``GaussianMixture(random_state=seed)``), ``k-means++``, ``random``,
        ``random_from_data``.

    Attributes
    ----------
    weights_ : ndarray of shape (S, K)
    means_ : ndarray of shape (S, K, d)
    covariances_ : (S, K, d, d) full, (S, K, d) diag, (S, K) spherical
    precisions_cholesky_ : same shape as ``covariances_``
    converged_ : ndarray of bool, shape (S,)
    failed_ : ndarray of bool, shape (S,)
        Seeds stopped by a singular covariance (frozen at their last valid parameters).
    n_iter_ : ndarray of int, shape (S,)
    lower_bound_ : ndarray of shape (S,)
        Mean log-likelihood of the data under the parameters before the last M-step,
        as sklearn's ``lower_bound_``.
    """

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        init_params="kmeans",
    ):
        _check_params(n_components, covariance_type, tol, reg_covar, max_iter, init_params)
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.init_params = init_params

    def fit(
        self,
        X,
        *,
        random_state=None,
        weights_init=None,
        means_init=None,
        precisions_init=None,
        resp_init=None,
    ):
        """Fit one mixture per dataset.

        Parameters
        ----------
        X : array-like of shape (S, N, d)
        random_state : numpy.random.Generator, int, or sequence of int, optional
            Randomness of the initialisation. ``sklearn-kmeans`` needs one int per seed
            (passed to sklearn as that seed's ``random_state``).
        weights_init : array-like of shape (S, K), optional
        means_init : array-like of shape (S, K, d), optional
        precisions_init : array-like, optional
            Shapes as ``covariances_``. When all three are given no initialisation runs.
        resp_init : array-like of shape (S, N, K), optional
            Initial responsibilities (replaces ``init_params``).

        Returns
        -------
        self
        """
        X = self._check_data(X)
        cov_type = self.covariance_type
        # EM is shift-equivariant; centring each dataset keeps the expanded quadratic
        # forms of the full-covariance path accurate. The shift is added back at the end.
        shift = X.mean(axis=1)
        X = X - shift[:, None, :]
        if means_init is not None:
            means_init = np.asarray(means_init, dtype=np.float64) - shift[:, None, :]
        weights, means, prec_chol = self._initialize(
            X, random_state, weights_init, means_init, precisions_init, resp_init
        )
        features = quadratic_features(X) if cov_type == "full" else None
        seeds = X.shape[0]
        covariances = covariances_from_precision_cholesky(prec_chol, cov_type)
        lower_bound = np.full(seeds, -np.inf)
        n_iter = np.zeros(seeds, dtype=np.int64)
        converged = np.zeros(seeds, dtype=bool)
        failed = np.zeros(seeds, dtype=bool)
        active = np.arange(seeds)
        for iteration in range(1, self.max_iter + 1):
            if active.size == 0:
                break
            # Every seed is active in the first iterations: skip the gathers then.
            everyone = active.size == seeds
            Xa = X if everyone else X[active]
            fa = features if everyone or features is None else features[active]
            log_likelihood, log_resp = e_step(
                Xa, weights[active], means[active], prec_chol[active], cov_type, fa
            )
            nk, new_means, new_cov = estimate_parameters(
                Xa, np.exp(log_resp), self.reg_covar, cov_type, fa
            )
            new_chol, bad = precision_cholesky(new_cov, cov_type)
            good = active[~bad]
            failed[active[bad]] = True
            weights[good] = (nk / nk.sum(axis=1, keepdims=True))[~bad]
            means[good], covariances[good], prec_chol[good] = (
                new_means[~bad],
                new_cov[~bad],
                new_chol[~bad],
            )
            change = log_likelihood - lower_bound[active]
            lower_bound[active], n_iter[active] = log_likelihood, iteration
            done = np.abs(change) < self.tol
            converged[active[done & ~bad]] = True
            active = active[~done & ~bad]
        self.weights_, self.means_ = weights, means + shift[:, None, :]
        self.covariances_, self.precisions_cholesky_ = covariances, prec_chol
        self.converged_, self.failed_ = converged, failed
        self.n_iter_, self.lower_bound_ = n_iter, lower_bound
        return self

    def score_samples(self, X) -> np.ndarray:
        """Log-likelihood of every point under its seed's mixture, shape (S, N)."""
        X = self._check_data(X)
        weighted = (
            log_gaussian_prob(X, self.means_, self.precisions_cholesky_, self.covariance_type)
            + np.log(self.weights_)[..., None]
        )
        top = weighted.max(axis=1)
        return np.log(np.exp(weighted - top[:, None, :]).sum(axis=1)) + top

    def sample(self, n_samples: int, rng: np.random.Generator):
        """Draw ``n_samples`` points from every seed's mixture.

        Returns
        -------
        X : ndarray of shape (S, n_samples, d)
        labels : ndarray of int, shape (S, n_samples)
        """
        return sample_mixtures(
            rng, self.weights_, self.means_, self.covariances_, self.covariance_type, n_samples
        )

    # -- helpers -----------------------------------------------------------------------
    def _check_data(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 3:
            raise DataError(f"X must have shape (S, N, d), got {X.shape}")
        if X.shape[1] < max(2, self.n_components):
            raise DataError(
                f"each dataset needs at least max(2, n_components) points, got {X.shape[1]}"
            )
        if not np.all(np.isfinite(X)):
            raise DataError("X contains NaN or infinite values")
        return X

    def _initialize(self, X, random_state, weights_init, means_init, precisions_init, resp_init):
        cov_type, k = self.covariance_type, self.n_components
        given = (weights_init, means_init, precisions_init)
        if any(v is None for v in given):
            resp = (
                self._initial_resp(X, random_state)
                if resp_init is None
                else (np.swapaxes(np.asarray(resp_init, dtype=np.float64), 1, 2))
            )
            nk, means, covariances = estimate_parameters(X, resp, self.reg_covar, cov_type)
            weights = nk / X.shape[1]
            prec_chol, bad = precision_cholesky(covariances, cov_type)
            if bad.any():
                raise DataError(
                    f"initial covariances are singular for seeds "
                    f"{np.flatnonzero(bad)[:5].tolist()}; increase reg_covar"
                )
        if weights_init is not None:
            weights = np.array(weights_init, dtype=np.float64).reshape(X.shape[0], k)
        if means_init is not None:
            means = np.array(means_init, dtype=np.float64).reshape(X.shape[0], k, X.shape[2])
        if precisions_init is not None:
            prec_chol = precision_cholesky_from_precisions(
                np.asarray(precisions_init, dtype=np.float64), cov_type
            )
        return weights.copy(), means.copy(), prec_chol.copy()

    def _initial_resp(self, X, random_state) -> np.ndarray:
        """Initial responsibilities, shape (S, K, N)."""
        seeds, n_points, _ = X.shape
        k, init = self.n_components, self.init_params
        resp = np.zeros((seeds, k, n_points))
        rows = np.arange(seeds)[:, None]
        if init == "sklearn-kmeans":
            from sklearn.cluster import KMeans

            states = np.broadcast_to(np.asarray(random_state), (seeds,))
            for s in range(seeds):
                labels = KMeans(
                    n_clusters=k, n_init=1, random_state=np.random.RandomState(int(states[s]))
                ).fit(X[s])
                resp[s, labels.labels_, np.arange(n_points)] = 1.0
            return resp
        rng = (
            random_state
            if isinstance(random_state, np.random.Generator)
            else (np.random.default_rng(random_state))
        )
        if init == "kmeans":
            labels, _, _ = batched_kmeans(X, k, rng)
            resp[rows, labels, np.arange(n_points)[None, :]] = 1.0
        elif init == "k-means++":
            resp[rows, np.arange(k)[None, :], kmeans_plusplus(X, k, rng)] = 1.0
        elif init == "random":
            resp = rng.uniform(size=(seeds, n_points, k))
            resp = np.swapaxes(resp / resp.sum(axis=2, keepdims=True), 1, 2)
        else:  # random_from_data
            chosen = np.argsort(rng.random((seeds, n_points)), axis=1)[:, :k]
            resp[rows, np.arange(k)[None, :], chosen] = 1.0
        return resp


__all__ = ["BatchedGaussianMixture", "sample_mixtures"]
