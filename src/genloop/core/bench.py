"""What a bench gives the runner, and what the runner gives a bench.

A bench (collapse, seek, dynamics) registers a pydantic ``Config`` model for the keys of
its recipes and a ``run_seed(config, seed_context)`` function. The runner (the same for
every bench) owns seeds, the run directory, resume markers, progress bars and the
metrics table; a bench only computes and logs.

Metrics are logged in the long format ``(generation, seed, metric, value)``. For benches
whose clock is not a generation, ``generation`` holds the step (dynamics) or round
(seek); the bench's docs say which.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict


class BenchConfig(BaseModel):
    """Base for every bench's config: unknown keys are errors, never ignored."""

    # NaN and ±inf fail every bound check silently (NaN >= 0 is False, so is NaN < 0;
    # inf > 0): refuse them for every float field of every bench.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


@dataclass
class SeedContext:
    """The runner's services for one seed of one run.

    Attributes
    ----------
    seed : int
        The run seed; derive every random stream from it with
        :func:`genloop.core.rng.generator`.
    log : callable
        ``log(generation, {metric: value, ...})`` records one generation's metrics.
    artifact_dir : pathlib.Path
        A directory for this seed's artifacts (figures, snapshots, samples); created.
    advance : callable
        ``advance(n=1)`` moves the progress bar by ``n`` generations/steps.
    checkpoint : callable or None
        ``checkpoint(generation, arrays)``: store resumable state (a flat dict of numpy
        arrays, written as safetensors) after ``generation`` finished; ``None`` when
        the runner does not support resume for this bench.
    restore : callable or None
        ``restore() -> (generation, arrays) | None``: the last checkpoint, if any.
    """

    seed: int
    log: Callable[[int, dict[str, float]], None]
    artifact_dir: Path
    advance: Callable[..., None] = lambda n=1: None
    checkpoint: Callable | None = None
    restore: Callable | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class BatchContext:
    """The runner's services for a unit that simulates many seeds at once (fast paths).

    Attributes
    ----------
    seeds : list of int
        The seeds this unit covers; metric arrays are aligned with it.
    log : callable
        ``log(generation, {metric: array of shape (n_seeds,)})``; NaN entries (e.g. seeds
        that stopped early) are not written.
    artifact_dir, advance, checkpoint, restore
        As in :class:`SeedContext`.
    """

    seeds: list[int]
    log: Callable[[int, dict], None]
    artifact_dir: Path
    advance: Callable[..., None] = lambda n=1: None
    checkpoint: Callable | None = None
    restore: Callable | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Bench:
    """A bench as the runner sees it.

    Attributes
    ----------
    name : str
        The value of ``bench:`` in recipes (``collapse``, ``dynamics``, ``seek``).
    config_model : type[BenchConfig]
        Validates every recipe key other than the common ones (``name``,
        ``description``, ``bench``, ``seeds``, ``quick``).
    run_seed : callable
        ``run_seed(config, seed_context)``: run one seed, logging metrics through the
        context. Must be deterministic given (config, seed).
    plot : callable or None
        ``plot(metrics, config, out_dir) -> list[Path]``: figures for ``genloop plot``
        and reports, from the long-format metrics DataFrame (columns generation, seed,
        metric, value). ``None`` means the generic per-metric curves only.
    batch_engine : callable or None
        ``batch_engine(config) -> str | None``: the name of a fast path that simulates
        all seeds at once for this config (e.g. ``"exact"``), or ``None`` to run seed
        by seed.
    run_batch : callable or None
        ``run_batch(config, batch_context) -> str``: run every seed of a variant as one
        unit; returns the engine path that ran.
    ledger_plan : callable or None
        ``ledger_plan(variants, seeds) -> {variant: "on" | "off: <why>"}``: which variants
        keep a provenance ledger. The runner then hands a variant's units
        ``extra["ledger_dir"]``. ``None``: the bench keeps no ledger.
    theory : callable or None
        ``theory(config, metric, generations) -> ndarray | None``: the expected value
        (mean over seeds) of ``metric`` at each of ``generations`` where a closed form
        applies to ``config``, else None. ``genloop show``, sweeps and reports put it
        beside the measured values (:meth:`theory_curve`, :meth:`theory_value`).
    checks : callable or None
        ``checks(metrics, variants) -> list[str]``: plain-language findings of a
        finished run (theory agreement, samples to target, ...), from its long-format
        metrics and ``{variant: config}`` (:meth:`run_checks`).
    preferred_metrics : tuple of str
        Metrics that reports should draw first, in this order (the rest follow by name).

    The generic layers (API, report, sweep) call these hooks and never test a bench's
    name, so a bench added with :func:`genloop.core.registry.register` gets the same
    treatment as the built-in ones.
    """

    name: str
    config_model: type[BenchConfig]
    run_seed: Callable
    plot: Callable | None = None
    batch_engine: Callable | None = None
    run_batch: Callable | None = None
    ledger_plan: Callable | None = None
    theory: Callable | None = None
    checks: Callable | None = None
    preferred_metrics: tuple[str, ...] = ()

    def theory_curve(self, config, metric: str, generations):
        """The :attr:`theory` hook's curve broadcast to ``generations``, or None."""
        if self.theory is None:
            return None
        generations = np.asarray(generations)
        curve = self.theory(config, metric, generations)
        return None if curve is None else np.broadcast_to(curve, generations.shape)

    def theory_value(self, config, metric: str, generation: int) -> float:
        """The theory at one generation; NaN where no closed form applies."""
        curve = self.theory_curve(config, metric, np.array([generation]))
        return float("nan") if curve is None else float(np.ravel(curve)[0])

    def run_checks(self, metrics, variants: dict) -> list[str]:
        """The :attr:`checks` hook's findings (none without the hook or metrics)."""
        if self.checks is None or metrics is None or len(metrics) == 0:
            return []
        return list(self.checks(metrics, variants))

    def draw(self, metrics, config, out_dir: Path, *, run_path: Path | None = None,
             variants: dict | None = None) -> list[Path]:
        """The :attr:`plot` hook's figures written to ``out_dir`` (none without the hook).

        ``run_path`` and ``variants`` reach the hook only when given and when it takes
        them (a hook may read snapshots from the run, or label one line per variant).
        """
        import inspect

        if self.plot is None:
            return []
        accepted = inspect.signature(self.plot).parameters
        extra = {name: value for name, value in (("run_path", run_path), ("variants", variants))
                 if value is not None and name in accepted}
        return [Path(p) for p in self.plot(metrics, config, out_dir, **extra)]
