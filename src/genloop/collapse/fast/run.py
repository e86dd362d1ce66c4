"""Runs of the collapse loop on the fast paths: every seed of a variant in one batch.

``engine: auto`` picks, per variant, the fastest path that is exact for its family,
policy and metrics (:func:`choose_engine`):

* ``exact`` — categorical (any policy, any smoothing) and Gaussian (full covariance,
  ``reg_covar: 0``) families, simulated on sufficient statistics
  (:class:`~genloop.collapse.fast.ExactCategorical`,
  :func:`~genloop.collapse.fast.simulate_gaussian`);
* ``batched`` — Gaussian mixtures (full/diag/spherical, ``n_init: 1``), fitted by batched
  EM for all seeds at once;
* otherwise the sample-level loop (:mod:`genloop.collapse.loop`), also when a metric of the
  recipe cannot be computed exactly from parameters (``Metric.batch_unsupported``).

Each path is a :class:`~genloop.collapse.fast.simulator.Simulator` (one class per family,
found by :func:`~genloop.collapse.fast.simulator.simulator_for`), run by the one batch loop
:func:`genloop.collapse.fast.driver.drive`.

:func:`run_batch` keeps generation 0 identical to the sample-level loop: each seed's
original and held-out data come from the loop's own stream ``(seed, -1, "data")`` and
its generation-0 model is fitted from them as the loop does. Later generations draw one
stream per generation for the whole batch, so they are equal to the loop in
distribution, not bit-identical. A batch unit that is interrupted restarts from
generation 0 (it writes no mid-run checkpoints).
"""

from __future__ import annotations

import numpy as np

from genloop.collapse.config import CollapseConfig
from genloop.collapse.fast.simulator import Batch, simulator_for
from genloop.core.errors import ConfigError
from genloop.core.registry import build_family, build_metric, build_source
from genloop.core.rng import generator


def _family_path(config: CollapseConfig, template, source):
    """(the simulator or None, why not) for the family, source and policy alone."""
    simulator = simulator_for(template)
    if simulator is None:
        return None, f"family {config.family.name!r} has no fast path"
    if not getattr(source, "draws_from_truth", True):
        # Fast paths simulate draws from the source's truth; a poisoned source's rows differ.
        return None, f"source {config.source.name!r} draws rows that differ from its truth"
    why = simulator.unsupported(template, source)
    if why:
        return None, why
    policy = config.mixing.resolve(config.n)
    if policy.draws_fresh and simulator.truth(source) is None:
        return None, f"policy {policy.name!r} needs the truth of source {config.source.name!r}"
    return simulator, ""


def choose_engine(config: CollapseConfig) -> tuple[str | None, str]:
    """The fast path for ``config`` and, when there is none, why.

    Returns
    -------
    engine : {"exact", "batched"} or None
        None means the sample-level loop.
    reason : str
        Why no fast path applies (empty when one does).

    Raises
    ------
    ConfigError
        When ``engine: exact`` or ``engine: batched`` is requested but does not apply.
    """
    requested = config.engine
    if requested == "samples":
        return None, "engine: samples requested"
    if config.forget:
        return None, "forget: runs on the sample loop"
    source = build_source(config.source)
    template = build_family(config.family, source)
    simulator, reason = _family_path(config, template, source)
    path = simulator.engine if simulator is not None else None
    if simulator is not None:
        for spec in config.metrics:
            why = build_metric(spec).batch_unsupported(simulator.form, source)
            if why:
                path, reason = None, why
                break
    if requested != "auto":
        if path is None:
            raise ConfigError(f"engine: {requested} does not apply: {reason}")
        if path != requested:
            raise ConfigError(
                f"engine: {requested} does not apply to family {config.family.name!r}; "
                f"its fast path is engine: {path}"
            )
    return path, reason


def batch_engine(config: CollapseConfig) -> str | None:
    """``exact``/``batched`` when the variant runs as one batch unit, else None."""
    return choose_engine(config)[0]


def run_batch(config: CollapseConfig, ctx) -> str:
    """Run every seed of ``ctx.seeds`` on the fast path; returns the path that ran.

    Parameters
    ----------
    config : CollapseConfig
    ctx : genloop.core.bench.BatchContext
        ``log(generation, {metric: (S,) array})`` with NaN for seeds that stopped.
    """
    from threadpoolctl import threadpool_limits

    from genloop.collapse.fast.driver import BatchRun, drive

    engine, reason = choose_engine(config)
    if engine is None:
        raise ConfigError(f"no fast path for this variant: {reason}")
    seeds = np.asarray(ctx.seeds, dtype=np.int64)
    source = build_source(config.source)
    template = build_family(config.family, source)
    simulator = simulator_for(template)
    metrics = [build_metric(spec) for spec in config.metrics]
    # Each seed's reference data from the loop's own stream: generation 0 is the loop's.
    splits = [source.split(config.n, config.holdout, generator(int(s), -1, "data")) for s in seeds]
    original = np.stack([np.asarray(o).reshape(config.n, -1) for o, _ in splits])
    width = original.shape[2]
    holdout = np.stack([np.asarray(h).reshape(config.holdout, width) for _, h in splits])
    policy = config.mixing.resolve(config.n)
    truth = simulator.truth(source) if policy.draws_fresh else None
    batch = Batch(template, original, seeds, policy, config.generations, truth,
                  config.stop_when_absorbed)
    run = BatchRun(config, ctx, source, metrics, batch, holdout, simulator.form)
    with threadpool_limits(limits=1):
        drive(run, simulator(batch))
    return engine
