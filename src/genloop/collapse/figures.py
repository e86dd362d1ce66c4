"""Figures of a collapse run: metric curves across seeds, density snapshots, absorption.

Every function reads the long-format metrics and the run's artifacts and writes PNGs;
none recomputes anything the run measured.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from genloop.core.figures import save_figure

# Metrics that say more as a figure than as a number, in the order they are drawn.
PREFERRED = [
    "log_variance_change", "variance_ratio", "w2", "tail_mass", "component_std",
    "heldout_loglik", "gmm_l2sq_gen0", "gmm_l2", "mean_shift", "support_size", "states_lost",
    "tail_mass_retained", "entropy", "total_variation", "kl",
    # text and image models (metrics/text.py, metrics/images.py)
    "heldout_ppl_median", "sample_ppl_q50", "sample_ppl_q90", "lost_rare_words",
    "latent_spread", "frechet_distance", "rare_class_share", "classes_covered",
    "distinct_2", "vocabulary", "repetition_rate",
]


def _matplotlib():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def quantile_bands(metrics: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Median, 10% and 90% quantiles and mean of one metric per variant and generation.

    Seeds that stopped early (absorbed) count with their last value at later generations.
    """
    from genloop.store.tidy import wide

    parts = []
    for variant in metrics.loc[metrics["metric"] == metric, "variant"].unique():
        table = wide(metrics, metric, variant)
        parts.append(pd.DataFrame({
            "variant": variant, "generation": table.index,
            "median": table.median(axis=1).to_numpy(),
            "q10": table.quantile(0.1, axis=1).to_numpy(),
            "q90": table.quantile(0.9, axis=1).to_numpy(),
            "mean": table.mean(axis=1).to_numpy(), "n": table.count(axis=1).to_numpy(),
        }))
    columns = ["variant", "generation", "median", "q10", "q90", "mean", "n"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


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
    save_figure(fig, path, dpi=110)
    return path


def config_name(config) -> str:
    return f"{config.family.name} on {config.source.name}, n={config.n}"


def _load_snapshots(unit: Path, family) -> list:
    import warnings

    from safetensors.numpy import load_file

    snaps = []
    for f in sorted(unit.glob("snapshot_gen*.safetensors")):
        try:
            arrays = load_file(str(f))
            model_arrays = {k[6:]: v for k, v in arrays.items() if k.startswith("model.")}
            model = family.from_arrays(model_arrays)
        except Exception as exc:  # a damaged snapshot costs one panel, not the figure
            warnings.warn(f"skipping unreadable snapshot {f}: {exc}", stacklevel=2)
            continue
        pool = arrays.get("pool", np.zeros((0, 1)))
        snaps.append((int(f.stem.split("gen")[1]), model, pool))
    return snaps


def _model_extent(model) -> np.ndarray:
    """Points spanning a model's mass (mean ± 3 SD per component), shape (2k, d)."""
    from genloop.metrics.model_views import model_mixture

    _, means, covariances = model_mixture(model)
    spread = 3 * np.sqrt(np.diagonal(covariances, axis1=-2, axis2=-1))
    return np.concatenate([means - spread, means + spread])


def density_snapshots(run_path: Path, config, out_dir: Path) -> Path | None:
    """The Nature-GMM-style figure: the model's density at each snapshot generation.

    One row per variant (its lowest seed), one column per snapshot generation; the dots
    are up to 300 rows of the pool the model was fitted on.
    """
    from genloop.core.registry import resolve

    units = {}
    for unit in sorted((run_path / "artifacts").glob("*")):
        variant = unit.name.split("__seed")[0]
        if variant not in units and any(unit.glob("snapshot_gen*.safetensors")):
            units[variant] = unit
    family = resolve("family", config.family.name)
    if not units or getattr(family, "kind", "vectors") != "vectors":
        return None
    rows = {variant: _load_snapshots(unit, family) for variant, unit in units.items()}
    first_pool = next(iter(rows.values()))[0][2]
    dim = first_pool.shape[1]
    if dim > 2:
        return None
    # Exact fast paths keep no pool rows after generation 0 (their snapshots hold an
    # empty pool): frame the plots by every pool that has rows, else by the models.
    pools = [pool for snaps in rows.values() for _, _, pool in snaps if len(pool)]
    if pools:
        framed = np.concatenate(pools)
    else:
        framed = np.concatenate([_model_extent(model) for snaps in rows.values()
                                 for _, model, _ in snaps])
    plt = _matplotlib()
    n_cols = max(len(s) for s in rows.values())
    fig, axes = plt.subplots(
        len(rows), n_cols, figsize=(2.6 * n_cols, 2.5 * len(rows)), squeeze=False
    )
    lo = framed.min(axis=0) - 1.0
    hi = framed.max(axis=0) + 1.0
    for row_axes, (variant, snaps) in zip(axes, rows.items(), strict=False):
        for ax, (generation, model, pool) in zip(row_axes, snaps, strict=False):
            dots = pool[:: max(1, len(pool) // 300)]
            if dim == 1:
                grid = np.linspace(lo[0], hi[0], 400)[:, None]
                ax.plot(grid[:, 0], np.exp(model.score_samples(grid)))
                if len(pool):
                    ax.hist(pool[:, 0], bins=40, density=True, alpha=0.3)
                ax.set_xlabel("x", fontsize=7)
                ax.set_ylabel("density", fontsize=7)
            else:
                xs, ys = np.meshgrid(np.linspace(lo[0], hi[0], 120), np.linspace(lo[1], hi[1], 120))
                grid = np.column_stack([xs.ravel(), ys.ravel()])
                density = np.exp(model.score_samples(grid)).reshape(xs.shape)
                ax.contourf(xs, ys, density, levels=12, cmap="viridis")
                ax.scatter(dots[:, 0], dots[:, 1], s=1, c="w", alpha=0.5)
                ax.set_xlim(lo[0], hi[0])
                ax.set_ylim(lo[1], hi[1])
                # the colour is the density; the axes are the two coordinates of a row
                ax.set_xlabel("x[0]", fontsize=7)
                ax.set_ylabel("x[1]", fontsize=7)
            label = f"generation {generation}"
            ax.set_title(label if variant == "default" else f"{variant}: {label}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        for ax in row_axes[len(snaps):]:
            ax.axis("off")
    fig.suptitle("density of the fitted model (first seed of each variant)", fontsize=10)
    fig.tight_layout()
    path = out_dir / "density_snapshots.png"
    save_figure(fig, path, dpi=110)
    return path


def absorption_histogram(metrics: pd.DataFrame, config, out_dir: Path) -> Path | None:
    """Where seeds were absorbed, against the theory p_i (discrete recursive fitting)."""
    from genloop.collapse.theory import absorbing_states
    from genloop.core.registry import build_source

    absorbed = absorbing_states(metrics)
    if not len(absorbed):
        return None
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
    save_figure(fig, path, dpi=110)
    return path


def perplexity_histograms(metrics: pd.DataFrame, config, out_dir: Path) -> Path | None:
    """Per-sample perplexity of each generation's data under generation 0's model.

    The Nature paper's LM histograms, from the ``sample_ppl_hist_*`` bin shares that the
    ``sample_perplexity`` metric logged: one panel per variant, one line per generation
    (median share over seeds), log-spaced perplexity on x.
    """
    rows = metrics[metrics["metric"].str.startswith("sample_ppl_hist_")]
    if rows.empty:
        return None
    plt = _matplotlib()
    edges_log = rows[rows["metric"].isin(["sample_ppl_hist_low", "sample_ppl_hist_high"])]
    low = float(edges_log[edges_log["metric"] == "sample_ppl_hist_low"]["value"].iloc[0])
    high = float(edges_log[edges_log["metric"] == "sample_ppl_hist_high"]["value"].iloc[0])
    bins = rows[rows["metric"].str.fullmatch(r"sample_ppl_hist_\d+")].copy()
    bins["bin"] = bins["metric"].str.rsplit("_", n=1).str[-1].astype(int)
    n_bins = int(bins["bin"].max()) + 1
    edges = np.logspace(low, high, n_bins + 1)
    centres = np.sqrt(edges[:-1] * edges[1:])
    variants = list(dict.fromkeys(bins["variant"]))
    fig, axes = plt.subplots(1, len(variants), figsize=(5.0 * len(variants), 3.6),
                             squeeze=False, sharey=True)
    generations = sorted(bins["generation"].unique())
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(generations)))
    for ax, variant in zip(axes.flat, variants, strict=False):
        part = bins[bins["variant"] == variant]
        shares = part.groupby(["generation", "bin"])["value"].median().unstack(fill_value=0)
        for colour, generation in zip(colours, generations, strict=False):
            if generation in shares.index:
                ax.plot(centres, shares.loc[generation].reindex(range(n_bins), fill_value=0),
                        color=colour, label=f"gen {generation}")
        ax.set_xscale("log")
        ax.set_xlabel("perplexity under generation 0's model")
        ax.set_title(variant if variant != "default" else config_name(config))
    axes.flat[0].set_ylabel("share of samples (median over seeds)")
    axes.flat[-1].legend(fontsize=7)
    fig.tight_layout()
    path = Path(out_dir) / "perplexity_histograms.png"
    save_figure(fig, path, dpi=120)
    return path


# (metric, axis label, how to turn start/end medians into a collapse measure)
CAPACITY_MEASURES = [
    ("gmm_l2", "L2 distance to the truth: growth per generation", "growth"),
    ("tail_mass", "tail mass beyond real 1%/99%: end / start", "ratio"),
    ("heldout_loglik", "held-out log-likelihood: change per generation", "growth"),
]


def capacity_figure(metrics: pd.DataFrame, variants: dict, out_dir: Path) -> Path | None:
    """A collapse measure against model capacity, one line per family.

    Uses the variants that declare ``capacity``. Each point is the median over seeds of
    the per-seed measure (10–90% band as error bars): growth per generation is
    ``(value_G − value_0) / G``; the ratio is ``value_G / value_0``.
    """
    from genloop.store.tidy import values_at

    placed = {name: cfg for name, cfg in variants.items() if cfg.capacity is not None}
    if not placed:
        return None
    last = int(metrics["generation"].max())
    ends = values_at(metrics, [0, last])
    measures = [m for m in CAPACITY_MEASURES if m[0] in set(metrics["metric"])]
    if not measures:
        return None
    plt = _matplotlib()
    fig, axes = plt.subplots(1, len(measures), figsize=(4.6 * len(measures), 3.4), squeeze=False)
    for ax, (metric, label, how) in zip(axes.flat, measures, strict=True):
        rows = ends[ends["metric"] == metric]
        table = rows.pivot_table(index=["variant", "seed"], columns="generation", values="value")
        if how == "growth":
            per_seed = (table[last] - table[0]) / max(last, 1)
        else:
            per_seed = table[last] / table[0]
        by_family: dict[str, list] = {}
        for name, cfg in placed.items():
            if name not in per_seed.index.get_level_values(0):
                continue
            values = per_seed.loc[name].to_numpy()
            by_family.setdefault(cfg.family.name, []).append((cfg.capacity, values))
        for family, points in by_family.items():
            points.sort(key=lambda p: p[0])
            x = np.array([p[0] for p in points])
            med = np.array([np.median(v) for _, v in points])
            lo = np.array([np.quantile(v, 0.1) for _, v in points])
            hi = np.array([np.quantile(v, 0.9) for _, v in points])
            ax.errorbar(x, med, yerr=[med - lo, hi - med], marker="o", capsize=3, label=family)
        ax.set_xscale("log")
        ax.set_xlabel("capacity (components; 1 / bandwidth for KDE)")
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle(f"collapse vs capacity after {last} generations (median, 10–90% over seeds)")
    fig.tight_layout()
    path = out_dir / "collapse_vs_capacity.png"
    save_figure(fig, path, dpi=110)
    return path


# Collapse measures of a mitigation study, in the order drawn (at most three panels).
MITIGATION_MEASURES = [
    ("tail_mass", "tail mass beyond the data's 1% / 99% quantiles", False),
    ("gmm_l2", "L2 distance to the true density", True),
    ("w2", "W2 to held-out real data (empirical)", False),
    ("heldout_ppl_median", "held-out perplexity (median block)", True),
    ("lost_rare_words", "share of rare real words lost", False),
]


def mitigation_table(metrics: pd.DataFrame, generation: int | None = None) -> pd.DataFrame:
    """Per variant: median over seeds of each collapse measure at ``generation`` (default:
    the last), its 10–90% range, the pool's synthetic share and the number of seeds."""
    from genloop.store.tidy import values_at

    last = int(metrics["generation"].max()) if generation is None else generation
    names = [m for m, _, _ in MITIGATION_MEASURES if m in set(metrics["metric"])]
    at = values_at(metrics, [last])
    rows = []
    for variant in pd.unique(metrics["variant"]):
        row = {"variant": variant}
        for name in [*names, "synthetic_share"]:
            values = at[(at["variant"] == variant) & (at["metric"] == name)]["value"].to_numpy()
            if len(values):
                row[name] = float(np.median(values))
                row[f"{name} q10–q90"] = (f"{np.quantile(values, 0.1):.3g}–"
                                         f"{np.quantile(values, 0.9):.3g}")
                row["seeds"] = len(values)
        rows.append(row)
    return pd.DataFrame(rows)


def mitigations_figure(metrics: pd.DataFrame, variants: dict, out_dir: Path) -> Path | None:
    """Collapse measures vs generation, one line per policy/filter variant (median over
    seeds, 10–90% band); drawn when some variant curates (a mitigation study)."""
    if not any(getattr(cfg, "curation", None) for cfg in variants.values()):
        return None
    present = set(metrics["metric"])
    measures = [m for m in MITIGATION_MEASURES if m[0] in present][:3]
    if not measures:
        return None
    plt = _matplotlib()
    colors = plt.get_cmap("tab20").colors
    fig, axes = plt.subplots(1, len(measures), figsize=(5.2 * len(measures), 4.2), squeeze=False)
    for ax, (metric, label, log) in zip(axes.flat, measures, strict=True):
        bands = quantile_bands(metrics, metric)
        for i, name in enumerate(variants):
            part = bands[bands["variant"] == name]
            if part.empty:
                continue
            # filters dashed, plain policies solid: the two groups the study compares
            style = "--" if getattr(variants[name], "curation", None) else "-"
            color = colors[(2 * i) % 20 if i < 10 else (2 * i + 1) % 20]
            ax.plot(part["generation"], part["median"], style, color=color, label=name, lw=1.4)
            ax.fill_between(part["generation"], part["q10"], part["q90"], alpha=0.08,
                            color=color)
        if log:
            ax.set_yscale("log")
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("generation")
    axes.flat[-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    n_seeds = metrics["seed"].nunique()
    fig.suptitle(f"mitigations: median and 10–90% band over {n_seeds} seed(s)")
    fig.tight_layout()
    path = out_dir / "mitigations.png"
    save_figure(fig, path, dpi=110, bbox_inches="tight")
    return path
