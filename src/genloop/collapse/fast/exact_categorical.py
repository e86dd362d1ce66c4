"""Exact simulation of recursive categorical fitting from counts, all seeds at once.

A categorical model fitted by maximum likelihood is its pool's counts divided by the pool
size, and a pool is fully described by its counts (its points are exchangeable), so the
sample-level loop can be replaced by draws on count vectors with no approximation:

* ``n_new`` samples from the model: ``Multinomial(n_new, counts / pool_size)``;
* a uniform subset of ``k`` points of a pool or of the original data (without
  replacement): ``MultivariateHypergeometric(counts, k)``;
* ``accumulate`` adds the new counts to the pool; ``accumulate_subsample`` then takes a
  hypergeometric subset once the pool outgrows its budget.

Cost follows the live support, not the sample size: without smoothing and without
original re-draws a state whose count reaches zero never returns, so each seed's live
states are packed to the right of a ``(S, W)`` array whose width ``W`` shrinks as states
die, and one batched multinomial call per generation draws every seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genloop.collapse.fast.simulator import Batch, Simulator
from genloop.collapse.fast.streams import batch_generator, batch_key
from genloop.collapse.fast.threads import limited_threads
from genloop.collapse.policy import MixingPolicy
from genloop.core.errors import ConfigError, DataError

# Repack (shrink W) once the widest row uses at most this share of the columns.
_REPACK_SHARE = 0.8
# numpy's "count" hypergeometric method allocates one slot per item; above this many
# items the per-colour "marginals" method is cheaper.
_COUNT_METHOD_MAX_ITEMS = 2_000_000


@dataclass(frozen=True)
class CategoricalGeneration:
    """One generation of all seeds, in the packed layout.

    Attributes
    ----------
    generation : int
    states : ndarray of shape (S, W)
        State index held by each column (a column whose count is 0 is empty).
    counts : ndarray of shape (S, W)
        Pool counts per column.
    pool_size : ndarray of shape (S,)
    n_states : int
        K, the number of states of the categorical truth.
    smoothing : float
        Additive smoothing of the fitted model (0 = maximum likelihood).
    absorbed_at : ndarray of shape (S,)
        First generation at which the pool held a single state, -1 if not yet.
    """

    generation: int
    states: np.ndarray
    counts: np.ndarray
    pool_size: np.ndarray
    n_states: int
    smoothing: float
    absorbed_at: np.ndarray

    @property
    def support_size(self) -> np.ndarray:
        """Number of states present in each seed's pool, shape (S,)."""
        return np.count_nonzero(self.counts, axis=1)

    @property
    def absorbed_state(self) -> np.ndarray:
        """The single state of absorbed pools, -1 elsewhere, shape (S,)."""
        single = self.support_size == 1
        column = np.argmax(self.counts > 0, axis=1)
        state = self.states[np.arange(len(column)), column]
        return np.where(single, state, -1)

    def dense_counts(self) -> np.ndarray:
        """Pool counts as a dense ``(S, K)`` array."""
        dense = np.zeros((self.counts.shape[0], self.n_states), dtype=np.int64)
        # Each state has at most one column per row, so plain assignment is exact.
        dense[np.arange(self.counts.shape[0])[:, None], self.states] = self.counts
        return dense

    def probabilities(self) -> np.ndarray:
        """The fitted models' probabilities, shape (S, K) (rows sum to 1)."""
        counts = self.dense_counts().astype(float)
        total = self.pool_size[:, None] + self.n_states * self.smoothing
        return (counts + self.smoothing) / total


class ExactCategorical:
    """Recursive categorical fitting simulated exactly on count vectors.

    Parameters
    ----------
    original_counts : array-like of int, shape (S, K)
        Each seed's generation-0 original data as counts per state.
    plan : MixingPolicy
        The mixing policy resolved to counts per generation.
    seeds : array-like of int, shape (S,)
        The run seeds of the rows (they key the random streams, see
        :mod:`genloop.collapse.fast.streams`).
    smoothing : float, default=0.0
        Additive (Laplace) smoothing of the fitted probabilities. With smoothing, lost
        states can return, so the full ``K`` columns are kept.
    purpose : str, default="fast-categorical"
        Purpose string of the random streams.
    truth : array-like of shape (K,), optional
        Ground-truth probabilities; required when the policy draws fresh real points
        (``plan.draws_fresh``), which are drawn from them each generation.

    Examples
    --------
    >>> sim = ExactCategorical(counts, MixingPolicy.of("replace", 1000), range(100))
    >>> for gen in sim.run(500, stop_when_absorbed=True):
    ...     p = gen.probabilities()          # (100, K)
    """

    def __init__(
        self,
        original_counts,
        plan: MixingPolicy,
        seeds,
        smoothing: float = 0.0,
        purpose: str = "fast-categorical",
        truth=None,
    ):
        counts = np.asarray(original_counts)
        if counts.ndim != 2 or not np.issubdtype(counts.dtype, np.integer):
            raise DataError(
                f"original_counts must be a 2-D integer array (S, K), got "
                f"shape {counts.shape} dtype {counts.dtype}"
            )
        if np.any(counts < 0) or np.any(counts.sum(axis=1) == 0):
            raise DataError("original_counts must be non-negative with a positive total per row")
        if not isinstance(plan, MixingPolicy):
            raise ConfigError(f"plan must be a MixingPolicy, got {type(plan).__name__}")
        if smoothing < 0:
            raise ConfigError(f"smoothing must be non-negative, got {smoothing}")
        seeds = np.asarray(seeds)
        if seeds.shape != (counts.shape[0],):
            raise ConfigError(
                f"seeds must hold one seed per row: {counts.shape[0]}, got shape {seeds.shape}"
            )
        smallest = int(counts.sum(axis=1).min())
        self._truth = _check_truth(truth, counts.shape[1]) if plan.draws_fresh else None
        if not plan.draws_fresh and max(plan.n_original, plan.n_previous) > smallest:
            raise ConfigError(
                f"n_original={plan.n_original} / n_previous={plan.n_previous} "
                f"exceed the smallest original data size {smallest}"
            )
        self.plan = plan
        self.smoothing = float(smoothing)
        self.n_states = counts.shape[1]
        self._key = batch_key(seeds)
        self._purpose = purpose
        self.generation = 0
        counts = counts.astype(np.int64)
        # Lost states can only return through smoothing or original (or fresh) re-draws.
        self._can_shrink = self.smoothing == 0 and plan.n_original == 0
        if self.smoothing > 0 or self._truth is not None:
            states = np.broadcast_to(np.arange(self.n_states), counts.shape).copy()
            self._states, self._counts = states, counts
        else:
            self._states, self._counts = _pack_right(
                np.broadcast_to(np.arange(self.n_states), counts.shape), counts
            )
        # The original counts share the layout: every original state has a column.
        self._original = self._counts.copy() if plan.n_original and self._truth is None else None
        self._pool_size = self._counts.sum(axis=1)
        self._absorbed_at = np.where(np.count_nonzero(self._counts, axis=1) == 1, 0, -1)
        self._ensure_last_column_live()

    # -- public ----------------------------------------------------------------------
    def snapshot(self) -> CategoricalGeneration:
        """The current generation (arrays are never modified later; no copy is made)."""
        return CategoricalGeneration(
            self.generation,
            self._states,
            self._counts,
            self._pool_size,
            self.n_states,
            self.smoothing,
            self._absorbed_at,
        )

    def step(self) -> CategoricalGeneration:
        """Fit each seed's pool, draw the next pool, return the new generation."""
        with limited_threads(1):
            self._advance()
        return self.snapshot()

    def run(self, generations: int, stop_when_absorbed: bool = False):
        """Yield generation 0 (the original data) and then ``generations`` more.

        With ``stop_when_absorbed`` the run ends early once every seed's pool holds a
        single state for good (only possible without smoothing and original re-draws).
        """
        yield self.snapshot()
        for _ in range(int(generations)):
            if stop_when_absorbed and self.all_absorbed:
                return
            yield self.step()

    @property
    def all_absorbed(self) -> bool:
        """True once every pool is a permanent delta (nothing left to simulate)."""
        return self._can_shrink and bool(np.all(self._absorbed_at >= 0))

    # -- one generation -------------------------------------------------------------
    def _advance(self) -> None:
        plan = self.plan
        rng = batch_generator(self._key, self.generation + 1, self._purpose)
        counts, pool_size = self._counts, self._pool_size
        # Rows whose pool is a permanent delta keep it: skip their draws.
        frozen = self._can_shrink and plan.fixed_size
        rows = np.flatnonzero(self._absorbed_at < 0) if frozen else np.arange(len(counts))

        next_counts = counts.copy() if plan.accumulates else np.zeros_like(counts)
        if frozen:
            absorbed = self._absorbed_at >= 0
            next_counts[absorbed] = counts[absorbed] * plan.n // pool_size[absorbed, None]
        if plan.n_new and rows.size:
            probabilities = self._fitted(counts[rows], pool_size[rows])
            next_counts[rows] += rng.multinomial(plan.n_new, probabilities)
        if self._truth is not None:
            next_counts[rows] += rng.multinomial(plan.n_original, self._truth[self._states[rows]])
        elif plan.n_original:
            next_counts[rows] += _subsets(rng, self._original[rows], plan.n_original)
        if plan.n_previous:
            next_counts[rows] += _subsets(rng, counts[rows], plan.n_previous)
        if plan.budget:
            over = np.flatnonzero(next_counts.sum(axis=1) > plan.budget)
            next_counts[over] = _subsets(rng, next_counts[over], plan.budget)

        self._counts = next_counts
        self._pool_size = next_counts.sum(axis=1)
        self.generation += 1
        support = np.count_nonzero(next_counts, axis=1)
        self._absorbed_at = np.where(
            (self._absorbed_at < 0) & (support == 1), self.generation, self._absorbed_at
        )
        if self._can_shrink and support.max() <= _REPACK_SHARE * next_counts.shape[1]:
            self._states, self._counts = _pack_right(
                self._states, next_counts, width=int(support.max())
            )
        self._ensure_last_column_live()

    def _fitted(self, counts: np.ndarray, pool_size: np.ndarray) -> np.ndarray:
        if self.smoothing == 0:
            return counts / pool_size[:, None]
        total = pool_size[:, None] + self.n_states * self.smoothing
        return (counts + self.smoothing) / total

    def _ensure_last_column_live(self) -> None:
        """Move each row's most frequent state into its last column if that one is dead.

        numpy's multinomial gives whatever its sequential binomials leave over to the
        last category. With probabilities that sum to 1 only up to rounding, a dead last
        column could receive a stray count; a live one absorbs it harmlessly. The most
        frequent state is the one least likely to die next.
        """
        if self.smoothing > 0:
            return
        rows = np.flatnonzero(self._counts[:, -1] == 0)
        if rows.size == 0:
            return
        source = np.argmax(self._counts[rows], axis=1)
        # Copy before swapping: earlier snapshots may share these arrays.
        self._states, self._counts = self._states.copy(), self._counts.copy()
        if self._original is not None:
            self._original = self._original.copy()
        for array in (self._states, self._counts, self._original):
            if array is None:
                continue
            last = array[rows, -1].copy()
            array[rows, -1] = array[rows, source]
            array[rows, source] = last


class CategoricalPath(Simulator):
    """The categorical family's fast path: :class:`ExactCategorical` on count vectors.

    Any policy and any smoothing; the ground truth of ``fresh`` is the source's
    ``probabilities``. Generation 0 is each seed's original counts, as the sample loop's
    first fit; with ``stop_when_absorbed`` (and no smoothing) a seed stops once its pool
    is a single state, and the run once every seed's is.
    """

    family = "genloop.families.categorical:Categorical"
    engine = "exact"
    form = "categorical"

    @classmethod
    def unsupported(cls, template, source) -> str:
        if template.n_states is None:
            return "categorical family without n_states (the source does not give K)"
        return ""

    @classmethod
    def truth(cls, source):
        return getattr(source, "probabilities", None)

    def __init__(self, batch: Batch):
        self.n_states = int(batch.template.n_states)
        smoothing = float(batch.template.smoothing)
        self.sim = ExactCategorical(
            check_states(batch.original, self.n_states), batch.policy, batch.seeds,
            smoothing=smoothing, truth=batch.truth,
        )
        # The loop stops a seed once its model is a single state (never with smoothing).
        self.stop = batch.stop_when_absorbed and smoothing == 0
        self.current = self.sim.snapshot()

    def step(self, generation: int) -> None:
        self.current = self.sim.step()

    def parameters(self) -> dict[str, np.ndarray]:
        return {"probabilities": self.current.probabilities()}

    def active(self, generation: int) -> np.ndarray | None:
        if not self.stop:
            return None
        absorbed_at = self.current.absorbed_at
        return ~((absorbed_at >= 0) & (absorbed_at < generation))

    @property
    def finished(self) -> bool:
        return self.stop and bool(np.all(self.current.absorbed_at >= 0))

    def snapshot(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        dense = self.current.dense_counts()[0]
        pool = np.repeat(np.arange(self.n_states, dtype=np.int64), dense)[:, None]
        probabilities = self.current.probabilities()[0]
        return {"counts_": dense, "probabilities_": probabilities}, pool


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


def _check_truth(truth, n_states: int) -> np.ndarray:
    if truth is None:
        raise ConfigError(
            "drawing fresh real points needs the ground truth: pass truth=probabilities"
        )
    truth = np.asarray(truth, dtype=np.float64)
    if truth.shape != (n_states,) or np.any(truth < 0) or abs(truth.sum() - 1.0) > 1e-9:
        raise ConfigError(f"truth must be {n_states} non-negative probabilities summing to 1")
    return truth


def _pack_right(states: np.ndarray, counts: np.ndarray, width: int | None = None):
    """Move each row's non-zero columns to the right (order kept); keep ``width`` columns."""
    live = counts > 0
    if width is None:
        width = int(live.sum(axis=1).max())
    # A stable sort of the boolean mask puts dead columns first, live ones last.
    order = np.argsort(live, axis=1, kind="stable")[:, -width:]
    return (np.take_along_axis(states, order, axis=1), np.take_along_axis(counts, order, axis=1))


def _subsets(rng: np.random.Generator, counts: np.ndarray, size: int) -> np.ndarray:
    """Counts of a uniform subset of ``size`` items of each row's multiset, shape (S, W)."""
    out = np.empty_like(counts)
    for row, colours in enumerate(counts):
        method = "count" if colours.sum() <= _COUNT_METHOD_MAX_ITEMS else "marginals"
        out[row] = rng.multivariate_hypergeometric(colours, int(size), method=method)
    return out
