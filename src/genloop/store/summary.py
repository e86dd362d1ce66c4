"""Across-seed statistics of long-format metrics, and ``summary.parquet``.

Per group (metric × generation × variant, plus the grid columns of a sweep) the summary
holds the number of seeds, the median, the 10% and 90% quantiles (linear interpolation,
as ``numpy.quantile``), mean and standard error, and a **bootstrap confidence interval of
the median across seeds**: 2,000 resamples of the seeds with replacement, the percentile
method, 95% by default, seeded so the same metrics always give the same interval.

The bootstrap is exact and vectorised: for a group of ``n`` sorted values, the median of
a resample depends only on how many times each sorted value was drawn, so the positions
of the two middle order statistics are computed once per ``(n, resample)`` from
multinomial counts and shared by every group of that size. The stream of group size
``n`` is ``numpy.random.default_rng([seed, n])``: a group's interval does not depend on
which other groups are present, so a sweep and any of its points agree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from genloop.core.errors import ConfigError

N_BOOT = 2000
CONFIDENCE = 0.95
BOOT_SEED = 0
STAT_COLUMNS = ["seeds", "median", "q10", "q90", "mean", "sem", "ci_low", "ci_high"]


def median_positions(n: int, n_boot: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices into ``n`` sorted values of the two middle order statistics of each resample.

    Returns
    -------
    lower, upper : ndarray of shape (n_boot,)
        The median of resample ``b`` is ``(sorted[lower[b]] + sorted[upper[b]]) / 2``
        (``lower == upper`` when ``n`` is odd).
    """
    rng = np.random.default_rng([seed, n])
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot)  # (n_boot, n)
    cumulative = np.cumsum(counts, axis=1)
    # The k-th order statistic (0-based) of a resample is the first sorted value whose
    # cumulative count exceeds k.
    lower = np.argmax(cumulative > (n - 1) // 2, axis=1)
    upper = np.argmax(cumulative > n // 2, axis=1)
    return lower, upper


def bootstrap_median_ci(
    sorted_values: np.ndarray,
    n_boot: int = N_BOOT,
    confidence: float = CONFIDENCE,
    seed: int = BOOT_SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap CI of the median for groups of equal size.

    Parameters
    ----------
    sorted_values : ndarray of shape (n_groups, n)
        Each row sorted ascending, ``n >= 2``.

    Returns
    -------
    low, high : ndarray of shape (n_groups,)
    """
    n = sorted_values.shape[1]
    lower, upper = median_positions(n, n_boot, seed)
    alpha = (1.0 - confidence) / 2
    low = np.empty(len(sorted_values))
    high = np.empty(len(sorted_values))
    chunk = max(1, 2_000_000 // n_boot)  # bound memory: chunk × n_boot floats at a time
    for start in range(0, len(sorted_values), chunk):
        block = sorted_values[start : start + chunk]
        medians = (block[:, lower] + block[:, upper]) / 2  # (chunk, n_boot)
        low[start : start + chunk], high[start : start + chunk] = np.quantile(
            medians, [alpha, 1 - alpha], axis=1
        )
    return low, high


def bootstrap_median_difference(
    a: dict[int, float],
    b: dict[int, float],
    *,
    n_boot: int = N_BOOT,
    confidence: float = CONFIDENCE,
    seed: int = BOOT_SEED,
) -> tuple[float, float, float, bool]:
    """Difference of medians ``median(b) - median(a)`` across seeds, with a bootstrap CI.

    When both sides have the same seeds, the seeds are resampled *paired* (the same
    resampled seeds on both sides): runs with equal seeds share their real data and
    streams, and pairing keeps that shared noise out of the interval. Otherwise each side
    is resampled on its own.

    Parameters
    ----------
    a, b : dict of int to float
        Seed -> value.

    Returns
    -------
    difference, low, high : float
        ``low``/``high`` are NaN when a side has fewer than two seeds.
    paired : bool
    """
    rng = np.random.default_rng([seed, len(a), len(b)])
    paired = set(a) == set(b)
    keys_a = sorted(a)
    values_a = np.array([a[k] for k in keys_a])
    values_b = np.array([b[k] for k in (keys_a if paired else sorted(b))])
    difference = float(np.median(values_b) - np.median(values_a))
    if min(len(values_a), len(values_b)) < 2:
        return difference, float("nan"), float("nan"), paired
    index_a = rng.integers(0, len(values_a), size=(n_boot, len(values_a)))
    index_b = index_a if paired else rng.integers(0, len(values_b), size=(n_boot, len(values_b)))
    boots = np.median(values_b[index_b], axis=1) - np.median(values_a[index_a], axis=1)
    alpha = (1.0 - confidence) / 2
    low, high = np.quantile(boots, [alpha, 1 - alpha])
    return difference, float(low), float(high), paired


def summarize(
    metrics: pd.DataFrame,
    keys: list[str] | None = None,
    *,
    n_boot: int = N_BOOT,
    confidence: float = CONFIDENCE,
    seed: int = BOOT_SEED,
) -> pd.DataFrame:
    """Across-seed statistics per group of long-format metrics.

    Parameters
    ----------
    metrics : pandas.DataFrame
        Long format with at least ``seed, generation, metric, value``.
    keys : list of str, optional
        Group columns (default: every column except ``seed`` and ``value``). NaN values
        are left out; infinite ones count.
    n_boot, confidence, seed
        Bootstrap resamples, confidence level and seed of the median's CI.

    Returns
    -------
    pandas.DataFrame
        ``keys`` then ``seeds, median, q10, q90, mean, sem, ci_low, ci_high``; the CI is
        NaN for groups of one seed.
    """
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must lie in (0, 1), got {confidence}")
    if n_boot < 1:
        raise ConfigError(f"n_boot must be a positive number of resamples, got {n_boot}")
    keys = keys or [c for c in metrics.columns if c not in ("seed", "value")]
    frame = metrics.loc[metrics["value"].notna(), [*keys, "value"]]
    if frame.empty:
        return pd.DataFrame(columns=[*keys, *STAT_COLUMNS])
    grouped = frame.groupby(keys, sort=True, dropna=False, observed=True)["value"]
    table = pd.DataFrame(
        {
            "seeds": grouped.size(),
            "median": grouped.median(),
            "q10": grouped.quantile(0.1),
            "q90": grouped.quantile(0.9),
            "mean": grouped.mean(),
            "sem": grouped.sem(),
        }
    ).reset_index()
    codes = grouped.ngroup().to_numpy()
    values = frame["value"].to_numpy(dtype=float)
    order = np.lexsort((values, codes))
    values = values[order]
    sizes = np.bincount(codes, minlength=len(table))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    low = np.full(len(table), np.nan)
    high = np.full(len(table), np.nan)
    for n in np.unique(sizes[sizes >= 2]):
        groups = np.flatnonzero(sizes == n)
        block = values[starts[groups][:, None] + np.arange(n)]
        low[groups], high[groups] = bootstrap_median_ci(block, n_boot, confidence, seed)
    table["ci_low"], table["ci_high"] = low, high
    return table


def write_summary(metrics: pd.DataFrame, path: Path, keys: list[str] | None = None) -> pd.DataFrame:
    """Summarize ``metrics`` and write it atomically as ``summary.parquet`` at ``path``."""
    from genloop.core.run_dir import atomic_write_parquet

    table = summarize(metrics, keys)
    atomic_write_parquet(Path(path), table)
    return table


def describe_change(start: float, end: float) -> str:
    """How a median moved, in words (``genloop demo`` and the report's reading).

    A factor when both ends are positive (a spread, a distance): ``fell 4.0×`` /
    ``rose 2.0×``, or ``about the same, -2.0%`` within 5%, where ``fell 1.0×`` would say
    nothing. Otherwise a difference (a log-change starts at 0): ``changed by -0.486``.
    """
    if start > 0 and end > 0:
        factor = end / start
        if abs(factor - 1) < 0.05:
            return f"about the same, {100 * (factor - 1):+.1f}%"
        return f"fell {1 / factor:.1f}×" if factor < 1 else f"rose {factor:.1f}×"
    return f"changed by {end - start:+.3g}"
