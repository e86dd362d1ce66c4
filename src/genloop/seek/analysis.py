"""The curriculum's acceptance measure: training samples needed to reach the target.

From a run's long-format metrics (columns ``variant, seed, generation, metric, value``):

* :func:`samples_to_target` — one row per variant × seed: the samples consumed when the
  mean verified accuracy on the hardest programs first reached the target, or the run's
  whole budget (``reached`` False: a censored value, a lower bound) if it never did;
* :func:`speedup` — ``mean(baseline) / mean(method)`` over the seeds both variants ran
  (paired), with a seeded percentile-bootstrap CI that resamples seeds;
* :func:`summary` — both, plus the sampling share of unlearnable programs, per variant.

``python -m genloop.seek.analysis RUN_DIR [RUN_DIR ...]`` prints the summary of
one run, or of several (variants or seeds run side by side) taken together.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from genloop.core.errors import ConfigError, DataError

BASELINE = "uniform"


def _last(metrics: pd.DataFrame, metric: str) -> pd.Series:
    """The value of ``metric`` at each (variant, seed)'s last logged generation."""
    rows = metrics[metrics["metric"] == metric].sort_values("generation")
    return rows.groupby(["variant", "seed"])["value"].last()


def samples_to_target(metrics: pd.DataFrame, target: float | None = None) -> pd.DataFrame:
    """Samples to the target accuracy on the hardest programs, per variant and seed.

    Parameters
    ----------
    metrics : DataFrame
        Long format with ``variant`` (optional; ``"default"`` if absent), ``seed``,
        ``generation``, ``metric``, ``value``.
    target : float, optional
        Recompute from the ``acc_hardest`` curve with this target instead of reading the
        logged ``samples_to_target``.

    Returns
    -------
    DataFrame
        Columns ``variant, seed, samples, reached``; unreached runs hold their budget
        (the last logged ``samples``) with ``reached`` False.
    """
    if "variant" not in metrics:
        metrics = metrics.assign(variant="default")
    needed = {"samples", "acc_hardest"}
    missing = needed - set(metrics["metric"])
    if missing:
        raise DataError(f"metrics lack {sorted(missing)}; is this a seek curriculum run?")
    budget = _last(metrics, "samples")
    if target is None and "reached_target" in set(metrics["metric"]):
        reached = _last(metrics, "reached_target").reindex(budget.index) > 0
        logged = _last(metrics, "samples_to_target").reindex(budget.index).where(reached)
    else:
        target = 0.9 if target is None else target
        wide = metrics[metrics["metric"].isin(["samples", "acc_hardest"])].pivot_table(
            index=["variant", "seed", "generation"], columns="metric", values="value"
        )
        hit = wide[wide["acc_hardest"] >= target].groupby(level=["variant", "seed"])["samples"]
        logged = hit.min().reindex(budget.index)
    reached = logged.notna()
    table = pd.DataFrame({"samples": logged.fillna(budget), "reached": reached})
    return table.reset_index()[["variant", "seed", "samples", "reached"]]


def speedup(table: pd.DataFrame, method: str, baseline: str = BASELINE, n_boot: int = 10000,
            seed: int = 0, level: float = 0.95) -> dict[str, float]:
    """``mean(baseline samples) / mean(method samples)`` over paired seeds, with a CI.

    The bootstrap resamples seeds with replacement (keeping each seed's pair together),
    ``n_boot`` times from ``numpy.random.default_rng(seed)``; the CI is the percentile
    interval at ``level``. Censored (unreached) runs count with their budget, which makes
    the ratio conservative for whichever side was censored; the counts are returned.

    Returns
    -------
    dict
        ``ratio, ci_low, ci_high, n_seeds, baseline_unreached, method_unreached``.
    """
    variants = set(table["variant"])
    for name in (method, baseline):
        if name not in variants:
            raise ConfigError(f"variant {name!r} not in the run; it has {sorted(variants)}")
    wide = table.pivot(index="seed", columns="variant", values="samples")
    reached = table.pivot(index="seed", columns="variant", values="reached")
    paired = wide[[baseline, method]].dropna()
    if paired.empty:
        raise DataError(f"variants {baseline!r} and {method!r} share no seed")
    base, other = paired[baseline].to_numpy(), paired[method].to_numpy()
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(paired), size=(n_boot, len(paired)))
    ratios = base[picks].mean(axis=1) / other[picks].mean(axis=1)
    tail = (1.0 - level) / 2.0
    return {
        "ratio": float(base.mean() / other.mean()),
        "ci_low": float(np.quantile(ratios, tail)),
        "ci_high": float(np.quantile(ratios, 1.0 - tail)),
        "n_seeds": float(len(paired)),
        "baseline_unreached": float((~reached.loc[paired.index, baseline].astype(bool)).sum()),
        "method_unreached": float((~reached.loc[paired.index, method].astype(bool)).sum()),
    }


def summary(metrics: pd.DataFrame, baseline: str = BASELINE, **bootstrap) -> pd.DataFrame:
    """Per variant: samples to target (mean, median, reached/seeds), the speed-up over
    ``baseline`` with its bootstrap CI, and the final cumulative share of unlearnable and
    noisy programs (mean over seeds)."""
    if "variant" not in metrics:
        metrics = metrics.assign(variant="default")
    table = samples_to_target(metrics)
    order = list(dict.fromkeys([baseline, *metrics["variant"]]))  # baseline first
    rows = []
    for variant in [v for v in order if v in set(table["variant"])]:
        part = table[table["variant"] == variant]
        row = {
            "variant": variant,
            "seeds": len(part),
            "reached": int(part["reached"].sum()),
            "mean_samples": float(part["samples"].mean()),
            "median_samples": float(part["samples"].median()),
        }
        for share in ("cum_share_unlearnable", "cum_share_noisy"):
            if share in set(metrics["metric"]):
                row[share] = float(_last(metrics, share).loc[variant].mean())
        if baseline in set(table["variant"]) and variant != baseline:
            gain = speedup(table, variant, baseline, **bootstrap)
            row.update({f"speedup_{k}": v for k, v in gain.items() if k != "n_seeds"})
        rows.append(row)
    return pd.DataFrame(rows)


def summary_lines(metrics: pd.DataFrame, baseline: str = BASELINE) -> list[str]:
    """Plain-language lines of :func:`summary` for ``genloop show`` (curriculum runs).

    Samples never reaching the target count as the whole budget, so a ratio over such
    seeds is a bound; the line says how many seeds did not reach it.
    """
    if not {"samples", "acc_hardest"} <= set(metrics["metric"]):
        return []  # not a curriculum run (self-training logs other metrics)
    try:
        table = summary(metrics, baseline)
    except (KeyError, ValueError):
        return []
    lines = []
    for row in table.to_dict("records"):
        if row["reached"] == 0:
            text = (f"[{row['variant']}] target not reached by any of {row['seeds']} seeds "
                    f"within the budget ({row['mean_samples']:,.0f} samples)")
        else:
            censored = "" if row["reached"] == row["seeds"] else (
                "; the others count as the whole budget")
            text = (f"[{row['variant']}] samples to target: mean {row['mean_samples']:,.0f} "
                    f"({row['reached']}/{row['seeds']} seeds reached it{censored})")
        if row["reached"] and row.get("speedup_ratio", float("nan")) == row.get("speedup_ratio"):
            text += (f"; {baseline} needs {row['speedup_ratio']:.2f}× as many "
                     f"[95% CI {row['speedup_ci_low']:.2f}, {row['speedup_ci_high']:.2f}]")
        if "cum_share_unlearnable" in row:
            text += f"; share on unlearnable programs {row['cum_share_unlearnable']:.3f}"
        lines.append(text)
    return lines


def load_metrics(run_dirs) -> pd.DataFrame:
    """The metrics of one or more runs (e.g. variants run side by side).

    Each entry is a run directory, ``latest`` or a recipe name (its newest run), as for
    ``genloop show``.
    """
    from genloop.core.run_dir import RunDir
    from genloop.store.catalog import find_run

    return pd.concat([RunDir(find_run(path)).metrics() for path in run_dirs],
                     ignore_index=True)


def main(argv: list[str] | None = None) -> None:
    """Print the summary of the runs given on the command line.

    A bad argument (no such run, not a curriculum run) is one line on stderr and exit
    status 2, as for every genloop command.
    """
    from genloop.core.errors import GenloopError

    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        sys.stderr.write("usage: python -m genloop.seek.analysis RUN [RUN ...] "
                         "(a run directory, latest or a recipe name)\n")
        raise SystemExit(2)
    try:
        frame = summary(load_metrics(argv))
    except GenloopError as error:
        sys.stderr.write(f"error: {error}\n")
        raise SystemExit(2) from None
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(frame.to_string(index=False, float_format=lambda v: f"{v:,.3f}"))


if __name__ == "__main__":  # pragma: no cover
    main()
