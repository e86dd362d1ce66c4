"""Synthetic ground truths: Gaussians, Gaussian mixtures and categorical distributions.

These sources *are* their truth: the parameters a recipe gives are exposed as the truth
attributes of :class:`~genloop.data.base.Source` so metrics compare models with them
exactly. Every draw comes from the ``rng`` passed in, so the same generator state gives
the same rows.

Sampling is written out (Cholesky factor times standard normals, inverse-CDF choice for
categories) rather than delegated to ``Generator.multivariate_normal``, whose
factorisation method, and therefore output stream, is an implementation detail.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from genloop.core.config import MAX_MAGNITUDE  # beyond it squares overflow (W2 = 0)
from genloop.core.errors import ConfigError
from genloop.data.base import Source

# Tolerance for "probabilities/weights sum to 1" checks: loose enough for YAML decimals
# such as [0.1, 0.2, 0.7], tight enough to catch a typo.
_SUM_TOLERANCE = 1e-6


#: rows one draw may ask for: 10⁸ one-dimensional rows are already 800 MB of float64
MAX_ROWS = 100_000_000
#: dimensions of a synthetic source: its covariance holds dim² floats (4,096² = 134 MB)
MAX_DIM = 4096


def check_draw_count(n) -> int:
    """Validate a requested row count (an int in ``0..MAX_ROWS``) and return it as ``int``."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ConfigError(f"number of rows to draw must be an integer >= 0, got {n!r}")
    if n > MAX_ROWS:
        raise ConfigError(f"cannot draw {n:,} rows at once; at most {MAX_ROWS:,}")
    return int(n)


def _as_float_array(key: str, value, ndim: int) -> np.ndarray:
    """Parse a YAML number / (nested) list into a finite float array of ``ndim`` dims."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(f"source.{key} must be numbers, got {value!r}") from None
    if array.ndim != ndim:
        shape = {
            0: "a number",
            1: "a list of numbers",
            2: "a matrix (list of lists)",
            3: "a list of matrices",
        }
        raise ConfigError(f"source.{key} must be {shape.get(ndim, f'{ndim}-D')}, got {value!r}")
    if not np.all(np.isfinite(array)):
        raise ConfigError(f"source.{key} must be finite numbers, got {value!r}")
    if array.size and np.abs(array).max() > MAX_MAGNITUDE:
        raise ConfigError(f"source.{key} must lie within ±{MAX_MAGNITUDE:.0e} (larger values "
                          f"overflow the metrics' arithmetic), got {value!r}")
    return array


def _is_scalar(value) -> bool:
    return np.ndim(value) == 0


def _check_int(key: str, value, minimum: int) -> int:
    # bool is an int subclass; `k: true` in a recipe is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"source.{key} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _cholesky_of_covariance(key: str, matrix: np.ndarray) -> np.ndarray:
    """Validate a symmetric positive-definite matrix and return its lower Cholesky factor."""
    if matrix.shape[0] != matrix.shape[1]:
        raise ConfigError(f"source.{key} must be square, got shape {matrix.shape}")
    if not np.allclose(matrix, matrix.T, rtol=1e-8, atol=1e-10):
        raise ConfigError(f"source.{key} must be symmetric, got {matrix.tolist()}")
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        raise ConfigError(
            f"source.{key} must be positive definite, got {matrix.tolist()}"
        ) from None


def _infer_dim(dim, candidates: dict[str, object]) -> int:
    """Dimension from ``dim`` or from the first list-valued parameter, checked for agreement.

    ``candidates`` maps recipe keys to values whose first axis (when a list) is ``d``.
    """
    sizes = {key: np.shape(value)[0] for key, value in candidates.items() if not _is_scalar(value)}
    if dim is None:
        dim = next(iter(sizes.values()), 1)
    dim = _check_int("dim", dim, 1)
    if dim > MAX_DIM:
        raise ConfigError(f"source.dim = {dim:,} is above the largest supported, {MAX_DIM:,}")
    for key, size in sizes.items():
        if size != dim:
            raise ConfigError(f"source.{key} has {size} entries but source.dim is {dim}")
    return dim


class GaussianSource(Source):
    """A multivariate Gaussian truth N(mean, covariance).

    Parameters
    ----------
    dim : int, optional
        Dimension ``d``. Defaults to the length of ``mean``/``variance``/``covariance``
        when one of them is a list, else 1.
    mean : float or list of float, default 0.0
        The mean, one number for every coordinate or a list of ``d``.
    variance : float or list of float, optional
        Diagonal covariance: one variance for every coordinate or a list of ``d``
        (all > 0). Defaults to 1.0 when ``covariance`` is not given.
    covariance : list of lists, optional
        A full ``(d, d)`` covariance matrix, symmetric positive definite. Exclusive with
        ``variance``.

    Attributes
    ----------
    mean : ndarray of shape (d,)
    covariance : ndarray of shape (d, d)
    """

    kind = "vectors"

    def __init__(
        self,
        dim: int | None = None,
        mean: float | list[float] = 0.0,
        variance: float | list[float] | None = None,
        covariance: list[list[float]] | None = None,
    ):
        if variance is not None and covariance is not None:
            raise ConfigError("give source.variance or source.covariance, not both")
        candidates = {"mean": mean, "covariance": covariance, "variance": variance}
        self.dim = _infer_dim(dim, {k: v for k, v in candidates.items() if v is not None})

        mean_array = _as_float_array("mean", mean, 0 if _is_scalar(mean) else 1)
        self.mean = np.broadcast_to(mean_array, (self.dim,)).astype(float)

        if covariance is not None:
            self.covariance = _as_float_array("covariance", covariance, 2)
        else:
            variance = 1.0 if variance is None else variance
            variances = _as_float_array("variance", variance, 0 if _is_scalar(variance) else 1)
            if np.any(variances <= 0):
                raise ConfigError(f"source.variance must be > 0, got {variance!r}")
            self.covariance = np.diag(np.broadcast_to(variances, (self.dim,)).astype(float))
        self._cholesky = _cholesky_of_covariance("covariance", self.covariance)

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` rows, shape ``(n, d)``."""
        n = check_draw_count(n)
        normals = rng.standard_normal((n, self.dim))
        return self.mean + normals @ self._cholesky.T

    def describe(self) -> str:
        return f"gaussian truth (dim={self.dim})"


class MixtureSource(Source):
    """A Gaussian-mixture truth: ``sum_j weights[j] * N(means[j], covariances[j])``.

    The defaults are two well-separated, equally weighted isotropic Gaussians in 2-D
    (means 4 standard deviations apart): genloop's own demonstration truth (the
    ``two-blobs`` variant of ``nature-gmm``), not the Nature model-collapse paper's. The
    paper's GMM experiment draws one blob, ``make_blobs`` with centre (0, 0) and std 1,
    which is this source with ``weights=[1.0], means=[[0, 0]], stds=1.0``.

    Parameters
    ----------
    weights : list of float, default (0.5, 0.5)
        Component weights ``(k,)``, positive, summing to 1.
    means : list of lists, default ((-2, 0), (2, 0))
        Component means ``(k, d)``.
    covariances : list of matrices, optional
        Full component covariances ``(k, d, d)``, each symmetric positive definite.
    stds : float or list of float, optional
        Isotropic standard deviations: one for every component or one per component
        (covariance ``std**2 * I``). Exclusive with ``covariances``; defaults to 1.0
        when neither is given.

    Attributes
    ----------
    mixture : tuple of ndarray
        ``(weights (k,), means (k, d), covariances (k, d, d))``. ``mean`` and
        ``covariance`` stay ``None``: the truth is not Gaussian; see :meth:`moments`.
    """

    kind = "vectors"

    def __init__(
        self,
        weights: Sequence[float] = (0.5, 0.5),
        means: Sequence[Sequence[float]] = ((-2.0, 0.0), (2.0, 0.0)),
        covariances: list[list[list[float]]] | None = None,
        stds: float | list[float] | None = None,
    ):
        if covariances is not None and stds is not None:
            raise ConfigError("give source.covariances or source.stds, not both")
        weight_array = _as_float_array("weights", weights, 1)
        if len(weight_array) == 0 or np.any(weight_array <= 0):
            raise ConfigError(f"source.weights must be positive numbers, got {weights!r}")
        if abs(weight_array.sum() - 1.0) > _SUM_TOLERANCE:
            raise ConfigError(f"source.weights must sum to 1, got {weights!r}")
        weight_array = weight_array / weight_array.sum()
        n_components = len(weight_array)

        mean_array = _as_float_array("means", means, 2)
        if mean_array.shape[0] != n_components:
            raise ConfigError(
                f"source.means has {mean_array.shape[0]} rows but source.weights has "
                f"{n_components} components"
            )
        dim = mean_array.shape[1]

        if covariances is not None:
            cov_array = _as_float_array("covariances", covariances, 3)
            if cov_array.shape != (n_components, dim, dim):
                raise ConfigError(
                    f"source.covariances must have shape ({n_components}, {dim}, {dim}) "
                    f"(components, dim, dim), got {cov_array.shape}"
                )
        else:
            stds = 1.0 if stds is None else stds
            std_array = _as_float_array("stds", stds, 0 if _is_scalar(stds) else 1)
            if std_array.ndim == 1 and len(std_array) != n_components:
                raise ConfigError(
                    f"source.stds has {len(std_array)} entries but source.weights has "
                    f"{n_components} components"
                )
            if np.any(std_array <= 0):
                raise ConfigError(f"source.stds must be > 0, got {stds!r}")
            std_array = np.broadcast_to(std_array, (n_components,))
            cov_array = std_array[:, None, None] ** 2 * np.eye(dim)[None]
        self._choleskys = np.stack(
            [_cholesky_of_covariance(f"covariances[{j}]", c) for j, c in enumerate(cov_array)]
        )
        self.mixture = (weight_array, mean_array, cov_array)
        self.dim = dim

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """The mixture's overall mean ``(d,)`` and covariance ``(d, d)``.

        Law of total covariance: ``Σ = Σ_j w_j (Σ_j + μ_j μ_jᵀ) − μ μᵀ``.
        """
        weights, means, covariances = self.mixture
        mean = weights @ means
        second_moment = np.einsum("j,jab->ab", weights, covariances) + np.einsum(
            "j,ja,jb->ab", weights, means, means
        )
        return mean, second_moment - np.outer(mean, mean)

    def draw_with_components(
        self, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` rows ``(n, d)`` and the component each came from ``(n,)`` (int64).

        :meth:`draw` returns the same rows for the same generator state.
        """
        n = check_draw_count(n)
        weights, means, _ = self.mixture
        components = rng.choice(len(weights), size=n, p=weights).astype(np.int64)
        normals = rng.standard_normal((n, self.dim))
        rows = means[components] + np.einsum("nab,nb->na", self._choleskys[components], normals)
        return rows, components

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` rows, shape ``(n, d)``."""
        return self.draw_with_components(n, rng)[0]

    def describe(self) -> str:
        return f"gaussian-mixture truth ({len(self.mixture[0])} components, dim={self.dim})"


class CategoricalSource(Source):
    """An explicit categorical truth over states ``0..K-1``.

    Parameters
    ----------
    probabilities : list of float
        ``(K,)`` non-negative numbers summing to 1 (renormalised exactly).
    labels : list of str, optional
        A name for each state, for reports (e.g. which words were lost).

    Attributes
    ----------
    probabilities : ndarray of shape (K,)
    labels : list of str or None
    """

    kind = "categorical"

    def __init__(self, probabilities: list[float], labels: list[str] | None = None):
        probs = _as_float_array("probabilities", probabilities, 1)
        if len(probs) == 0 or np.any(probs < 0):
            raise ConfigError(
                f"source.probabilities must be a non-empty list of numbers >= 0, "
                f"got {probabilities!r}"
            )
        if abs(probs.sum() - 1.0) > _SUM_TOLERANCE:
            raise ConfigError(f"source.probabilities must sum to 1, got sum {probs.sum():.6g}")
        if labels is not None and len(labels) != len(probs):
            raise ConfigError(
                f"source.labels has {len(labels)} entries but source.probabilities has {len(probs)}"
            )
        self.probabilities = probs / probs.sum()
        self.labels = None if labels is None else [str(label) for label in labels]

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` states, int64 of shape ``(n, 1)``."""
        n = check_draw_count(n)
        states = rng.choice(len(self.probabilities), size=n, p=self.probabilities)
        return states.astype(np.int64).reshape(n, 1)

    def describe(self) -> str:
        return f"categorical truth ({len(self.probabilities)} states)"


def zipf_probabilities(k: int, exponent: float) -> np.ndarray:
    """Zipf probabilities ``p_i ∝ 1 / (i + 1)**exponent`` for ``i = 0..k-1``, shape ``(k,)``."""
    weights = 1.0 / np.arange(1, k + 1, dtype=float) ** exponent
    return weights / weights.sum()


class ZipfSource(CategoricalSource):
    """A Zipfian categorical truth: ``p_i ∝ 1 / (i + 1)**exponent`` over ``k`` states.

    State 0 is the most likely; the long tail of rare states is what collapses first.

    Parameters
    ----------
    k : int, default 100
        Number of states (>= 1).
    exponent : float, default 1.1
        Zipf exponent (> 0); larger means a steeper head and a lighter tail.
    """

    def __init__(self, k: int = 100, exponent: float = 1.1):
        self.k = _check_int("k", k, 1)
        if isinstance(exponent, bool) or not isinstance(exponent, (int, float, np.number)):
            raise ConfigError(f"source.exponent must be a number > 0, got {exponent!r}")
        if not np.isfinite(exponent) or exponent <= 0:
            raise ConfigError(f"source.exponent must be a finite number > 0, got {exponent!r}")
        self.exponent = float(exponent)
        super().__init__(zipf_probabilities(self.k, self.exponent))

    def describe(self) -> str:
        return f"zipf truth (k={self.k}, exponent={self.exponent:g})"
