"""The figure of a self-training run, drawn from the long-format metrics table.

``plot_self_training(metrics, config, out_dir)`` writes ``self_training.png``: held-out
accuracy against the round for every variant (mean and 95 % confidence band over seeds),
and beside it the share of wrong labels among the answers each variant admitted. The
controls (``oracle``: true labels; ``seed-only``: no new data) are dashed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

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
    fig.savefig(path, dpi=110)
    return [path]


def _title(config) -> str:
    settings = getattr(config, "self_training", None) or config
    op = getattr(settings, "op", None)
    if op is None:
        return "verified self-training"
    return (f"self-training on a{op}b (base {settings.base}): seed set ≤{settings.seed_digits}"
            f" digits, problems widen to {settings.max_digits}")
