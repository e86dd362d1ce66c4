"""The generational loop, sample by sample. Read it top to bottom.

For one seed::

    original, holdout  <- the source (real data, drawn once)
    pool_0             <- original
    for generation g = 0 .. G:
        model_g        <- fit(pool_g)                      fresh estimator every time
        metrics        <- measure(model_g vs the original reference)
        candidates     <- model_g.sample(...)              (not after the last generation)
        new            <- curate(candidates)               the recipe's filters, if any;
                                                           `refill` rounds top it up
        pool_{g+1}     <- mix(original, pool_g, new)       the mixing policy
        ledger         <- pool_{g+1} and what curation dropped (docs/curation.md)

Every random call draws from its own stream ``generator(seed, g, purpose)``, so a run
that resumes from a checkpoint after generation g continues bit-identically.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.base import clone

from genloop.collapse.config import CollapseConfig
from genloop.collapse.curate_step import Curate, Curation, identity_curation, refill_purpose
from genloop.collapse.forget import (
    ForgetSet,
    candidates_without,
    fresh_without,
    split_without,
)
from genloop.core.bench import SeedContext
from genloop.core.errors import GenloopError
from genloop.core.registry import build_family, build_metric, build_source
from genloop.core.rng import generator
from genloop.core.run_dir import atomic_write_with
from genloop.curation.filters.base import CurationContext
from genloop.metrics.base import MetricContext
from genloop.provenance.ledger import LedgerWriter
from genloop.provenance.pool import Pool

# the forget set of a recipe without `forget:`
NOTHING = ForgetSet()


def sample_candidates(model, n_new: int, seed: int, generation: int, original: Pool,
                      round_: int = 0, forget: ForgetSet = NOTHING) -> Pool:
    """``n_new`` rows from ``model``; LM continuations name their real prompt as parent.

    Refill round ``round_ >= 1`` draws from its own stream and numbers its rows after the
    earlier rounds' (``round_ * n_new + i``), so that sample ids stay unique. Rows the
    recipe forgets (``forget:``) are dropped here, before curation sees them.
    """
    X = model.sample(n_new, random_state=generator(seed, generation,
                                                   refill_purpose("sample", round_)))
    prompts = getattr(model, "sample_parents_", None)
    parents = None
    if prompts is not None and len(prompts) == len(X):
        prompts = np.asarray(prompts, dtype=np.int64)
        parents = np.where(prompts >= 0, original.ids[np.clip(prompts, 0, None)], "")
        parents = parents.astype(object)
    pool = Pool.generated(X, generation, parents=parents)
    if round_:
        pool.index = pool.index + round_ * n_new
    return candidates_without(pool, forget)


def draw_fresh(source, config: CollapseConfig, n_fresh: int, seed: int, generation: int,
               round_: int = 0, forget: ForgetSet = NOTHING) -> Pool:
    """Fresh real rows (a policy that ``draws_fresh``), numbered after every earlier real row.

    Round 0 of generation g takes indices ``n + g·n_fresh ...``; refill round r takes
    ``n + (r·G + g)·n_fresh ...`` (G = generations), after all of round 0's. A forgotten
    record among them is replaced in place (:func:`~genloop.collapse.forget.fresh_without`).
    """
    first = config.n + (round_ * config.generations + generation) * n_fresh
    purpose = refill_purpose("fresh", round_)
    fresh = Pool.real(source.draw(n_fresh, generator(seed, generation, purpose)),
                      first_index=first)
    return fresh_without(fresh, source, forget, seed, generation, purpose)


def open_ledger(config: CollapseConfig, ctx: SeedContext, source, names) -> LedgerWriter | None:
    """The unit's ledger writer when the runner asked for one (``ctx.extra``)."""
    directory = ctx.extra.get("ledger_dir")
    if directory is None:
        return None
    decode = source.decode if getattr(source, "kind", None) == "text" else None
    return LedgerWriter(directory, ctx.extra.get("variant", "default"), ctx.seed, names, decode)


def fit_model(template, pool: Pool, seed: int, generation: int):
    """Fit a fresh clone of ``template`` on the pool with this generation's fit stream."""
    model = clone(template)
    if "random_state" in model.get_params():
        # sklearn estimators take an int seed for their own initialisation (k-means).
        seed_int = int(generator(seed, generation, "fit").integers(2**31 - 1))
        model.set_params(random_state=seed_int)
    try:
        return model.fit(pool.X)
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise GenloopError(
            f"seed {seed}, generation {generation}: fitting {type(model).__name__} on "
            f"{len(pool)} rows failed: {str(exc).splitlines()[0]}"
        ) from None


def measure(metrics, context: MetricContext) -> dict[str, float]:
    """All metrics of one generation in one flat dict."""
    values: dict[str, float] = {"pool_size": float(len(context.pool)),
                                "synthetic_share": context.extra["synthetic_share"]}
    for metric in metrics:
        values.update({k: float(v) for k, v in metric.measure(context).items()})
    return values


def is_absorbed(model) -> bool:
    """True when a categorical model puts all its mass on one state."""
    probabilities = getattr(model, "probabilities_", None)
    return probabilities is not None and int(np.count_nonzero(probabilities)) <= 1


def save_snapshot(ctx: SeedContext, generation: int, model, pool: Pool) -> None:
    """Save the model's arrays and about 2,000 pool rows for density figures."""
    from safetensors.numpy import save_file

    arrays = {f"model.{k}": np.require(v, requirements="C") for k, v in model.to_arrays().items()}
    if pool.X.dtype != object:  # ragged text pools are not drawn as densities
        # A stride, not the first rows: an accumulated pool starts with the original data.
        arrays["pool"] = np.require(pool.X[:: max(1, len(pool) // 2000)], requirements="C")
    path = ctx.artifact_dir / f"snapshot_gen{generation:05d}.safetensors"
    # Atomic, like every file of a run: a killed run never leaves half a snapshot.
    atomic_write_with(path, lambda tmp: save_file(arrays, str(tmp)))


def run_seed(config: CollapseConfig, ctx: SeedContext, curate: Curate = identity_curation):
    """Run the collapse loop for one seed, logging metrics through ``ctx``.

    BLAS and OpenMP (k-means) run single-threaded here: the matrices are tiny (d ≤ a few
    dozen), so threads only add synchronisation (measured: a 1-D Gaussian log-density
    over 1,000 rows took 19 ms with two OpenBLAS threads on a busy 2-core machine,
    0.7 ms with one).

    Parameters
    ----------
    config : CollapseConfig
    ctx : SeedContext
        Logging, checkpoints and progress, provided by the runner.
    curate : callable, optional
        A Python curation hook ``curate(candidates, generation) -> kept Pool``, used when
        the recipe has no ``curation:`` filters (its dropped rows are not in the ledger).

    Returns
    -------
    str
        The engine path that ran (``"samples"``).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        _run_samples(config, ctx, curate)
    return "samples"


def _run_samples(config: CollapseConfig, ctx: SeedContext, curate: Curate) -> None:
    seed = ctx.seed
    # --- setup: the reference data, the template model, the metrics -------------------
    source = build_source(config.source)
    # without the records the recipe forgets (`forget:`), each replaced in its own slot
    forget = ForgetSet.from_ids(config.forget)
    original, holdout_X, _ = split_without(source, config.n, config.holdout, seed, forget)
    original_X = original.X
    template = build_family(config.family, source)
    metrics = [build_metric(spec) for spec in config.metrics]
    policy = config.mixing.resolve(config.n)
    n_new, n_fresh = policy.n_new, policy.n_original
    initial_model = fit_model(template, original, seed, 0)
    # Filters learn what they need once per seed (also after a resume: same stream).
    curation = Curation(config, curate)
    curation.prepare(CurationContext(original_X, holdout_X, source, initial_model,
                                     rng=generator(seed, -1, "curation")))
    ledger = open_ledger(config, ctx, source, curation.names)
    # refill rounds draw fresh real rows too when those pass through the filters
    refill_fresh = curation.fresh_through_filters(policy.draws_fresh)

    # --- resume: continue after the last finished generation, if any --------------------
    start, pool, curation_stats = 0, original, curation.zero_stats()
    saved = ctx.restore() if ctx.restore else None
    if saved is not None:
        last, arrays = saved
        start, pool = last + 1, Pool.from_arrays(arrays)
        curation_stats = {k: float(arrays[f"stat.{k}"][0]) if f"stat.{k}" in arrays else 0.0
                          for k in curation_stats}
        ctx.advance(start)
    elif ledger:
        ledger.write(0, pool)
    last_checkpoint = time.monotonic()

    # --- the loop -------------------------------------------------------------------------
    for generation in range(start, config.generations + 1):
        # 1. fit this generation's model on its pool (generation 0: the real data)
        model = initial_model if generation == 0 else fit_model(template, pool, seed, generation)
        if hasattr(model, "set_reference"):
            # Families that continue prompts (the Nature LM protocol) draw their prompts
            # from the original data in every generation, not from the current pool.
            model.set_reference(original_X)

        # 2. measure it against the original reference
        context = MetricContext(
            generation=generation, model=model, pool=pool.X, initial_model=initial_model,
            source=source, original=original_X, holdout=holdout_X,
            rng=generator(seed, generation, "metrics"),
            extra={"synthetic_share": pool.synthetic_share(), "origin": pool.origin,
                   "artifact_dir": ctx.artifact_dir},
        )
        # curation shares belong to the pool they made (zero for generation 0)
        ctx.log(generation, measure(metrics, context) | curation_stats)
        if generation in config.snapshots:
            save_snapshot(ctx, generation, model, pool)
        absorbed = config.stop_when_absorbed and is_absorbed(model)
        if generation == config.generations or absorbed:
            ctx.advance(config.generations + 1 - generation)
            break

        # 3. sample candidates from the model (and fresh real rows) and curate them;
        #    with `refill`, further rounds top up what the filters dropped
        def draw(round_: int, model=model, generation=generation):
            candidates = sample_candidates(model, n_new, seed, generation, original, round_,
                                           forget)
            fresh = None
            if policy.draws_fresh and (round_ == 0 or refill_fresh):
                fresh = draw_fresh(source, config, n_fresh, seed, generation, round_, forget)
            return candidates, fresh

        new, fresh, curated, curation_stats = curation.step(draw, generation, model, source,
                                                            seed)

        # 4. mix the next pool and write its ledger
        pool = policy.next_pool(previous=pool, original=original, new=new,
                                rng=generator(seed, generation, "mix"), fresh=fresh)
        if not len(pool):
            raise curation.empty_pool_error(generation, curation_stats)
        if ledger:
            ledger.write(generation + 1, pool, curated)

        # 5. checkpoint now and then, so an interrupted seed resumes where it was
        if ctx.checkpoint and time.monotonic() - last_checkpoint >= config.checkpoint_seconds:
            stats = {f"stat.{k}": np.array([v]) for k, v in curation_stats.items()}
            ctx.checkpoint(generation, pool.to_arrays() | stats)
            last_checkpoint = time.monotonic()
        ctx.advance(1)
