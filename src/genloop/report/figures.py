"""Figures for reports: policy comparisons across grid points and the provenance panel.

The bench's own figures (metric curves with theory, density snapshots, absorption) come
from the bench's ``plot``; this module adds what only a sweep or a report needs. Every
function returns PNG bytes (or ``None`` when there is nothing to draw).
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

PROVENANCE = ["synthetic_share", "pool_size"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png_bytes(fig) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it."""
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def comparison_metrics(metrics: pd.DataFrame, preferred=(), limit: int = 8) -> list[str]:
    """The metrics worth a comparison figure: the bench's ``preferred_metrics`` first."""
    present = set(metrics["metric"])
    names = [m for m in preferred if m in present]
    names += sorted(present - set(names) - set(PROVENANCE) - {"absorbed", "absorbed_state"})
    return names[:limit]


def policy_comparison(
    summary: pd.DataFrame, metric: str, theory=None, order: list[str] | None = None
) -> bytes | None:
    """One figure for one metric: every grid point on the same axes, one panel per variant.

    Parameters
    ----------
    summary : pandas.DataFrame
        ``summary.parquet`` rows (``point, variant, metric, generation, median, q10, q90``).
    metric : str
    theory : callable, optional
        ``theory(point, variant, metric, generations) -> array or None``; drawn dashed in
        the point's colour.
    order : list of str, optional
        The points in legend order (default: as they appear in ``summary``).
    """
    rows = summary[summary["metric"] == metric]
    if rows.empty:
        return None
    plt = _pyplot()
    variants = list(dict.fromkeys(rows["variant"]))
    present = set(rows["point"])
    points = [p for p in order if p in present] if order else list(dict.fromkeys(rows["point"]))
    fig, axes = plt.subplots(1, len(variants), figsize=(4.6 * len(variants), 3.4), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, variant in zip(axes[0], variants, strict=True):
        for i, point in enumerate(points):
            part = rows[(rows["variant"] == variant) & (rows["point"] == point)]
            part = part.sort_values("generation")
            if part.empty:
                continue
            colour = colours[i % len(colours)]
            ax.plot(part["generation"], part["median"], color=colour, label=point)
            ax.fill_between(part["generation"], part["q10"], part["q90"], color=colour, alpha=0.15)
            curve = (
                theory(point, variant, metric, part["generation"].to_numpy()) if theory else None
            )
            if curve is not None:
                ax.plot(
                    part["generation"], curve, "--", color=colour, lw=1, label=f"{point}: theory"
                )
        ax.set_title(metric if variant == "default" else f"{metric} — {variant}", fontsize=10)
        ax.set_xlabel("generation")
        ax.legend(fontsize=7)
    fig.suptitle("median and 10–90% band across seeds, every grid point", fontsize=9)
    fig.tight_layout()
    return png_bytes(fig)


def provenance_figure(metrics: pd.DataFrame, group: list[str]) -> bytes | None:
    """Synthetic share and pool size vs generation (median across seeds) per group."""
    present = [m for m in PROVENANCE if m in set(metrics["metric"])]
    if not present:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(present), figsize=(4.6 * len(present), 3.2), squeeze=False)
    for ax, metric in zip(axes[0], present, strict=True):
        rows = metrics[metrics["metric"] == metric]
        medians = rows.groupby([*group, "generation"], sort=False)["value"].median()
        for label, part in medians.groupby(level=list(range(len(group))), sort=False):
            name = label if isinstance(label, str) else " / ".join(map(str, np.atleast_1d(label)))
            ax.plot(
                part.index.get_level_values("generation"),
                part.to_numpy(),
                label=None if name == "default" else name,
            )
        ax.set_title(metric, fontsize=10)
        ax.set_xlabel("generation")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.suptitle("provenance: share of model-made rows in the pool, and its size", fontsize=9)
    fig.tight_layout()
    return png_bytes(fig)
