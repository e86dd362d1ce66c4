"""The three batch drivers behind :func:`genloop.collapse.fast.run.run_batch`.

Each follows the sample-level loop's order for all seeds at once: generation 0's models
(fitted on each seed's original data as the loop fits them), then for every generation
the next models from a fast simulator, the metrics of all seeds from parameters
(``Metric.measure_batch``), and the density snapshots of the first seed.
"""

from __future__ import annotations

import numpy as np

from genloop.collapse.fast.plan import batch_generator, batch_key
from genloop.collapse.fast.run import PoolShares, check_states, measure_batch
from genloop.core.errors import GenloopError
from genloop.core.run_dir import atomic_write_with
from genloop.metrics.base import BatchMetricContext

# Pool rows kept in a snapshot, as engine.loop.save_snapshot keeps them.
_SNAPSHOT_ROWS = 2000


class BatchRun:
    """What every driver shares: the batch's data, metrics, logging and snapshots."""

    def __init__(self, config, ctx, source, template, metrics, original, holdout, seeds):
        from genloop.collapse.fast.run import family_form, pool_plan

        self.config, self.ctx, self.source = config, ctx, source
        self.template, self.metrics = template, metrics
        self.original, self.holdout, self.seeds = original, holdout, seeds
        self.form = family_form(template)
        self.key = batch_key(seeds)
        self.shares = PoolShares(pool_plan(config), config.n, len(seeds), self.key)
        self.initial: dict = {}
        self._cache: dict = {}

    def log(self, generation: int, active=None, **models) -> None:
        """Measure and log one generation; ``models`` are BatchMetricContext fields."""
        if generation == 0:
            self.initial = {f"initial_{name}": value for name, value in models.items()}
        context = BatchMetricContext(
            generation=generation,
            form=self.form,
            source=self.source,
            original=self.original,
            holdout=self.holdout,
            rng=batch_generator(self.key, generation, "metrics"),
            cache=self._cache,
            **models,
            **self.initial,
        )
        values = measure_batch(self.metrics, context, self.shares)
        if active is not None and not active.all():
            values = {name: np.where(active, value, np.nan) for name, value in values.items()}
        self.ctx.log(generation, values)

    def snapshot(self, generation: int, model_arrays: dict, pool: np.ndarray) -> None:
        """Save the first seed's model in :func:`genloop.collapse.loop.save_snapshot`'s format."""
        if generation not in self.config.snapshots:
            return
        from safetensors.numpy import save_file

        arrays = {f"model.{k}": np.require(v, requirements="C") for k, v in model_arrays.items()}
        arrays["pool"] = np.require(pool[:: max(1, len(pool) // _SNAPSHOT_ROWS)], requirements="C")
        self.ctx.artifact_dir.mkdir(parents=True, exist_ok=True)
        path = self.ctx.artifact_dir / f"snapshot_gen{generation:05d}.safetensors"
        # Atomic, as engine.loop.save_snapshot: a killed run never leaves half a snapshot.
        atomic_write_with(path, lambda tmp: save_file(arrays, str(tmp)))


def run_categorical(run: BatchRun, plan, truth) -> None:
    """Exact categorical simulation on count vectors (:class:`ExactCategorical`)."""
    from genloop.collapse.fast import ExactCategorical

    config, template = run.config, run.template
    n_states = int(template.n_states)
    smoothing = float(template.smoothing)
    sim = ExactCategorical(
        check_states(run.original, n_states), plan, run.seeds, smoothing=smoothing, truth=truth
    )
    # The loop stops a seed once its model is a single state (never with smoothing).
    stop = config.stop_when_absorbed and smoothing == 0
    for generation in range(config.generations + 1):
        if generation:
            current = sim.step()
            run.shares.advance(generation)
        else:
            current = sim.snapshot()
        probabilities = current.probabilities()
        absorbed_at = current.absorbed_at
        active = ~((absorbed_at >= 0) & (absorbed_at < generation)) if stop else None
        run.log(generation, active, probabilities=probabilities)
        if generation in config.snapshots:
            dense = current.dense_counts()[0]
            pool = np.repeat(np.arange(n_states, dtype=np.int64), dense)[:, None]
            run.snapshot(generation, {"counts_": dense, "probabilities_": probabilities[0]}, pool)
        if stop and np.all(absorbed_at >= 0):
            run.ctx.advance(config.generations + 1 - generation)
            return
        run.ctx.advance(1)


def run_gaussian(run: BatchRun, plan, truth) -> None:
    """Exact Gaussian simulation on sufficient statistics (:func:`simulate_gaussian`)."""
    from genloop.collapse.fast import simulate_gaussian

    config, template = run.config, run.template
    original = run.original
    n0, d = original.shape[1], original.shape[2]
    # Generation 0 as Gaussian.fit computes it (mean, scatter / divisor).
    divisor = n0 if template.estimator == "mle" else n0 - 1
    if divisor < 1 or n0 <= d:
        raise GenloopError(f"gaussian: {n0} original rows cannot define a {d}-D covariance")
    mean0 = original.mean(axis=1)
    centred = original - mean0[:, None, :]
    covariance0 = np.swapaxes(centred, 1, 2) @ centred / divisor
    weights = np.ones((len(original), 1))
    generations = simulate_gaussian(
        original, plan, run.seeds, config.generations, estimator=template.estimator, truth=truth
    )
    for generation, current in enumerate(generations):
        if generation:
            means, covariances = current.means, current.covariances
            run.shares.advance(generation)
        else:
            means, covariances = mean0, covariance0
        run.log(generation, weights=weights, means=means[:, None], covariances=covariances[:, None])
        # The pool is not simulated as rows after generation 0 (statistics only).
        pool = original[0] if generation == 0 else np.zeros((0, d))
        run.snapshot(generation, {"mean_": means[0], "covariance_": covariances[0]}, pool)
        run.ctx.advance(1)


def full_covariances(covariances: np.ndarray, covariance_type: str, d: int) -> np.ndarray:
    """scikit-learn's covariance layout of (S, k) mixtures expanded to (S, k, d, d)."""
    if covariance_type == "full":
        return covariances
    variances = covariances
    if covariance_type == "spherical":
        variances = np.repeat(covariances[..., None], d, axis=-1)
    return variances[..., :, None] * np.eye(d)


def run_mixture(run: BatchRun, plan, truth) -> None:
    """Gaussian mixtures by batched EM; generation 0 fitted per seed as the loop does."""
    from genloop.collapse.fast import BatchedGaussianMixture, mix_batched, sample_mixtures
    from genloop.collapse.loop import fit_model
    from genloop.families.gaussian import text_to_array
    from genloop.provenance.pool import Pool

    config, template = run.config, run.template
    covariance_type = template.covariance_type
    original, seeds = run.original, run.seeds
    d = original.shape[2]
    first = [
        fit_model(template, Pool.real(original[i]), int(seed), 0) for i, seed in enumerate(seeds)
    ]
    weights = np.stack([m.weights_ for m in first])
    means = np.stack([m.means_ for m in first])
    covariances = np.stack([m.covariances_ for m in first])
    model = BatchedGaussianMixture(
        template.n_components,
        covariance_type=covariance_type,
        tol=template.tol,
        reg_covar=template.reg_covar,
        max_iter=template.max_iter,
        init_params=template.init_params,
    )
    pool, purpose = original, "batched-gmm"
    for generation in range(config.generations + 1):
        if generation:
            previous = generation - 1
            new, _ = sample_mixtures(
                batch_generator(run.key, previous, purpose + ":sample"),
                weights,
                means,
                covariances,
                covariance_type,
                plan.n_new,
            )
            mix_rng = batch_generator(run.key, previous, purpose + ":mix")
            fresh = None
            if plan.policy == "fresh":
                fresh, _ = sample_mixtures(
                    mix_rng,
                    *(np.broadcast_to(t, (len(seeds),) + np.shape(t)) for t in truth),
                    "full",
                    plan.n_original,
                )
            pool = mix_batched(mix_rng, plan, pool, original, new, fresh)
            model.fit(pool, random_state=batch_generator(run.key, generation, purpose + ":fit"))
            if np.any(model.failed_):
                seed = int(seeds[np.argmax(model.failed_)])
                raise GenloopError(
                    f"seed {seed}, generation {generation}: a mixture component's covariance "
                    f"became singular in batched EM; increase family.reg_covar "
                    f"(now {template.reg_covar})"
                )
            weights, means, covariances = model.weights_, model.means_, model.covariances_
            run.shares.advance(generation)
        run.log(
            generation,
            weights=weights,
            means=means,
            covariances=full_covariances(covariances, covariance_type, d),
        )
        if generation in config.snapshots:
            if generation == 0:
                arrays = first[0].to_arrays()
            else:
                arrays = {
                    "weights_": weights[0],
                    "means_": means[0],
                    "covariances_": covariances[0],
                    "precisions_cholesky_": model.precisions_cholesky_[0],
                    "converged_": np.asarray(int(model.converged_[0]), dtype=np.int64),
                    "n_iter_": np.asarray(model.n_iter_[0], dtype=np.int64),
                    "lower_bound_": np.asarray(model.lower_bound_[0], dtype=np.float64),
                    "covariance_type": text_to_array(covariance_type),
                }
            run.snapshot(generation, arrays, pool[0])
        run.ctx.advance(1)
