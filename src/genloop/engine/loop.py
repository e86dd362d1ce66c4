"""The generational loop, sample by sample. Read it top to bottom.

For one seed::

    original, holdout  <- the source (real data, drawn once)
    pool_0             <- original
    for generation g = 0 .. G:
        model_g        <- fit(pool_g)                      fresh estimator every time
        metrics        <- measure(model_g vs the original reference)
        candidates     <- model_g.sample(...)              (not after the last generation)
        new            <- curate(candidates)               identity unless filters are set
        pool_{g+1}     <- mix(original, pool_g, new)       the mixing policy

Every random call draws from its own stream ``generator(seed, g, purpose)``, so a run
that resumes from a checkpoint after generation g continues bit-identically.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from sklearn.base import clone

from genloop.benches.base import SeedContext
from genloop.engine.mixing import Pool, counts, next_pool
from genloop.engine.rng import generator
from genloop.engine.spec import CollapseConfig, build_family, build_metric, build_source
from genloop.errors import GenloopError
from genloop.metrics.base import MetricContext
from genloop.store.run_dir import atomic_write_with

# Curation hook: takes the candidate pool and the generation, returns the kept rows.
Curate = Callable[[Pool, int], Pool]


def identity_curation(candidates: Pool, generation: int) -> Pool:
    """Keep every candidate (the default until filters are configured)."""
    return candidates


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
        The curation hook applied to each generation's candidates.

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
    original_X, holdout_X = source.split(config.n, config.holdout, generator(seed, -1, "data"))
    original = Pool.real(original_X)
    template = build_family(config.family, source)
    metrics = [build_metric(spec) for spec in config.metrics]
    n_new = counts(config.mixing, config.n)[0]
    initial_model = fit_model(template, original, seed, 0)

    # --- resume: continue after the last finished generation, if any --------------------
    start, pool = 0, original
    saved = ctx.restore() if ctx.restore else None
    if saved is not None:
        last, arrays = saved
        start, pool = last + 1, Pool.from_arrays(arrays)
        ctx.advance(start)
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
        ctx.log(generation, measure(metrics, context))
        if generation in config.snapshots:
            save_snapshot(ctx, generation, model, pool)
        absorbed = config.stop_when_absorbed and is_absorbed(model)
        if generation == config.generations or absorbed:
            ctx.advance(config.generations + 1 - generation)
            break

        # 3. sample candidates from the model and curate them
        candidates = Pool.generated(
            model.sample(n_new, random_state=generator(seed, generation, "sample")), generation
        )
        new = curate(candidates, generation)

        # 4. mix the next pool
        fresh = None
        if config.mixing.policy == "fresh":
            n_fresh = counts(config.mixing, config.n)[2]
            fresh = Pool.real(source.draw(n_fresh, generator(seed, generation, "fresh")))
        pool = next_pool(
            config.mixing, n=config.n, previous=pool, original=original, new=new,
            rng=generator(seed, generation, "mix"), fresh=fresh,
        )

        # 5. checkpoint now and then, so an interrupted seed resumes where it was
        if ctx.checkpoint and time.monotonic() - last_checkpoint >= config.checkpoint_seconds:
            ctx.checkpoint(generation, pool.to_arrays())
            last_checkpoint = time.monotonic()
        ctx.advance(1)
