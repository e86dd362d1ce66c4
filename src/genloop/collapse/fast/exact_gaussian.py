"""Exact simulation of recursive Gaussian fitting from sufficient statistics.

The Gaussian family's fit (mean and covariance by maximum likelihood, or with the
unbiased ``1/(N-1)`` covariance) depends on a pool only through its count, mean and
scatter. The next pool's statistics are drawn directly:

* new model samples: mean ``N(mu, Sigma/m)``, scatter ``Wishart(m-1, Sigma)``;
* original points: a uniform subset of the seed's (kept) original data, summed exactly;
* points carried from the previous pool: a uniform subset, split exactly out of the
  pool's parts (:func:`genloop.collapse.fast.gaussian_stats.split_statistics`);
* parts are pooled with centred between-part terms.

A pool is held as *points* (original points, and synthetic sets small enough to be
cheaper as points) plus *blocks*: statistics of larger sets of i.i.d. model samples.
Pools that are never subset again (``replace``, ``keep_fraction``, ``mix`` without
``beta``, ``accumulate``) collapse to a single block, so a generation costs a handful of
``(S, d, d)`` array operations whatever ``n`` is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genloop.collapse.fast import ragged
from genloop.collapse.fast.gaussian_stats import (
    cholesky_factor,
    combine_stacked,
    draw_sample_statistics,
    helmert_table,
    points_statistics,
    split_statistics,
)
from genloop.collapse.fast.simulator import Batch, Simulator
from genloop.collapse.fast.streams import batch_generator, batch_key
from genloop.collapse.fast.threads import limited_threads
from genloop.collapse.policy import MixingPolicy
from genloop.core.errors import ConfigError, DataError, GenloopError

ESTIMATORS = ("mle", "unbiased")


@dataclass(frozen=True)
class GaussianGeneration:
    """The fitted models of one generation, for all seeds.

    Attributes
    ----------
    generation : int
    means : ndarray of shape (S, d)
    covariances : ndarray of shape (S, d, d)
    pool_size : ndarray of shape (S,)
    """

    generation: int
    means: np.ndarray
    covariances: np.ndarray
    pool_size: np.ndarray


@dataclass
class _Blocks:
    """Statistics of sets of i.i.d. model samples: (S, B), (S, B, d), (S, B, d, d)."""

    count: np.ndarray
    mean: np.ndarray
    scatter: np.ndarray

    @classmethod
    def empty(cls, seeds: int, d: int) -> _Blocks:
        return cls(
            np.zeros((seeds, 0), np.int64), np.zeros((seeds, 0, d)), np.zeros((seeds, 0, d, d))
        )

    def append(self, count, mean, scatter) -> _Blocks:
        return _Blocks(
            np.concatenate([self.count, count[:, None]], axis=1),
            np.concatenate([self.mean, mean[:, None]], axis=1),
            np.concatenate([self.scatter, scatter[:, None]], axis=1),
        )

    def drop_empty_columns(self) -> _Blocks:
        used = self.count.any(axis=0)
        return _Blocks(self.count[:, used], self.mean[:, used], self.scatter[:, used])


class ExactGaussian:
    """Recursive Gaussian fitting simulated exactly on sufficient statistics.

    Parameters
    ----------
    original : array-like of shape (S, n0, d) or (S, n0)
        Each seed's generation-0 original data (2-D means one dimension).
    plan : MixingPolicy
        The mixing policy as counts per generation.
    seeds : array-like of int, shape (S,)
        Run seeds of the rows (they key the random streams).
    estimator : {"mle", "unbiased"}, default="mle"
        Covariance estimator of the fitted model: scatter / N or scatter / (N - 1).
    purpose : str, default="fast-gaussian"
        Purpose string of the random streams.
    max_points : int, optional
        Synthetic sets of at most this many points are kept as points rather than as
        statistics (default ``max(2 d + 2, 16)``; must exceed ``d``).
    truth : tuple of (ndarray (d,), ndarray (d, d)), optional
        Mean and covariance of the ground truth; required when the policy draws fresh
        real points (``plan.draws_fresh``), which are drawn from it each generation.

    Examples
    --------
    >>> sim = ExactGaussian(original, MixingPolicy.of("replace", 100), range(1000))
    >>> for gen in sim.run(100):
    ...     log_var = np.log(gen.covariances[:, 0, 0])      # (1000,)
    """

    def __init__(
        self,
        original,
        plan: MixingPolicy,
        seeds,
        estimator: str = "mle",
        purpose: str = "fast-gaussian",
        max_points: int | None = None,
        truth=None,
    ):
        data = np.asarray(original, dtype=np.float64)
        if data.ndim == 2:
            data = data[..., None]
        if data.ndim != 3 or data.shape[1] < 1:
            raise DataError(
                f"original must have shape (S, n0, d) or (S, n0), got {np.shape(original)}"
            )
        if not np.all(np.isfinite(data)):
            raise DataError("original data contains NaN or infinite values")
        if not isinstance(plan, MixingPolicy):
            raise ConfigError(f"plan must be a MixingPolicy, got {type(plan).__name__}")
        if estimator not in ESTIMATORS:
            raise ConfigError(
                f"estimator must be one of {', '.join(ESTIMATORS)}, got {estimator!r}"
            )
        seeds_array = np.asarray(seeds)
        if seeds_array.shape != (data.shape[0],):
            raise ConfigError(
                f"seeds must hold one seed per row: {data.shape[0]}, got shape {seeds_array.shape}"
            )
        self.n_seeds, n0, self.dim = data.shape
        if plan.draws_fresh:
            self._truth = _check_truth(truth, self.dim)
        elif max(plan.n_original, plan.n_previous) > n0:
            raise ConfigError(
                f"n_original={plan.n_original} / n_previous={plan.n_previous} "
                f"exceed the original data size {n0}"
            )
        smallest_pool = min(n0, plan.n if plan.fixed_size else n0)
        if estimator == "unbiased" and smallest_pool < 2:
            raise ConfigError("the unbiased estimator needs pools of at least 2 points")
        self.max_points = max(2 * self.dim + 2, 16) if max_points is None else int(max_points)
        if self.max_points <= self.dim:
            raise ConfigError(f"max_points must exceed d={self.dim}, got {self.max_points}")
        self.plan, self.estimator = plan, estimator
        self._original = data
        self._key = batch_key(seeds_array)
        self._purpose = purpose
        self._helmert = helmert_table(self.max_points)
        # Subsets of a pool are needed later only under these policies.
        self._keeps_parts = plan.n_previous > 0 or plan.budget is not None
        self.generation = 0
        self._points, self._point_count = data, np.full(self.n_seeds, n0, dtype=np.int64)
        self._blocks = _Blocks.empty(self.n_seeds, self.dim)
        if not self._keeps_parts:
            self._collapse()
        self._fit()

    # -- public ----------------------------------------------------------------------
    def snapshot(self) -> GaussianGeneration:
        """The current generation's fitted models."""
        return GaussianGeneration(self.generation, self._mean, self._covariance, self._pool_size)

    def step(self) -> GaussianGeneration:
        """Draw the next pool of every seed from the current models and refit."""
        with limited_threads(1):
            self._advance()
            self._fit()
        return self.snapshot()

    def run(self, generations: int):
        """Yield generation 0 (fitted on the original data) and ``generations`` more."""
        yield self.snapshot()
        for _ in range(int(generations)):
            yield self.step()

    # -- one generation -------------------------------------------------------------
    def _advance(self) -> None:
        plan = self.plan
        rng = batch_generator(self._key, self.generation + 1, self._purpose)
        seeds, d = self.n_seeds, self.dim
        points_parts, blocks = [], _Blocks.empty(seeds, d)
        if plan.accumulates:
            points_parts.append((self._points, self._point_count))
            blocks = self._blocks
        if plan.n_previous:
            keep = np.full(seeds, plan.n_previous, dtype=np.int64)
            carried, blocks = self._subset_pool(
                rng, self._points, self._point_count, self._blocks, keep
            )
            points_parts.append(carried)
        if plan.draws_fresh:
            mean, factor = (np.broadcast_to(t, (seeds,) + t.shape) for t in self._truth)
            fresh, blocks = self._draw(rng, plan.n_original, mean, factor, blocks)
            points_parts.append(fresh)
        elif plan.n_original:
            keep = np.full(seeds, plan.n_original, dtype=np.int64)
            full = np.full(seeds, self._original.shape[1], dtype=np.int64)
            points_parts.append(ragged.subset(rng, self._original, full, keep))
        if plan.n_new:
            new_points, blocks = self._draw(rng, plan.n_new, self._mean, self._factor, blocks)
            points_parts.append(new_points)
        points, point_count = _concat_or_empty(points_parts, seeds, d)
        if plan.budget:
            size = point_count + blocks.count.sum(axis=1)
            if np.any(size > plan.budget):
                keep = np.minimum(size, plan.budget)
                (points, point_count), blocks = self._subset_pool(
                    rng, points, point_count, blocks, keep
                )
        self._points, self._point_count, self._blocks = points, point_count, blocks
        self.generation += 1
        if not self._keeps_parts:
            self._collapse()

    def _draw(self, rng, m: int, mean, factor, blocks: _Blocks):
        """``m`` draws from ``N(mean, factor factor^T)`` per seed: statistics, or points if few.

        Returns the new points (a ragged set, empty when drawn as statistics) and the
        blocks with the new statistics appended.
        """
        if m > self.max_points:
            count = np.full(self.n_seeds, m, dtype=np.int64)
            sample_mean, scatter = draw_sample_statistics(rng, mean, factor, count)
            return ragged.empty(self.n_seeds, self.dim), blocks.append(count, sample_mean, scatter)
        z = rng.standard_normal((self.n_seeds, m, self.dim))
        points = mean[:, None, :] + z @ np.swapaxes(factor, -1, -2)
        return (points, np.full(self.n_seeds, m, dtype=np.int64)), blocks

    def _subset_pool(self, rng, points, point_count, blocks: _Blocks, keep):
        """A uniform subset of ``keep[s]`` points of each seed's pool (points + blocks)."""
        # How many points each part gives: sequential hypergeometric draws over the parts.
        remaining_total = point_count + blocks.count.sum(axis=1)
        remaining_keep = keep.astype(np.int64).copy()
        part_keep = []
        for part in [point_count] + [blocks.count[:, b] for b in range(blocks.count.shape[1])]:
            others = remaining_total - part
            taken = rng.hypergeometric(part, others, remaining_keep)
            part_keep.append(taken)
            remaining_total, remaining_keep = others, remaining_keep - taken
        kept_points = ragged.subset(rng, points, point_count, part_keep[0])
        if not part_keep[1:]:
            return kept_points, blocks
        block_keep = np.stack(part_keep[1:], axis=1)
        count, mean, scatter = blocks.count, blocks.mean.copy(), blocks.scatter.copy()
        new_count = np.where(block_keep == count, count, 0)
        split = np.nonzero((block_keep > 0) & (block_keep < count))
        parts = [kept_points]
        if split[0].size:
            sub_mean, sub_scatter, sub_points = split_statistics(
                rng,
                count[split],
                mean[split],
                scatter[split],
                block_keep[split],
                self.max_points,
                self._helmert,
            )
            large = block_keep[split] > self.max_points
            rows = tuple(index[large] for index in split)
            new_count[rows] = block_keep[rows]
            mean[rows], scatter[rows] = sub_mean[large], sub_scatter[large]
            small_keep = block_keep[split][~large]
            if small_keep.size:
                valid = np.arange(self.max_points)[None, :] < small_keep[:, None]
                seed_ids = np.broadcast_to(split[0][~large][:, None], valid.shape)[valid]
                parts.append(ragged.from_rows(seed_ids, sub_points[~large][valid], self.n_seeds))
        new_blocks = _Blocks(new_count, mean, scatter).drop_empty_columns()
        return _concat_or_empty(parts, self.n_seeds, self.dim), new_blocks

    def _collapse(self) -> None:
        """Replace the pool by one block holding its statistics (no subset follows)."""
        count, mean, scatter = self._pool_statistics()
        self._blocks = _Blocks(count.astype(np.int64)[:, None], mean[:, None], scatter[:, None])
        self._points, self._point_count = ragged.empty(self.n_seeds, self.dim)

    def _pool_statistics(self):
        blocks = self._blocks
        if self._points.shape[1] == 0:
            if blocks.count.shape[1] == 1:
                return blocks.count[:, 0], blocks.mean[:, 0], blocks.scatter[:, 0]
            return combine_stacked(blocks.count, blocks.mean, blocks.scatter)
        p_count, p_mean, p_scatter = points_statistics(self._points, self._point_count)
        return combine_stacked(
            np.concatenate([p_count[:, None], blocks.count], axis=1),
            np.concatenate([p_mean[:, None], blocks.mean], axis=1),
            np.concatenate([p_scatter[:, None], blocks.scatter], axis=1),
        )

    def _fit(self) -> None:
        count, mean, scatter = self._pool_statistics()
        count = np.asarray(count, dtype=np.float64)
        divisor = count if self.estimator == "mle" else count - 1.0
        self._pool_size = count.astype(np.int64)
        self._mean = mean
        self._covariance = scatter / divisor[:, None, None]
        self._factor = cholesky_factor(self._covariance)


def simulate_gaussian(
    original, plan: MixingPolicy, seeds, generations: int, estimator: str = "mle", truth=None
):
    """Yield every generation's fitted models, choosing the fastest exact simulator.

    ``replace`` uses the whole-run recursion of
    :func:`~genloop.collapse.fast.gaussian_trajectory.replace_trajectory`; every other
    policy steps an :class:`ExactGaussian`. Parameters as :class:`ExactGaussian`, plus
    ``generations`` (after generation 0).

    Yields
    ------
    GaussianGeneration
        Generations ``0 .. generations``.
    """
    if not plan.replaces:
        yield from ExactGaussian(original, plan, seeds, estimator, truth=truth).run(generations)
        return
    from genloop.collapse.fast.gaussian_trajectory import replace_trajectory

    trajectory = replace_trajectory(original, plan.n, generations, seeds, estimator)
    n0 = np.shape(original)[1]
    covariances = trajectory.covariances
    for generation in range(generations + 1):
        size = np.full(len(trajectory.means[0]), n0 if generation == 0 else plan.n)
        yield GaussianGeneration(
            generation, trajectory.means[generation], covariances[generation], size
        )


def _check_truth(truth, d: int):
    """(mean (d,), lower factor (d, d)) of the ground truth, validated."""
    if truth is None:
        raise ConfigError(
            "drawing fresh real points needs the ground truth: pass truth=(mean, covariance)"
        )
    mean = np.asarray(truth[0], dtype=np.float64).reshape(-1)
    covariance = np.asarray(truth[1], dtype=np.float64).reshape(d, d) if mean.size == d else None
    if covariance is None:
        raise ConfigError(f"truth mean must have {d} entries, got {mean.size}")
    try:
        return mean, np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError:
        raise ConfigError("truth covariance must be symmetric positive definite") from None


def _concat_or_empty(parts, seeds: int, d: int):
    parts = [part for part in parts if part[0].shape[1] > 0]
    return ragged.concat(parts) if parts else ragged.empty(seeds, d)


class GaussianPath(Simulator):
    """The Gaussian family's fast path: :func:`simulate_gaussian` on sufficient statistics.

    Exact for full covariances without regularisation (``reg_covar: 0``), with either
    estimator. Generation 0 is fitted from each seed's original rows as ``Gaussian.fit``
    fits it; later pools exist only as statistics, so snapshots after generation 0 hold
    the model and no pool rows.
    """

    family = "genloop.families.gaussian:Gaussian"
    engine = "exact"
    form = "gaussian"

    @classmethod
    def unsupported(cls, template, source) -> str:
        if template.covariance_type != "full":
            return f"gaussian covariance_type={template.covariance_type!r} (exact: full)"
        if template.reg_covar != 0:
            return f"gaussian reg_covar={template.reg_covar} (exact: 0)"
        return ""

    @classmethod
    def truth(cls, source):
        if source.mean is None or source.covariance is None:
            return None
        return source.mean, source.covariance

    def __init__(self, batch: Batch):
        original = batch.original
        n0, d = original.shape[1], original.shape[2]
        # Generation 0 as Gaussian.fit computes it (mean, scatter / divisor).
        divisor = n0 if batch.template.estimator == "mle" else n0 - 1
        if divisor < 1 or n0 <= d:
            raise GenloopError(f"gaussian: {n0} original rows cannot define a {d}-D covariance")
        self.means = original.mean(axis=1)
        centred = original - self.means[:, None, :]
        self.covariances = np.swapaxes(centred, 1, 2) @ centred / divisor
        self.pool = original[0]
        self._weights = np.ones((len(original), 1))
        self._generations = simulate_gaussian(
            original, batch.policy, batch.seeds, batch.generations,
            estimator=batch.template.estimator, truth=batch.truth,
        )
        next(self._generations)  # generation 0 of the simulator: the same fit, kept above

    def step(self, generation: int) -> None:
        current = next(self._generations)
        self.means, self.covariances = current.means, current.covariances
        # The pool is not simulated as rows after generation 0 (statistics only).
        self.pool = np.zeros((0, self.means.shape[1]))

    def parameters(self) -> dict[str, np.ndarray]:
        return {
            "weights": self._weights,
            "means": self.means[:, None],
            "covariances": self.covariances[:, None],
        }

    def snapshot(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        return {"mean_": self.means[0], "covariance_": self.covariances[0]}, self.pool
