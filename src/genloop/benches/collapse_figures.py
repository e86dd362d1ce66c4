"""Figures of a collapse run: metric curves across seeds, density snapshots, absorption.

Every function reads the long-format metrics and the run's artifacts and writes PNGs;
none recomputes anything the run measured.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

# Metrics that say more as a figure than as a number, in the order they are drawn.
PREFERRED = [
    "log_variance_change", "variance_ratio", "w2", "tail_mass", "component_std",
    "heldout_loglik", "gmm_l2", "mean_shift", "support_size", "states_lost",
    "tail_mass_retained", "entropy", "total_variation", "kl",
]


def _matplotlib():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def quantile_bands(metrics: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Median, 10% and 90% quantiles and mean of one metric per variant and generation."""
    rows = metrics[metrics["metric"] == metric]
    grouped = rows.groupby(["variant", "generation"])["value"]
    return pd.DataFrame({
        "median": grouped.median(), "q10": grouped.quantile(0.1),
        "q90": grouped.quantile(0.9), "mean": grouped.mean(), "n": grouped.size(),
    }).reset_index()


def metric_curves(metrics: pd.DataFrame, config, out_dir: Path, theory=None) -> Path | None:
    """One panel per metric: median and 10–90% band per variant, theory dashed."""
    plt = _matplotlib()
    present = set(metrics["metric"])
    names = [m for m in PREFERRED if m in present][:8]
    if not names:
        return None
    cols = min(4, len(names))
    rows = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        bands = quantile_bands(metrics, name)
        for variant, part in bands.groupby("variant", sort=False):
            label = None if variant == "default" else variant
            (line,) = ax.plot(part["generation"], part["median"], label=label)
            ax.fill_between(part["generation"], part["q10"], part["q90"], alpha=0.2,
                            color=line.get_color())
        if theory is not None:
            gens = np.sort(bands["generation"].unique())
            curve = theory(name, gens)
            if curve is not None:
                ax.plot(gens, curve, "k--", lw=1, label="theory (mean)")
        ax.set_title(name)
        ax.set_xlabel("generation")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    n_seeds = metrics["seed"].nunique()
    fig.suptitle(f"{config_name(config)}: median and 10–90% band over {n_seeds} seed(s)")
    fig.tight_layout()
    path = out_dir / "metrics.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def config_name(config) -> str:
    return f"{config.family.name} on {config.source.name}, n={config.n}"


def density_snapshots(run_path: Path, config, out_dir: Path) -> Path | None:
    """The Nature-GMM-style figure: the model's density at each snapshot generation."""
    from safetensors.numpy import load_file

    from genloop.registry import resolve

    files = sorted((run_path / "artifacts").glob("*/snapshot_gen*.safetensors"))
    if not files:
        return None
    unit = files[0].parent
    files = sorted(unit.glob("snapshot_gen*.safetensors"))
    family = resolve("family", config.family.name)
    snaps = []
    for f in files:
        arrays = load_file(str(f))
        model_arrays = {k[6:]: v for k, v in arrays.items() if k.startswith("model.")}
        model = family.from_arrays(model_arrays)
        snaps.append((int(f.stem.split("gen")[1]), model, arrays["pool"]))
    dim = snaps[0][2].shape[1]
    if getattr(family, "kind", "vectors") != "vectors" or dim > 2:
        return None
    plt = _matplotlib()
    fig, axes = plt.subplots(1, len(snaps), figsize=(2.6 * len(snaps), 2.8), squeeze=False)
    first_pool = snaps[0][2]
    lo = first_pool.min(axis=0) - 1.0
    hi = first_pool.max(axis=0) + 1.0
    for ax, (generation, model, pool) in zip(axes.flat, snaps, strict=False):
        if dim == 1:
            grid = np.linspace(lo[0], hi[0], 400)[:, None]
            ax.plot(grid[:, 0], np.exp(model.score_samples(grid)))
            ax.hist(pool[:, 0], bins=40, density=True, alpha=0.3)
        else:
            xs, ys = np.meshgrid(np.linspace(lo[0], hi[0], 120), np.linspace(lo[1], hi[1], 120))
            grid = np.column_stack([xs.ravel(), ys.ravel()])
            density = np.exp(model.score_samples(grid)).reshape(xs.shape)
            ax.contourf(xs, ys, density, levels=12, cmap="viridis")
            ax.scatter(pool[:300, 0], pool[:300, 1], s=1, c="w", alpha=0.5)
            ax.set_xlim(lo[0], hi[0])
            ax.set_ylim(lo[1], hi[1])
        ax.set_title(f"generation {generation}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"density of the fitted model ({unit.name})", fontsize=10)
    fig.tight_layout()
    path = out_dir / "density_snapshots.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def absorption_histogram(metrics: pd.DataFrame, config, out_dir: Path) -> Path | None:
    """Where seeds were absorbed, against the theory p_i (discrete recursive fitting)."""
    from genloop.engine.spec import build_source

    states = metrics[metrics["metric"] == "absorbed_state"]
    if not len(states):
        return None
    final = states.sort_values("generation").groupby(["variant", "seed"])["value"].last()
    absorbed = final[final >= 0].astype(int).to_numpy()
    truth = build_source(config.source).probabilities
    if truth is None or not len(absorbed):
        return None
    plt = _matplotlib()
    k = min(len(truth), 30)
    counts = np.bincount(absorbed, minlength=len(truth))[:k] / len(absorbed)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(np.arange(k), counts, label=f"absorbed here ({len(absorbed)} seeds)")
    ax.plot(np.arange(k), truth[:k] / truth.sum(), "k.", label="theory: p_i")
    ax.set_xlabel("state (most probable first)")
    ax.set_ylabel("share of seeds")
    ax.legend()
    fig.tight_layout()
    path = out_dir / "absorption.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
