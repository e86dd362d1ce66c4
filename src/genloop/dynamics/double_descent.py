"""Model-wise and sample-wise double descent with random-features regression.

A random-features model ``ŷ(x) = φ(x)ᵀw`` with ``N`` fixed random features is fitted to
``n`` noisy points by (ridge-)least squares; with ``λ = 0`` and ``N > n`` the fit is the
minimum-norm interpolant. Sweeping ``N`` through ``n`` gives Belkin et al.'s (2019)
double descent; sweeping ``n`` through a fixed ``N`` gives the sample-wise version
(more data can hurt, Nakkiran 2019). Every fit is a *linear smoother* ``ŷ = S y``;
Curth et al. (2023) count the parameters it effectively uses on a set of inputs ``I`` as
``p̂_I = (n/|I|) Σ_{x∈I} ‖s(x)‖²`` (``s(x)`` the row of ``S`` for input ``x``). On the
training inputs of a ridgeless fit this is ``min(N, n)``, the trace of the hat matrix;
on unseen inputs it peaks at the threshold and falls again, so plotted against it the
test error folds back into a U.

The ridge objective is ``(1/n)‖Φw − y‖² + λ‖w‖²`` (as in Hastie et al. 2022) with features
scaled by ``1/√N``, so ``λ`` means the same thing for every ``N``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from genloop.core.errors import ConfigError
from genloop.core.rng import generator
from genloop.dynamics.config import DoubleDescentConfig


def target_function(x: np.ndarray) -> np.ndarray:
    """The noiseless truth ``f(x) = Σ_j sin(x_j) / √d``; x of shape (n, d) → (n,)."""
    return np.sin(x).sum(axis=1) / np.sqrt(x.shape[1])


def draw_feature_map(
    kind: str, input_dim: int, n_features: int, bandwidth: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw the random first layer: weights of shape (d, N) and offsets of shape (N,).

    Fourier features use ``w ~ N(0, I/bandwidth²)`` and ``b ~ U[0, 2π)`` (Rahimi & Recht
    2007: their span approximates the Gaussian kernel of length scale ``bandwidth``);
    ReLU features use the same weights and ``b ~ U[-1, 1)``.
    """
    weights = rng.standard_normal((input_dim, n_features)) / bandwidth
    offsets = rng.uniform(0.0, 2.0 * np.pi, n_features)
    if kind == "relu":
        offsets = offsets / np.pi - 1.0
    elif kind != "fourier":
        raise ConfigError(f"double_descent.features={kind!r}; allowed: fourier, relu")
    return weights, offsets


def random_features(
    x: np.ndarray, weights: np.ndarray, offsets: np.ndarray, kind: str
) -> np.ndarray:
    """Feature matrix ``Φ`` of shape (n, N), scaled by ``√(2/N)`` so ``ΦΦᵀ`` ≈ a kernel matrix."""
    pre = x @ weights + offsets
    activation = np.cos(pre) if kind == "fourier" else np.maximum(pre, 0.0)
    return activation * np.sqrt(2.0 / weights.shape[1])


def spectral_filter(singular_values: np.ndarray, ridge: float, n_samples: int) -> np.ndarray:
    """Map each singular value ``s`` of ``Φ`` to its weight in ``w = V diag(g(s)) Uᵀ y``.

    ``g(s) = s / (s² + nλ)`` for ridge ``λ > 0``; for ``λ = 0``, ``g(s) = 1/s`` above
    numpy's ``lstsq`` cut-off (``eps · max(n, N) · s_max``) and 0 below it, which is the
    minimum-norm least-squares solution (the pseudo-inverse).
    """
    s = np.asarray(singular_values, dtype=float)
    if ridge > 0.0:
        return s / (s**2 + n_samples * ridge)
    cutoff = np.finfo(float).eps * max(n_samples, s.size) * (s.max() if s.size else 0.0)
    keep = s > cutoff
    return np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)


def fit_least_squares(features: np.ndarray, targets: np.ndarray, ridge: float = 0.0) -> np.ndarray:
    """Minimum-norm (``ridge = 0``) or ridge least-squares weights.

    Parameters
    ----------
    features : ndarray of shape (n, N)
    targets : ndarray of shape (n,)
    ridge : float
        ``λ ≥ 0`` in ``(1/n)‖Φw − y‖² + λ‖w‖²``.

    Returns
    -------
    ndarray of shape (N,)
        Equals ``pinv(Φ) @ y`` for ``ridge = 0`` and ``(ΦᵀΦ + nλI)⁻¹Φᵀy`` otherwise.
    """
    if ridge < 0.0:
        raise ConfigError(f"ridge={ridge}; must be non-negative")
    u, s, vt = np.linalg.svd(features, full_matrices=False)
    return vt.T @ (spectral_filter(s, ridge, features.shape[0]) * (u.T @ targets))


def smoother_fit(
    train_features: np.ndarray,
    train_targets: np.ndarray,
    test_features: np.ndarray,
    test_truth: np.ndarray,
    ridges: list[float],
) -> dict[float, dict[str, float]]:
    """Fit every ridge from one SVD and measure errors and effective parameters.

    Parameters
    ----------
    train_features : ndarray of shape (n, N)
    train_targets : ndarray of shape (n,)
        Noisy training targets.
    test_features : ndarray of shape (m, N)
    test_truth : ndarray of shape (m,)
        Noiseless target values at the test inputs.
    ridges : list of float

    Returns
    -------
    dict
        For each ridge: ``test_mse`` (against the noiseless truth), ``train_mse``
        (against the noisy targets), ``p_eff_test`` and ``p_eff_train`` (Curth et al.'s
        effective parameters on test and training inputs), ``df_trace`` (trace of the
        training smoother, the classical degrees of freedom) and ``weight_norm`` (‖w‖).
    """
    n = train_features.shape[0]
    u, s, vt = np.linalg.svd(train_features, full_matrices=False)
    projected_targets = u.T @ train_targets  # (k,)
    test_in_basis = test_features @ vt.T  # (m, k)
    results = {}
    for ridge in ridges:
        g = spectral_filter(s, ridge, n)
        shrink = s * g  # eigenvalues of the training smoother S = U diag(s·g) Uᵀ
        weights_in_basis = g * projected_targets
        test_smoother = (test_in_basis * g) @ u.T  # (m, n): rows s(x) for test inputs
        results[ridge] = {
            "test_mse": float(np.mean((test_in_basis @ weights_in_basis - test_truth) ** 2)),
            "train_mse": float(np.mean((u @ (shrink * projected_targets) - train_targets) ** 2)),
            "p_eff_test": float(n * np.mean(np.sum(test_smoother**2, axis=1))),
            "p_eff_train": float(np.sum(shrink**2)),  # ‖S‖_F² = (n/n)·Σ_i ‖s(x_i)‖²
            "df_trace": float(np.sum(shrink)),
            "weight_norm": float(np.linalg.norm(weights_in_basis)),
        }
    return results


def ridge_label(ridge: float) -> str:
    """The suffix that names a ridge in metric names, e.g. ``"@ridge=0.01"``."""
    return f"@ridge={ridge:g}"


def _draw_data(config: DoubleDescentConfig, seed: int, n_train: int):
    d = config.input_dim
    x_train = generator(seed, -1, "inputs").standard_normal((n_train, d))
    noise = generator(seed, -1, "label-noise").standard_normal(n_train) * config.noise_std
    y_train = target_function(x_train) + noise
    x_test = generator(seed, -1, "test-inputs").standard_normal((config.n_test, d))
    return x_train, y_train, x_test, target_function(x_test)


def sweep(
    config: DoubleDescentConfig, seed: int, blas_threads: int = 1
) -> list[tuple[int, dict[str, float]]]:
    """Run the configured sweep for one seed: a list of ``(swept value, metrics)``.

    The swept value (the runner's ``generation``) is the number of features ``N`` for
    ``sweep = "model"`` and the number of training points ``n`` for ``sweep = "sample"``.
    Features are nested (the first ``N`` columns of one draw) and so are training sets
    (the first ``n`` rows), so each seed traces one smooth curve.

    Metrics: ``n_params`` (``N``), ``n_train`` and, for each ridge ``λ``, the entries of
    :func:`smoother_fit` suffixed with :func:`ridge_label` (``test_mse@ridge=0``).

    ``blas_threads`` caps BLAS threads during the sweep: the matrices are small (at most
    ``n × N``), so extra threads cost more in start-up and contention than they save —
    30× slower with two OpenBLAS threads on a busy 2-core machine.
    """
    from threadpoolctl import threadpool_limits

    if config.sweep == "model":
        grid = sorted(set(config.n_features))
        max_features, max_train = grid[-1], config.n_train
    else:
        grid, max_features = sorted(set(config.train_sizes)), config.fixed_features
        max_train = grid[-1]
    x_train, y_train, x_test, f_test = _draw_data(config, seed, max_train)
    weights, offsets = draw_feature_map(
        config.features,
        config.input_dim,
        max_features,
        config.bandwidth,
        generator(seed, -1, "features"),
    )
    results = []
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        # Raw activations are computed once for the largest model; each N rescales a slice.
        raw_train = random_features(x_train, weights, offsets, config.features)
        raw_test = random_features(x_test, weights, offsets, config.features)
        for value in grid:
            n_features = value if config.sweep == "model" else max_features
            n_train = config.n_train if config.sweep == "model" else value
            rescale = np.sqrt(max_features / n_features)
            fits = smoother_fit(
                raw_train[:n_train, :n_features] * rescale,
                y_train[:n_train],
                raw_test[:, :n_features] * rescale,
                f_test,
                config.ridges,
            )
            metrics = {"n_params": float(n_features), "n_train": float(n_train)}
            for ridge, values in fits.items():
                metrics.update({name + ridge_label(ridge): v for name, v in values.items()})
            results.append((value, metrics))
    return results


def run_double_descent(
    config: DoubleDescentConfig,
    seed: int,
    log: Callable[[int, dict[str, float]], None],
    advance: Callable[..., None] = lambda n=1: None,
) -> None:
    """Log one seed's sweep: ``log(N or n, metrics)`` for each grid point."""
    for value, metrics in sweep(config, seed):
        log(value, metrics)
        advance(1)


def peak_ratio(curves, metric: str, threshold: int) -> dict[str, float]:
    """Median-over-seeds curve at the threshold divided by its minimum over the grid.

    Parameters
    ----------
    curves : pandas.DataFrame
        Long-format metrics (columns generation, seed, metric, value).
    metric : str
        E.g. ``"test_mse@ridge=0"``.
    threshold : int
        The swept value at the interpolation threshold (``n_train`` for a model-wise
        sweep); it must be on the grid.

    Returns
    -------
    dict
        ``ratio``, ``at_threshold``, ``minimum`` and ``argmin`` of the median curve.
    """
    rows = curves[curves["metric"] == metric]
    if rows.empty:
        raise ConfigError(f"no metric {metric!r} in the logged curves")
    median = rows.groupby("generation")["value"].median()
    if threshold not in median.index:
        raise ConfigError(f"threshold {threshold} is not on the swept grid of {metric!r}")
    return {
        "ratio": float(median.loc[threshold] / median.min()),
        "at_threshold": float(median.loc[threshold]),
        "minimum": float(median.min()),
        "argmin": float(median.idxmin()),
    }
