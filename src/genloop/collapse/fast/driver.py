"""The one loop that runs every fast path, all seeds of a variant at once.

:func:`drive` follows the sample-level loop's order (:mod:`genloop.collapse.loop`) for a
batch: generation 0's models (the simulator fits them on each seed's original data as the
loop does), then for every generation the next models (:meth:`Simulator.step`), the
metrics of all seeds from parameters (``Metric.measure_batch``), the pool-share metrics
(:class:`PoolShares`) and the first seed's density snapshots. Whatever is specific to a
family lives in its :class:`~genloop.collapse.fast.simulator.Simulator`.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from genloop.collapse.fast.simulator import Batch, Simulator
from genloop.collapse.fast.streams import batch_generator
from genloop.collapse.policy import MixingPolicy
from genloop.core.errors import ConfigError
from genloop.core.run_dir import atomic_write_with
from genloop.metrics.base import BatchMetricContext

# Pool rows kept in a snapshot, as collapse.loop.save_snapshot keeps them.
_SNAPSHOT_ROWS = 2000
# Parameter names BatchMetricContext has fields for; other names go to its `parameters`.
_CONTEXT_FIELDS = {f.name for f in fields(BatchMetricContext)}


class PoolShares:
    """Size and real-row count of every seed's pool, as the sample loop's Pool has them.

    The loop logs ``pool_size`` and ``synthetic_share`` (rows not from real data); the
    simulators do not keep rows, so this chain follows the policy's share law
    (:meth:`MixingPolicy.next_shares`) from its own ``"fast-share"`` stream.
    """

    def __init__(self, policy: MixingPolicy, n0: int, seeds: int, key: int):
        self.policy, self.key = policy, key
        self.size = np.full(seeds, n0, dtype=np.int64)
        self.real = self.size.copy()

    def advance(self, generation: int) -> None:
        """Move to ``generation``'s pool (made after ``generation - 1``'s model)."""
        rng = batch_generator(self.key, generation, "fast-share")
        self.size, self.real = self.policy.next_shares(self.size, self.real, rng)

    def values(self) -> dict[str, np.ndarray]:
        return {
            "pool_size": self.size.astype(float),
            "synthetic_share": (self.size - self.real) / self.size,
        }


class BatchRun:
    """One variant's batch unit: its reference data, metrics, logging and snapshots.

    Parameters
    ----------
    config : CollapseConfig
    ctx : genloop.core.bench.BatchContext
        ``log(generation, {metric: (S,) array})``, ``advance``, ``artifact_dir``.
    source : genloop.data.base.Source
    metrics : list of Metric
    batch : Batch
    holdout : ndarray of shape (S, H, d)
    form : str
        The simulator's :attr:`Simulator.form`.
    """

    def __init__(self, config, ctx, source, metrics, batch: Batch, holdout, form: str):
        self.config, self.ctx, self.source, self.metrics = config, ctx, source, metrics
        self.batch, self.holdout, self.form = batch, holdout, form
        self.key = batch.key
        self.shares = PoolShares(batch.policy, config.n, len(batch.seeds), self.key)
        self.initial: dict = {}
        self._cache: dict = {}

    def log(self, generation: int, parameters: dict, active=None) -> None:
        """Measure and log one generation from the models' parameter arrays."""
        if generation == 0:
            self.initial = {f"initial_{name}": value for name, value in parameters.items()}
        models = parameters | self.initial
        known = {name: value for name, value in models.items() if name in _CONTEXT_FIELDS}
        context = BatchMetricContext(
            generation=generation,
            form=self.form,
            source=self.source,
            original=self.batch.original,
            holdout=self.holdout,
            rng=batch_generator(self.key, generation, "metrics"),
            cache=self._cache,
            parameters={name: value for name, value in models.items() if name not in known},
            **known,
        )
        values = measure_batch(self.metrics, context, self.shares)
        if active is not None and not active.all():
            values = {name: np.where(active, value, np.nan) for name, value in values.items()}
        self.ctx.log(generation, values)

    def snapshot(self, generation: int, model_arrays: dict, pool: np.ndarray) -> None:
        """Save the first seed's model in :func:`genloop.collapse.loop.save_snapshot`'s format."""
        from safetensors.numpy import save_file

        arrays = {f"model.{k}": np.require(v, requirements="C") for k, v in model_arrays.items()}
        arrays["pool"] = np.require(pool[:: max(1, len(pool) // _SNAPSHOT_ROWS)], requirements="C")
        self.ctx.artifact_dir.mkdir(parents=True, exist_ok=True)
        path = self.ctx.artifact_dir / f"snapshot_gen{generation:05d}.safetensors"
        # Atomic, as collapse.loop.save_snapshot: a killed run never leaves half a snapshot.
        atomic_write_with(path, lambda tmp: save_file(arrays, str(tmp)))


def drive(run: BatchRun, simulator: Simulator) -> None:
    """Run ``simulator`` through the recipe's generations, logging every one.

    Parameters
    ----------
    run : BatchRun
    simulator : Simulator
        Built on ``run.batch``: it holds generation 0's models.
    """
    generations = run.config.generations
    for generation in range(generations + 1):
        try:
            if generation:
                simulator.step(generation)
                run.shares.advance(generation)
            run.log(generation, simulator.parameters(), simulator.active(generation))
        except np.linalg.LinAlgError as error:
            # A pool too small (or too degenerate) for the family: the sample loop says so
            # when its fit fails; the fast path says the same instead of a traceback.
            raise ConfigError(
                f"generation {generation}: the {simulator.engine} fast path cannot fit "
                f"{type(run.batch.template).__name__} to pools of "
                f"{run.batch.policy.budget or run.config.n} rows ({error}); raise "
                "mixing.budget or n") from None
        if generation in run.config.snapshots:
            run.snapshot(generation, *simulator.snapshot())
        if simulator.finished:
            # every later generation equals this one: the loop stops here too
            run.ctx.advance(generations + 1 - generation)
            return
        run.ctx.advance(1)


def measure_batch(metrics, context: BatchMetricContext, shares: PoolShares) -> dict:
    """Every metric of one generation for all seeds: ``{name: (S,) array}``."""
    values = shares.values()
    for metric in metrics:
        for name, value in metric.measure_batch(context).items():
            values[name] = np.asarray(value, dtype=float)
    return values
