"""Figures of the seek bench, drawn from the long-format metrics table.

``plot(metrics, config, out_dir)`` returns the PNG paths it wrote. For a curriculum run:

* ``seek_hardest_accuracy.png`` — verified accuracy on the hardest programs against the
  training samples consumed: one thin line per seed and the median over seeds per sampler
  (a seed that stopped at the target keeps its last value), target dashed;
* ``seek_sampling_share.png`` — the share of all samples so far spent on unlearnable
  (random-target) programs, and on noisy ones, per sampler (median and 10–90 % band);
* ``seek_samples_to_target.png`` — samples to the target per seed and sampler, with the
  speed-up over uniform and its bootstrap CI in the labels.

For a self-training run, ``self_training.png``: held-out accuracy against the round for
every variant (mean and 95 % confidence band over seeds), and beside it the share of wrong
labels among the answers each variant admitted; the controls (``oracle``: true labels;
``seed-only``: no new data) are dashed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from genloop.core.figures import save_figure


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
    save_figure(fig, path, dpi=110)
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
    save_figure(fig, path, dpi=110)
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
    save_figure(fig, path, dpi=110)
    return path


def plot(metrics, config, out_dir) -> list[Path]:
    """Write the seek figures for ``metrics`` into ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if getattr(config, "experiment", "curriculum") == "self_training":
        return plot_self_training(metrics, config, out_dir)
    if "variant" not in metrics:
        metrics = metrics.assign(variant="default")
    paths = [plot_accuracy(metrics, config, out_dir), plot_share(metrics, out_dir)]
    if "samples_to_target" in set(metrics["metric"]):
        paths.append(plot_samples_to_target(metrics, out_dir))
    return paths


# -- self-training -------------------------------------------------------------------------

# One colour per admission rule, whatever the variant is called, so figures agree.
COLOURS = {"verifier": "tab:green", "unverified": "tab:red", "confidence": "tab:orange",
           "oracle": "tab:blue", "none": "tab:gray", "seed-only": "tab:gray"}


def mean_band(metrics: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean and two-sided 95 % t-interval over seeds of one metric per variant and round.

    Parameters
    ----------
    metrics : DataFrame
        Long format: ``variant`` (optional), ``seed``, ``generation``, ``metric``, ``value``.

    Returns
    -------
    DataFrame
        ``variant, generation, mean, low, high, n``; ``low == high == mean`` with one seed.
    """
    from scipy import stats

    rows = metrics[metrics["metric"] == metric]
    if "variant" not in rows:
        rows = rows.assign(variant="default")
    grouped = rows.groupby(["variant", "generation"], sort=False)["value"]
    table = grouped.agg(["mean", "std", "count"]).reset_index()
    dof = np.maximum(table["count"].to_numpy() - 1, 1)
    half = stats.t.ppf(0.975, dof) * table["std"].fillna(0.0) / np.sqrt(table["count"])
    half = np.where(table["count"] > 1, half, 0.0)
    return pd.DataFrame({
        "variant": table["variant"], "generation": table["generation"],
        "mean": table["mean"], "low": table["mean"] - half, "high": table["mean"] + half,
        "n": table["count"],
    }).sort_values(["variant", "generation"], kind="stable", ignore_index=True)


def _colour(variant: str):
    for admission, colour in COLOURS.items():
        if variant == admission or variant.startswith(f"{admission}-"):
            return colour
    return None


# References rather than self-training (true labels, or no new data): dashed.
CONTROLS = ("oracle", "none", "seed-only")


def _draw(ax, bands: pd.DataFrame, order: list[str]) -> None:
    for variant in order:
        part = bands[bands["variant"] == variant]
        if part.empty:
            continue
        dashed = any(variant == c or variant.startswith(f"{c}-") for c in CONTROLS)
        (line,) = ax.plot(part["generation"], part["mean"], marker="o", ms=3,
                          color=_colour(variant), label=variant, ls="--" if dashed else "-")
        ax.fill_between(part["generation"], part["low"], part["high"], alpha=0.2,
                        color=line.get_color(), linewidth=0)


def plot_self_training(metrics: pd.DataFrame, config, out_dir) -> list[Path]:
    """Write ``self_training.png`` into ``out_dir``; returns ``[path]`` (``[]`` if no data).

    Parameters
    ----------
    metrics : DataFrame
        The run's long-format metrics (``variant, seed, generation, metric, value``).
    config : SeekConfig or SelfTrainingConfig or None
        Only used for the title (task and widening schedule).
    out_dir : path
        Created if missing.
    """
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    accuracy = mean_band(metrics, "heldout_accuracy")
    if accuracy.empty:
        return []
    wrong = mean_band(metrics, "admitted_wrong_share")
    # the run's variant order (the recipe's), not alphabetical
    rows = metrics[metrics["metric"] == "heldout_accuracy"]
    order = list(dict.fromkeys(rows["variant"])) if "variant" in rows else ["default"]
    n_seeds = metrics["seed"].nunique()

    fig = Figure(figsize=(11.0, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    _draw(left, accuracy, order)
    left.set_xlabel("round (0 = seed set only)")
    left.set_ylabel("held-out accuracy (exact answer)")
    left.set_title("held-out accuracy, all operand lengths")
    left.legend(fontsize=8)
    _draw(right, wrong, order)
    right.set_xlabel("round")
    right.set_ylabel("share of admitted answers that are wrong")
    right.set_title("wrong labels admitted into training")
    right.set_ylim(-0.03, 1.03)
    if not wrong.empty:
        right.legend(fontsize=8)
    fig.suptitle(f"{_title(config)}: mean and 95% CI over {n_seeds} seed(s)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "self_training.png"
    save_figure(fig, path, dpi=110)
    return [path]


def _title(config) -> str:
    settings = getattr(config, "self_training", None) or config
    op = getattr(settings, "op", None)
    if op is None:
        return "verified self-training"
    return (f"self-training on a{op}b (base {settings.base}): seed set ≤{settings.seed_digits}"
            f" digits, problems widen to {settings.max_digits}")
