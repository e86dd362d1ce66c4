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
from genloop.collapse.fast.plan import PoolPlan, batch_generator
from genloop.collapse.policy import counts
from genloop.core.errors import ConfigError, DataError
from genloop.core.registry import build_family, build_metric, build_source
from genloop.core.rng import generator
from genloop.metrics.base import BatchMetricContext

BATCHED_COVARIANCE_TYPES = ("full", "diag", "spherical")


# ---------------------------------------------------------------------------
# Which path applies
# ---------------------------------------------------------------------------


def family_form(template) -> str | None:
    """``categorical``, ``gaussian`` or ``mixture`` for the families with a fast path."""
    from genloop.families.categorical import Categorical
    from genloop.families.gaussian import Gaussian
    from genloop.families.gmm import GaussianMixture

    for cls, form in (
        (Categorical, "categorical"),
        (Gaussian, "gaussian"),
        (GaussianMixture, "mixture"),
    ):
        if type(template) is cls:
            return form
    return None


def _family_path(config: CollapseConfig, template, source) -> tuple[str | None, str]:
    """(``exact``/``batched`` or None, why not) for the family and policy alone."""
    name = config.family.name
    form = family_form(template)
    if form is None:
        return None, f"family {name!r} has no fast path"
    if not getattr(source, "draws_from_truth", True):
        # Fast paths simulate draws from the source's truth; a poisoned source's rows differ.
        return None, f"source {config.source.name!r} draws rows that differ from its truth"
    if form == "categorical" and template.n_states is None:
        return None, "categorical family without n_states (the source does not give K)"
    if form == "gaussian" and template.covariance_type != "full":
        return None, f"gaussian covariance_type={template.covariance_type!r} (exact: full)"
    if form == "gaussian" and template.reg_covar != 0:
        return None, f"gaussian reg_covar={template.reg_covar} (exact: 0)"
    if form == "mixture" and template.covariance_type not in BATCHED_COVARIANCE_TYPES:
        return None, (
            f"gmm covariance_type={template.covariance_type!r} (batched: full, diag, spherical)"
        )
    if form == "mixture" and template.n_init != 1:
        return None, f"gmm n_init={template.n_init} (batched: 1)"
    if config.mixing.policy == "fresh" and _truth(form, source) is None:
        return None, f"policy 'fresh' needs the truth of source {config.source.name!r}"
    return ("batched" if form == "mixture" else "exact"), ""


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
    source = build_source(config.source)
    template = build_family(config.family, source)
    path, reason = _family_path(config, template, source)
    if path is not None:
        form = family_form(template)
        for spec in config.metrics:
            why = build_metric(spec).batch_unsupported(form, source)
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


def _truth(form: str, source):
    if form == "categorical":
        return source.probabilities
    if form == "gaussian":
        if source.mean is None or source.covariance is None:
            return None
        return source.mean, source.covariance
    if source.mixture is not None:
        return source.mixture
    if source.mean is not None and source.covariance is not None:
        d = len(np.atleast_1d(source.mean))
        return np.ones(1), np.reshape(source.mean, (1, d)), np.reshape(source.covariance, (1, d, d))
    return None


def pool_plan(config: CollapseConfig) -> PoolPlan:
    """The recipe's mixing policy as counts per generation."""
    n_new, n_previous, n_original = counts(config.mixing, config.n)
    policy = config.mixing.policy
    budget = (config.mixing.budget or config.n) if policy == "accumulate_subsample" else None
    return PoolPlan(
        policy, config.n, n_original=n_original, n_previous=n_previous, n_new=n_new, budget=budget
    )


# ---------------------------------------------------------------------------
# Pool size and synthetic share
# ---------------------------------------------------------------------------


class PoolShares:
    """Size and real-row count of every seed's pool, as :class:`~genloop.collapse.policy.Pool`.

    The loop logs ``pool_size`` and ``synthetic_share`` (rows not from real data). Both are
    fixed by the plan except where a uniform subset of a mixed pool is kept (``mix`` with
    ``beta > 0``, ``accumulate_subsample`` over budget): the number of real rows kept is
    then hypergeometric, drawn here with the loop's law (rows are chosen independently of
    their values, so this chain has exactly the loop's distribution per seed).
    """

    def __init__(self, plan: PoolPlan, n0: int, seeds: int, key: int):
        self.plan, self.key = plan, key
        self.size = np.full(seeds, n0, dtype=np.int64)
        self.real = self.size.copy()

    def advance(self, generation: int) -> None:
        """Move to ``generation``'s pool (made after ``generation - 1``'s model)."""
        plan, rng = self.plan, batch_generator(self.key, generation, "fast-share")
        if plan.policy == "accumulate":
            self.size = self.size + plan.n_new
        elif plan.policy == "accumulate_subsample":
            size = self.size + plan.n_new
            over = size > plan.budget
            kept = rng.hypergeometric(self.real, size - self.real, np.minimum(size, plan.budget))
            self.real = np.where(over, kept, self.real)
            self.size = np.minimum(size, plan.budget)
        else:
            carried = 0
            if plan.n_previous:
                carried = rng.hypergeometric(self.real, self.size - self.real, plan.n_previous)
            self.real = plan.n_original + carried * np.ones_like(self.size)
            self.size = np.full_like(self.size, plan.n)

    def values(self) -> dict[str, np.ndarray]:
        return {
            "pool_size": self.size.astype(float),
            "synthetic_share": (self.size - self.real) / self.size,
        }


# ---------------------------------------------------------------------------
# The batch run
# ---------------------------------------------------------------------------


def run_batch(config: CollapseConfig, ctx) -> str:
    """Run every seed of ``ctx.seeds`` on the fast path; returns the path that ran.

    Parameters
    ----------
    config : CollapseConfig
    ctx : genloop.core.bench.BatchContext
        ``log(generation, {metric: (S,) array})`` with NaN for seeds that stopped.
    """
    from threadpoolctl import threadpool_limits

    from genloop.collapse.fast import drivers as fast_drivers

    engine, reason = choose_engine(config)
    if engine is None:
        raise ConfigError(f"no fast path for this variant: {reason}")
    seeds = np.asarray(ctx.seeds, dtype=np.int64)
    source = build_source(config.source)
    template = build_family(config.family, source)
    form = family_form(template)
    metrics = [build_metric(spec) for spec in config.metrics]
    # Each seed's reference data from the loop's own stream: generation 0 is the loop's.
    splits = [source.split(config.n, config.holdout, generator(int(s), -1, "data")) for s in seeds]
    original = np.stack([np.asarray(o).reshape(config.n, -1) for o, _ in splits])
    width = original.shape[2]
    holdout = np.stack([np.asarray(h).reshape(config.holdout, width) for _, h in splits])
    run = fast_drivers.BatchRun(config, ctx, source, template, metrics, original, holdout, seeds)
    plan = pool_plan(config)
    truth = _truth(form, source) if plan.policy == "fresh" else None
    with threadpool_limits(limits=1):
        if form == "categorical":
            fast_drivers.run_categorical(run, plan, truth)
        elif form == "gaussian":
            fast_drivers.run_gaussian(run, plan, truth)
        else:
            fast_drivers.run_mixture(run, plan, truth)
    return engine


def measure_batch(metrics, context: BatchMetricContext, shares: PoolShares) -> dict:
    """Every metric of one generation for all seeds: ``{name: (S,) array}``."""
    values = shares.values()
    for metric in metrics:
        for name, value in metric.measure_batch(context).items():
            values[name] = np.asarray(value, dtype=float)
    return values


def check_states(original: np.ndarray, n_states: int) -> np.ndarray:
    """Each seed's original states as counts (S, K); states must lie in 0..K-1."""
    states = original.reshape(len(original), -1)
    if states.size and (
        states.min() < 0 or states.max() >= n_states or np.any(states != np.floor(states))
    ):
        raise DataError(f"original data hold states outside 0..{n_states - 1}")
    states = states.astype(np.int64)
    dense = np.zeros((len(states), n_states), dtype=np.int64)
    np.add.at(dense, (np.arange(len(states))[:, None], states), 1)
    return dense
