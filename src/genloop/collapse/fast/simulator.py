"""The contract of a fast path: a :class:`Simulator` steps every seed of a variant at once.

A fast path replaces the sample-level loop for a family whose refits can be simulated
on parameters or sufficient statistics, for a whole batch of seeds per array operation.
It is one class: :func:`genloop.collapse.fast.driver.drive` is the one loop that runs
every simulator, in the sample-level loop's order::

    sim = Simulator(batch)                  generation 0's models (fitted on the original data)
    for generation g = 0 .. G:
        if g: sim.step(g)                   the models fitted on pool g
        metrics <- sim.parameters()         Metric.measure_batch, all seeds at once
        if g in snapshots: sim.snapshot()   the first seed's model and pool
        if sim.finished: stop

The driver owns logging, progress, snapshots files and the pool-share metrics; a
simulator owns its random draws, which come from
``batch_generator(batch.key, generation, purpose)`` streams
(:mod:`genloop.collapse.fast.streams`) and the batch's :class:`MixingPolicy`.

:func:`simulator_for` picks the simulator of a family; :func:`register_simulator` adds one
(the newest registration of a family wins, so a plugin can replace a built-in path).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from genloop.collapse.fast.streams import batch_key
from genloop.collapse.policy import MixingPolicy
from genloop.core.errors import ConfigError


@dataclass(frozen=True)
class Batch:
    """What a simulator starts from: every seed of one variant.

    Attributes
    ----------
    template : object
        The family built from the recipe (an unfitted estimator: its parameters, such as
        ``n_states``, ``smoothing`` or ``estimator``, define what is simulated).
    original : ndarray of shape (S, n0, d)
        Each seed's generation-0 real data, drawn from the loop's own stream so that
        generation 0 is the sample-level loop's.
    seeds : ndarray of int, shape (S,)
    policy : MixingPolicy
    generations : int
        Generations after generation 0 (a simulator may plan the whole run at once).
    truth : object, optional
        The source's ground truth (:meth:`Simulator.truth`), given when the policy draws
        fresh real rows.
    stop_when_absorbed : bool
        The recipe stops a seed once its model puts all its mass on one state.
    """

    template: Any
    original: np.ndarray
    seeds: np.ndarray
    policy: MixingPolicy
    generations: int
    truth: Any = None
    stop_when_absorbed: bool = False

    def __post_init__(self):
        if self.policy.draws_fresh and self.truth is None:
            raise ConfigError(
                f"policy {self.policy.name!r} draws fresh real rows: the batch needs the "
                "ground truth (truth=...)"
            )

    @cached_property
    def key(self) -> int:
        """The batch's stream key (:func:`~genloop.collapse.fast.streams.batch_key`)."""
        return batch_key(self.seeds)


class Simulator:
    """Base class of fast paths. Subclasses set the class attributes and four methods.

    Class attributes
    ----------------
    family : type or str
        The family class this path simulates (or ``"module:Class"``, imported on first
        use); matched by exact type, so a subclass of a family keeps the sample loop.
    engine : {"exact", "batched"}
        ``exact``: the same law as the sample loop, on statistics; ``batched``: the same
        algorithm on rows, for all seeds at once. Recipes may ask for either by name.
    form : str
        What :meth:`parameters` describes, for ``Metric.batch_forms``: ``categorical``
        (``probabilities``), ``gaussian`` or ``mixture`` (``weights``, ``means``,
        ``covariances``), or a new name whose metrics read ``context.parameters``.

    The instance methods run one batch: ``__init__(batch)`` builds generation 0's
    models, :meth:`step` moves to the next generation, :meth:`parameters` and
    :meth:`snapshot` describe the current one.
    """

    family: ClassVar[type | str]
    engine: ClassVar[str] = "exact"
    form: ClassVar[str]

    # -- what the path applies to (asked once, before a run) -----------------------------
    @classmethod
    def unsupported(cls, template, source) -> str:
        """Why this path cannot simulate ``template`` on ``source`` ("" when it can)."""
        return ""

    @classmethod
    def truth(cls, source) -> Any:
        """The source's ground truth in this path's terms, or None when it has none.

        Needed only by policies that draw fresh real rows (``Batch.truth``).
        """
        return None

    # -- one batch --------------------------------------------------------------------
    def __init__(self, batch: Batch):  # pragma: no cover - interface
        raise NotImplementedError

    def step(self, generation: int) -> None:  # pragma: no cover - interface
        """Draw pool ``generation`` from the current models and refit every seed."""
        raise NotImplementedError

    def parameters(self) -> dict[str, np.ndarray]:  # pragma: no cover - interface
        """The current models of all seeds, as ``BatchMetricContext`` fields.

        Arrays with a leading seed axis ``S``: ``probabilities`` (S, K) for categorical
        models; ``weights`` (S, k), ``means`` (S, k, d), ``covariances`` (S, k, d, d) for
        Gaussians and mixtures; any other name goes to ``context.parameters``.
        """
        raise NotImplementedError

    def snapshot(self) -> tuple[dict[str, np.ndarray], np.ndarray]:  # pragma: no cover
        """The first seed's model arrays (as ``Family.to_arrays``) and pool rows (n, d)."""
        raise NotImplementedError

    def active(self, generation: int) -> np.ndarray | None:
        """Seeds still running (bool, shape (S,)); None when all are. Others log NaN."""
        return None

    @property
    def finished(self) -> bool:
        """True when nothing is left to simulate (every remaining generation is known)."""
        return False


# Built-in paths, imported on first use; plugins append classes with register_simulator.
_SIMULATORS: list[type[Simulator] | str] = [
    "genloop.collapse.fast.exact_categorical:CategoricalPath",
    "genloop.collapse.fast.exact_gaussian:GaussianPath",
    "genloop.collapse.fast.batched_gmm:MixturePath",
]


def register_simulator(simulator: type[Simulator] | str) -> None:
    """Add a fast path: a :class:`Simulator` subclass or ``"module:Class"``.

    A path registered later wins for its family. Like ``registry.register``, an object
    registered at run time exists in this process only: the local pool and Ray need the
    ``"module:Class"`` form of a module importable in their workers.
    """
    if simulator in _SIMULATORS:
        return
    if not isinstance(simulator, str) and not (
        isinstance(simulator, type) and issubclass(simulator, Simulator)
    ):
        raise TypeError(f"a fast path must be a Simulator subclass, got {simulator!r}")
    _SIMULATORS.append(simulator)


def simulator_for(template) -> type[Simulator] | None:
    """The fast path simulating ``template``'s family, or None (the sample-level loop)."""
    for entry in reversed(_SIMULATORS):
        simulator = _load(entry)
        if type(template) is _load(simulator.family):
            return simulator
    return None


def _load(entry):
    if not isinstance(entry, str):
        return entry
    module_name, attribute = entry.split(":")
    return getattr(importlib.import_module(module_name), attribute)
