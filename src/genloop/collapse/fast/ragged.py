"""Per-seed sets of points of different sizes, stored left-packed in padded arrays.

A ragged set is ``(points, count)``: ``points`` of shape ``(S, P, d)`` whose first
``count[s]`` rows belong to seed ``s`` (the rest is padding of any value).
"""

from __future__ import annotations

import numpy as np


def empty(seeds: int, d: int):
    """A ragged set with no points: ``(S, 0, d)`` and zero counts."""
    return np.zeros((seeds, 0, d)), np.zeros(seeds, dtype=np.int64)


def concat(parts):
    """Concatenate ragged sets seed by seed.

    Parameters
    ----------
    parts : list of (points (S, P_i, d), count (S,))

    Returns
    -------
    points : ndarray of shape (S, max total, d)
    count : ndarray of shape (S,)
    """
    parts = [(p, c) for p, c in parts if p.shape[1] > 0]
    if not parts:
        raise ValueError("concat needs at least one non-empty part")
    if len(parts) == 1:
        return parts[0]
    seeds, d = parts[0][0].shape[0], parts[0][0].shape[2]
    total = sum(c for _, c in parts)
    out = np.zeros((seeds, int(total.max()), d))
    offset = np.zeros(seeds, dtype=np.int64)
    for points, count in parts:
        seed_idx, row_idx = np.nonzero(np.arange(points.shape[1])[None, :] < count[:, None])
        out[seed_idx, offset[seed_idx] + row_idx] = points[seed_idx, row_idx]
        offset = offset + count
    return out, total


def from_rows(seed_ids: np.ndarray, rows: np.ndarray, seeds: int):
    """Group loose rows by seed into a ragged set.

    Parameters
    ----------
    seed_ids : ndarray of int, shape (R,)
    rows : ndarray of shape (R, d)
    seeds : int

    Returns
    -------
    points : ndarray of shape (S, max count, d)
    count : ndarray of shape (S,)
    """
    count = np.bincount(seed_ids, minlength=seeds).astype(np.int64)
    order = np.argsort(seed_ids, kind="stable")
    sorted_ids = seed_ids[order]
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    position = np.arange(len(order)) - start[sorted_ids]
    out = np.zeros((seeds, int(count.max(initial=0)), rows.shape[1]))
    out[sorted_ids, position] = rows[order]
    return out, count


def subset(rng: np.random.Generator, points: np.ndarray, count: np.ndarray, keep: np.ndarray):
    """A uniform subset (without replacement) of ``keep[s]`` of each seed's points.

    Parameters
    ----------
    rng : numpy.random.Generator
    points : ndarray of shape (S, P, d)
    count, keep : ndarray of int, shape (S,)
        ``keep <= count``.

    Returns
    -------
    points : ndarray of shape (S, max keep, d)
    count : ndarray of shape (S,)  (equal to ``keep``)
    """
    width = int(keep.max(initial=0))
    if width == 0:
        return empty(points.shape[0], points.shape[2])
    keys = rng.random(points.shape[:2])
    # Padding sorts last, so each row's first `keep` keys pick uniformly among its points.
    keys[np.arange(points.shape[1])[None, :] >= count[:, None]] = 2.0
    if width < points.shape[1]:
        order = np.argpartition(keys, width - 1, axis=1)[:, :width]
        order = np.take_along_axis(order, np.argsort(np.take_along_axis(keys, order, 1), 1), 1)
    else:
        order = np.argsort(keys, axis=1)
    return np.take_along_axis(points, order[..., None], axis=1), keep.astype(np.int64)
