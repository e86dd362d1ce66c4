"""k-means for many small datasets at once (the initialisation of batched EM).

Follows scikit-learn's ``KMeans(n_init=1)`` with its defaults: greedy k-means++ seeding
(``2 + int(log k)`` candidates per centre, the one lowering the potential most wins),
then Lloyd iterations until the labels stop changing or the total squared centre shift
falls to ``tol`` times the mean per-feature variance of the data. Results equal
sklearn's in distribution, not draw for draw (the random streams differ); use
``init_params="sklearn-kmeans"`` in
:class:`~genloop.collapse.fast.batched_em.BatchedGaussianMixture` for draw-for-draw parity.
"""

from __future__ import annotations

import math

import numpy as np


def _squared_distances(
    X: np.ndarray, centers: np.ndarray, x_squared: np.ndarray | None = None
) -> np.ndarray:
    """Squared distances, shape (S, k, N), from X (S, N, d) and centers (S, k, d).

    Expanded as ``|x|^2 - 2 c.x + |c|^2`` (one matrix product, as sklearn does); callers
    centre the data so the cancellation stays negligible.
    """
    if x_squared is None:
        x_squared = np.einsum("snd,snd->sn", X, X)
    cross = centers @ np.swapaxes(X, 1, 2)
    c_squared = np.einsum("skd,skd->sk", centers, centers)
    return np.maximum(x_squared[:, None, :] - 2.0 * cross + c_squared[..., None], 0.0)


def _nearest(distances: np.ndarray) -> np.ndarray:
    """Index of the smallest entry along axis 1 of (S, k, N), ties to the lowest index.

    An explicit loop over the few clusters beats ``argmin`` over a short middle axis.
    """
    best, labels = distances[:, 0].copy(), np.zeros(distances[:, 0].shape, dtype=np.int64)
    for j in range(1, distances.shape[1]):
        closer = distances[:, j] < best
        best = np.where(closer, distances[:, j], best)
        labels[closer] = j
    return labels


def kmeans_plusplus(X: np.ndarray, n_clusters: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ seeding for every dataset of a batch.

    Parameters
    ----------
    X : ndarray of shape (S, N, d)
    n_clusters : int
    rng : numpy.random.Generator

    Returns
    -------
    indices : ndarray of int, shape (S, n_clusters)
        Row indices of the chosen centres in each dataset.
    """
    seeds, n_points, _ = X.shape
    rows = np.arange(seeds)
    trials = 2 + int(math.log(n_clusters))
    x_squared = np.einsum("snd,snd->sn", X, X)
    indices = np.empty((seeds, n_clusters), dtype=np.int64)
    indices[:, 0] = rng.integers(n_points, size=seeds)
    closest = _squared_distances(X, X[rows, indices[:, 0]][:, None, :], x_squared)[:, 0]
    potential = closest.sum(axis=1)
    for c in range(1, n_clusters):
        thresholds = rng.random((seeds, trials)) * potential[:, None]
        cumulative = np.cumsum(closest, axis=1)
        candidates = np.minimum(
            (cumulative[:, None, :] < thresholds[:, :, None]).sum(axis=2), n_points - 1
        )
        to_candidates = _squared_distances(X, X[rows[:, None], candidates], x_squared)
        trial_closest = np.minimum(closest[:, None, :], to_candidates)
        best = np.argmin(trial_closest.sum(axis=2), axis=1)
        closest = trial_closest[rows, best]
        potential = closest.sum(axis=1)
        indices[:, c] = candidates[rows, best]
    return indices


def batched_kmeans(
    X: np.ndarray, n_clusters: int, rng: np.random.Generator, max_iter: int = 300, tol: float = 1e-4
):
    """Lloyd's k-means on each dataset of a batch, seeded by greedy k-means++.

    Parameters
    ----------
    X : ndarray of shape (S, N, d)
    n_clusters : int
    rng : numpy.random.Generator
    max_iter : int, default=300
    tol : float, default=1e-4
        Relative tolerance (scaled by each dataset's mean per-feature variance) on the
        total squared centre shift, as in sklearn.

    Returns
    -------
    labels : ndarray of int, shape (S, N)
    centers : ndarray of shape (S, n_clusters, d)
    n_iter : ndarray of int, shape (S,)
    """
    seeds, _, _ = X.shape
    rows = np.arange(seeds)
    shift = X.mean(axis=1, keepdims=True)
    X = X - shift
    x_squared = np.einsum("snd,snd->sn", X, X)
    # sklearn's tolerance: tol times the mean per-feature variance of the data.
    tolerance = tol * x_squared.mean(axis=1) / X.shape[2]
    centers = X[rows[:, None], kmeans_plusplus(X, n_clusters, rng)]
    labels = _nearest(_squared_distances(X, centers, x_squared))
    n_iter = np.zeros(seeds, dtype=np.int64)
    active = rows
    for iteration in range(1, max_iter + 1):
        if active.size == 0:
            break
        Xa, old_labels = X[active], labels[active]
        one_hot = old_labels[:, None, :] == np.arange(n_clusters)[None, :, None]
        sizes = one_hot.sum(axis=2)
        sums = one_hot.astype(float) @ Xa
        # An empty cluster keeps its centre (sklearn relocates it; rare for tiny k).
        new_centers = np.where(
            sizes[..., None] > 0, sums / np.maximum(sizes, 1)[..., None], centers[active]
        )
        moved = ((new_centers - centers[active]) ** 2).sum(axis=(1, 2))
        centers[active] = new_centers
        new_labels = _nearest(_squared_distances(Xa, new_centers, x_squared[active]))
        labels[active] = new_labels
        n_iter[active] = iteration
        done = np.all(new_labels == old_labels, axis=1) | (moved <= tolerance[active])
        active = active[~done]
    return labels, centers + shift, n_iter
