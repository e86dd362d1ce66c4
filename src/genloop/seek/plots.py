"""Figures of the seek bench, drawn from the long-format metrics table.

``plot(metrics, config, out_dir)`` returns the PNG paths it wrote. For a curriculum run:

* ``seek_hardest_accuracy.png`` — verified accuracy on the hardest programs against the
  training samples consumed: one thin line per seed and the median over seeds per sampler
  (a seed that stopped at the target keeps its last value), target dashed;
* ``seek_sampling_share.png`` — the share of all samples so far spent on unlearnable
  (random-target) programs, and on noisy ones, per sampler (median and 10–90 % band);
* ``seek_samples_to_target.png`` — samples to the target per seed and sampler, with the
  speed-up over uniform and its bootstrap CI in the labels.

A self-training run is drawn by ``self_training.plot_self_training`` when it exists.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def _new_figure(n_panels: int, width: float = 5.5):
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    fig = Figure(figsize=(width * n_panels, 4.0), layout="constrained")
    return fig, fig.subplots(1, n_panels, squeeze=False)[0]


def _thousands(ax) -> None:
    """Sample counts as 100k, 200k, … (full numbers overlap)."""
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value / 1000:g}k"))


def _wide(part, metric: str):
    """Index samples, one column per seed (forward-filled after a seed stopped)."""
    rows = part[part["metric"].isin([metric, "samples"])]
    if metric not in set(rows["metric"]):
        return pd.DataFrame()
    table = rows.pivot_table(index=["seed", "generation"], columns="metric", values="value")
    table = table.dropna(subset=[metric])
    wide = table.reset_index().pivot_table(index="samples", columns="seed", values=metric)
    return wide.sort_index().ffill()


def _target(config) -> float:
    curriculum = getattr(config, "curriculum", None)
    return float(getattr(curriculum, "target_accuracy", 0.9))


def plot_accuracy(metrics, config, out_dir: Path) -> Path:
    """Hardest-program accuracy vs samples per sampler, seeds thin, median thick."""
    fig, (ax,) = _new_figure(1, 7.0)
    for variant, part in metrics.groupby("variant", sort=False):
        wide = _wide(part, "acc_hardest")
        if wide.empty:
            continue
        (line,) = ax.plot(wide.index, wide.median(axis=1), lw=2.2, label=variant)
        for seed in wide.columns:
            ax.plot(wide.index, wide[seed], color=line.get_color(), lw=0.6, alpha=0.35)
    ax.axhline(_target(config), color="black", ls="--", lw=1, label="target")
    ax.set(xlabel="training samples consumed", ylabel="verified accuracy, hardest programs",
           ylim=(-0.02, 1.02), title="Accuracy on the hardest learnable programs")
    ax.legend(fontsize=8)
    _thousands(ax)
    path = out_dir / "seek_hardest_accuracy.png"
    fig.savefig(path, dpi=110)
    return path


def plot_share(metrics, out_dir: Path) -> Path:
    """Cumulative share of samples spent on unlearnable and noisy programs per sampler."""
    fig, axes = _new_figure(2)
    for ax, metric, title in (
        (axes[0], "cum_share_unlearnable", "Samples spent on unlearnable programs"),
        (axes[1], "cum_share_noisy", "Samples spent on noisy programs"),
    ):
        for variant, part in metrics.groupby("variant", sort=False):
            wide = _wide(part, metric)
            if wide.empty:
                continue
            x = wide.index.to_numpy(dtype=float)
            (line,) = ax.plot(x, wide.median(axis=1), label=variant)
            if wide.shape[1] > 1:
                low, high = np.nanpercentile(wide.to_numpy(dtype=float), [10, 90], axis=1)
                ax.fill_between(x, low, high, color=line.get_color(), alpha=0.2, lw=0)
        ax.set(xlabel="training samples consumed", ylabel="share of all samples so far",
               title=title, ylim=(0, None))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        _thousands(ax)
    path = out_dir / "seek_sampling_share.png"
    fig.savefig(path, dpi=110)
    return path


def plot_samples_to_target(metrics, out_dir: Path) -> Path:
    """Dots per seed (hollow: never reached, plotted at the budget), mean bar per sampler."""
    from genloop.seek.analysis import BASELINE, samples_to_target, speedup

    table = samples_to_target(metrics)
    fig, (ax,) = _new_figure(1, 7.0)
    variants = [v for v in dict.fromkeys(metrics["variant"]) if v in set(table["variant"])]
    labels = []
    for x, variant in enumerate(variants):
        part = table[table["variant"] == variant]
        ax.bar(x, part["samples"].mean(), color="0.85", width=0.6)
        jitter = np.linspace(-0.15, 0.15, len(part))
        for offset, (_, row) in zip(jitter, part.iterrows(), strict=True):
            ax.plot(x + offset, row["samples"], "o", color="C0",
                    mfc="C0" if row["reached"] else "none")
        label = variant
        if BASELINE in variants and variant != BASELINE:
            gain = speedup(table, variant)
            label += f"\n×{gain['ratio']:.2f} [{gain['ci_low']:.2f}, {gain['ci_high']:.2f}]"
        labels.append(label)
    ax.set_xticks(range(len(variants)), labels, fontsize=8)
    ax.set(ylabel="training samples to target", title="Samples to target (hollow: not reached)")
    path = out_dir / "seek_samples_to_target.png"
    fig.savefig(path, dpi=110)
    return path


def plot(metrics, config, out_dir) -> list[Path]:
    """Write the seek figures for ``metrics`` into ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if getattr(config, "experiment", "curriculum") == "self_training":
        from genloop.seek import self_training

        drawer = getattr(self_training, "plot_self_training", None)
        return list(drawer(metrics, config, out_dir)) if drawer else []
    if "variant" not in metrics:
        metrics = metrics.assign(variant="default")
    paths = [plot_accuracy(metrics, config, out_dir), plot_share(metrics, out_dir)]
    if "samples_to_target" in set(metrics["metric"]):
        paths.append(plot_samples_to_target(metrics, out_dir))
    return paths
