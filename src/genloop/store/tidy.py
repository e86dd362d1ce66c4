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
    parts = []
    ordered = metrics.sort_values("generation", kind="stable")
    for generation in sorted({int(g) for g in generations}):
        upto = ordered[ordered["generation"] <= generation]
        last = upto.groupby(["variant", "metric", "seed"], sort=False).tail(1).copy()
        last["generation"] = generation
        parts.append(last)
    if not parts:
        return metrics.iloc[0:0]
    return pd.concat(parts, ignore_index=True)[list(metrics.columns)]


def wide(metrics: pd.DataFrame, metric: str, variant: str) -> pd.DataFrame:
    """One metric as a (generation × seed) table, each seed carried forward after it stops."""
    rows = metrics[(metrics["metric"] == metric) & (metrics["variant"] == variant)]
    table = rows.pivot_table(index="generation", columns="seed", values="value", aggfunc="last")
    full = np.arange(table.index.min(), table.index.max() + 1) if len(table) else table.index
    return table.reindex(full).ffill()
