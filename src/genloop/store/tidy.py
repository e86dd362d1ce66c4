"""Reading long-format metrics when seeds stop at different generations.

A seed that stops early (``stop_when_absorbed``: a categorical model absorbed in one
state can never change again) logs no rows after it stops. Its last values still hold
for every later generation, so statistics across seeds at generation g must use each
seed's last value at or before g — otherwise later generations would only summarise the
seeds that had not yet stopped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def default_generations(generations) -> list[int]:
    """The generations a summary shows by default: first, middle and last logged."""
    gens = np.sort(np.unique(np.asarray(generations, dtype=int)))
    if not len(gens):
        return []
    return sorted({int(gens[0]), int(gens[len(gens) // 2]), int(gens[-1])})


def values_at(metrics: pd.DataFrame, generations) -> pd.DataFrame:
    """Each seed's value of each metric at each requested generation, carried forward.

    Parameters
    ----------
    metrics : DataFrame
        Long format: ``variant, seed, generation, metric, value``.
    generations : iterable of int

    Returns
    -------
    DataFrame
        Same columns; one row per (variant, seed, metric, requested generation) for
        which the seed had logged the metric at or before that generation.
    """
    # Integer codes per (variant, metric, seed): no sort or string groupby over what can
    # be tens of millions of rows (a fast-path run of 10,000 seeds).
    codes, n_keys = _key_codes(metrics)
    generation = metrics["generation"].to_numpy()
    parts = []
    for wanted in sorted({int(g) for g in generations}):
        chosen = np.flatnonzero(generation == wanted)
        if len(chosen) != n_keys or np.unique(codes[chosen]).size != n_keys:
            # Some seed stopped before `wanted` (or skipped it): its latest row counts.
            upto = np.flatnonzero(generation <= wanted)
            latest = np.full(n_keys, np.iinfo(np.int64).min)
            np.maximum.at(latest, codes[upto], generation[upto])
            chosen = upto[generation[upto] == latest[codes[upto]]]
            # Duplicate rows of one key and generation: keep the last (as a stable tail).
            _, last = np.unique(codes[chosen][::-1], return_index=True)
            chosen = np.sort(chosen[::-1][last])
        part = metrics.iloc[chosen].copy()
        part["generation"] = wanted
        parts.append(part)
    if not parts:
        return metrics.iloc[0:0]
    return pd.concat(parts, ignore_index=True)[list(metrics.columns)]


def _key_codes(metrics: pd.DataFrame) -> tuple[np.ndarray, int]:
    """Dense integer codes of (variant, metric, seed) per row, and how many keys exist."""

    def codes_of(column):
        values = metrics[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            return values.cat.codes.to_numpy(np.int64), len(values.cat.categories)
        codes, uniques = pd.factorize(values)
        return codes.astype(np.int64), len(uniques)

    variant, n_variants = codes_of("variant")
    metric, n_metrics = codes_of("metric")
    seed = metrics["seed"].to_numpy(np.int64)
    if len(seed) and seed.min() >= 0 and n_variants * n_metrics * (seed.max() + 1) < 1 << 26:
        key = (variant * n_metrics + metric) * (seed.max() + 1) + seed
    else:
        seed, n_seeds = codes_of("seed")
        key = (variant * n_metrics + metric) * n_seeds + seed
    if key.max(initial=0) < 1 << 26:
        # A modest key range: compress it to 0..n-1 with a lookup table (no hashing).
        present = np.zeros(int(key.max(initial=-1)) + 1, dtype=bool)
        present[key] = True
        lookup = np.cumsum(present) - 1
        return lookup[key], int(present.sum())
    codes, uniques = pd.factorize(key)
    return codes.astype(np.int64), len(uniques)


def wide(metrics: pd.DataFrame, metric: str, variant: str) -> pd.DataFrame:
    """One metric as a (generation × seed) table, each seed carried forward after it stops."""
    rows = metrics[(metrics["metric"] == metric) & (metrics["variant"] == variant)]
    table = rows.pivot_table(index="generation", columns="seed", values="value", aggfunc="last")
    full = np.arange(table.index.min(), table.index.max() + 1) if len(table) else table.index
    return table.reindex(full).ffill()
