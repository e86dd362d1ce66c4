"""The collapse bench: recursive training on generated data, and the theory beside it.

The loop itself lives in :mod:`genloop.collapse.loop`; this module registers it as a bench
and knows which closed forms of :mod:`genloop.collapse.theory` apply to which recipe, so that
``genloop show`` can put the prediction next to the simulation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from genloop.collapse.config import CollapseConfig
from genloop.collapse.figures import PREFERRED
from genloop.core.bench import Bench


def theory_curve(config: CollapseConfig, metric: str, generations: np.ndarray):
    """The expected value of ``metric`` (mean over seeds) where a closed form applies.

    Returns ``None`` when no closed form is known for this family, policy, shape and
    metric. Gaussian refits under ``replace`` with ``reg_covar: 0``: ``log_variance_change``
    follows :func:`~genloop.collapse.theory.gaussian_log_variance_drift` and
    ``variance_ratio`` :func:`~genloop.collapse.theory.gaussian_variance_ratio_mean`, for the
    family's estimator and covariance type and the source's dimension (none for the ratio of
    a full covariance in more than one dimension, nor when the source has no known dimension).
    """
    from genloop.collapse import theory
    from genloop.core.registry import build_source

    if config.family.name != "gaussian" or not config.mixing.resolve(config.n).replaces:
        return None
    params = config.family.params
    # A ridge on the diagonal breaks the chi-square law; say nothing rather than be wrong.
    if params.get("reg_covar", 0.0) != 0.0:
        return None
    quantity = {"log_variance_change": "drift", "variance_ratio": "variance_ratio_mean"}
    if metric not in quantity:
        return None
    source = build_source(config.source)
    dim = getattr(source, "dim", None)
    rows = getattr(source, "rows", None)
    if dim is None and isinstance(rows, np.ndarray) and rows.ndim == 2:
        # Real data (a file, a table): generation 0 fits it, and from generation 1 on every
        # pool is drawn from a Gaussian model, so the same law holds for the change since
        # generation 0, with d the table's width.
        dim = rows.shape[1]
    if dim is None:
        return None
    shape = {"dim": dim, "covariance_type": params.get("covariance_type", "full")}
    if not theory.has_closed_form(quantity[metric], **shape):
        return None
    law = (theory.gaussian_log_variance_drift if metric == "log_variance_change"
           else theory.gaussian_variance_ratio_mean)
    return law(config.n, generations, params.get("estimator", "mle"), **shape)


def theory_checks(metrics: pd.DataFrame, config: CollapseConfig) -> list[str]:
    """Plain-language comparisons of a finished run with the theory that applies to it."""
    from scipy import stats

    lines = []
    last = int(metrics["generation"].max())
    at_last = metrics[metrics["generation"] == last]
    change = at_last[at_last["metric"] == "log_variance_change"]["value"].to_numpy()
    predicted = theory_curve(config, "log_variance_change", np.array([last]))
    if predicted is not None and len(change) > 1:
        mean, sem = change.mean(), change.std(ddof=1) / np.sqrt(len(change))
        z = (mean - predicted[0]) / sem
        verdict = "agrees" if abs(z) < 3 else "DISAGREES"
        lines.append(
            f"log-variance change at generation {last}: mean {mean:+.3f} ± {sem:.3f} (SE, "
            f"{len(change)} seeds) vs theory {predicted[0]:+.3f} — {verdict} (z = {z:+.2f})"
        )
    from genloop.collapse.theory import absorbing_states

    absorbed = absorbing_states(metrics)
    if len(absorbed):
        from genloop.core.registry import build_source

        truth = build_source(config.source).probabilities
        if truth is not None and len(absorbed) >= 20:
            from genloop.collapse import theory

            p = theory.discrete_absorption_probabilities(truth)
            observed = np.bincount(absorbed, minlength=len(p))
            expected = p * len(absorbed)
            # Pool states with small expected counts so the chi-square law holds.
            order = np.argsort(-expected)
            keep = order[np.cumsum(expected[order]) <= len(absorbed) - 5]
            rest = np.setdiff1d(np.arange(len(p)), keep)
            obs = np.append(observed[keep], observed[rest].sum())
            exp = np.append(expected[keep], expected[rest].sum())
            small = exp < 5
            if small.any():
                obs = np.append(obs[~small], obs[small].sum())
                exp = np.append(exp[~small], exp[small].sum())
            result = stats.chisquare(obs, exp)
            verdict = "consistent with" if result.pvalue >= 0.01 else "REJECTS"
            lines.append(
                f"absorption states of {len(absorbed)} absorbed seeds vs p_i: chi-square "
                f"p = {result.pvalue:.3f} ({len(obs)} bins) — {verdict} theory at the 1% level"
            )
    return lines


def plot(
    metrics: pd.DataFrame, config: CollapseConfig, out_dir, run_path=None, variants=None
) -> list:
    """Write the collapse figures of a run; returns the PNG paths.

    ``variants`` (name → config) enables the collapse-vs-capacity figure when the
    variants declare a ``capacity``.
    """
    from pathlib import Path

    from genloop.collapse import figures as figs

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [
        figs.metric_curves(
            metrics, config, out_dir, theory=lambda m, g: theory_curve(config, m, g)
        ),
        figs.absorption_histogram(metrics, config, out_dir),
        figs.perplexity_histograms(metrics, config, out_dir),
    ]
    if run_path is not None:
        paths.append(figs.density_snapshots(Path(run_path), config, out_dir))
    if variants:
        paths.append(figs.capacity_figure(metrics, variants, out_dir))
        paths.append(figs.mitigations_figure(metrics, variants, out_dir))
    return [p for p in paths if p is not None]


def _run_seed(config, ctx):
    from genloop.collapse.fast.run import choose_engine
    from genloop.collapse.loop import run_seed

    used = run_seed(config, ctx)
    # Record why auto fell back to the sample loop (meta.json keeps the returned name).
    reason = choose_engine(config)[1] if config.engine == "auto" else ""
    if config.engine == "auto" and config.curation:
        reason = "curation runs on the sample loop"
    return f"{used} ({reason})" if reason else used


def _batch_engine(config):
    from genloop.collapse.fast.run import batch_engine

    # Filters look at samples, which the fast engines never draw.
    return None if config.curation else batch_engine(config)


def _run_batch(config, ctx):
    from genloop.collapse.fast.run import run_batch

    return run_batch(config, ctx)


def _ledger_plan(variants: dict, seeds: list[int]) -> dict[str, str]:
    """Per variant: ``"on"`` or ``"off: <why>"``.

    ``ledger: auto`` is on for the sample loop unless the whole run would write more than
    :data:`~genloop.provenance.ledger.LEDGER_FILE_LIMIT` generation files; the fast
    engines keep no samples.
    """
    from genloop.provenance import ledger

    plan, files = {}, 0
    for variant, config in variants.items():
        engine = _batch_engine(config)
        if engine:
            plan[variant] = f"off: the {engine} engine keeps no samples"
        elif config.ledger == "off":
            plan[variant] = "off: ledger: off"
        else:
            plan[variant] = "on"
            files += 3 * len(seeds) * (config.generations + 1)
    if files > ledger.LEDGER_FILE_LIMIT:
        for variant, config in variants.items():
            if plan.get(variant) == "on" and config.ledger == "auto":
                plan[variant] = (f"off: the run would write {files:,} ledger files "
                                 f"(> {ledger.LEDGER_FILE_LIMIT:,}); set ledger: on to force it")
    return plan


def run_checks(metrics: pd.DataFrame, variants: dict) -> list[str]:
    """:func:`theory_checks` of every variant, prefixed ``[variant]`` when there are several."""
    lines = []
    for variant, config in variants.items():
        part = metrics[metrics["variant"] == variant]
        if len(part):
            prefix = "" if variant == "default" else f"[{variant}] "
            lines += [prefix + line for line in theory_checks(part, config)]
    return lines


BENCH = Bench(
    name="collapse",
    config_model=CollapseConfig,
    run_seed=_run_seed,
    plot=plot,
    batch_engine=_batch_engine,
    run_batch=_run_batch,
    ledger_plan=_ledger_plan,
    theory=theory_curve,
    checks=run_checks,
    preferred_metrics=tuple(PREFERRED),
)
