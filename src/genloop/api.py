"""The Python API, mirroring the CLI: ``genloop.run(...)`` and ``genloop.load(...)``.

>>> import genloop
>>> run = genloop.run("nature-gaussian", seeds=range(10), overrides={"generations": 20})
>>> run.summary(generations=[0, 20])            # doctest: +SKIP
>>> run.metrics.query("metric == 'log_variance_change'")  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from genloop.core.config import Recipe, resolve
from genloop.core.errors import DataError
from genloop.core.registry import resolve as resolve_component
from genloop.core.run_dir import RunDir
from genloop.core.runner import default_root, execute
from genloop.store.tidy import default_generations, values_at


class Run:
    """A finished (or partly finished) run on disk.

    Attributes
    ----------
    path : pathlib.Path
        The run directory.
    config : dict
        The resolved recipe as saved in ``config.yaml``.
    metrics : pandas.DataFrame
        Long format: ``variant, seed, generation, metric, value``.
    """

    def __init__(self, path: str | Path):
        self.dir = RunDir(path)
        self.path = self.dir.path
        self.config = self.dir.read_config()

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    @cached_property
    def recipe(self) -> Recipe:
        """The saved config, validated again (exactly what ran)."""
        return resolve(self.config)

    @cached_property
    def metrics(self) -> pd.DataFrame:
        return self.dir.metrics()

    @property
    def meta(self) -> dict:
        return self.dir.read_meta()

    def summary(self, generations: list[int] | None = None, metrics: list[str] | None = None):
        """Per variant, metric and generation: median, 10/90% quantiles, mean ± SE, theory.

        ``ci_low``/``ci_high`` bound the median: a 95% percentile bootstrap over seeds
        (2,000 resamples, seeded; NaN for one seed).

        Parameters
        ----------
        generations : list of int, optional
            Which generations to show (default: first, middle and last).
        metrics : list of str, optional
            Which metrics (default: all).

        Returns
        -------
        pandas.DataFrame
        """
        frame = self.metrics
        if metrics:
            frame = frame[frame["metric"].isin(metrics)]
        if generations is None:
            generations = default_generations(frame["generation"].unique())
        # Seeds that stopped early keep their last values (see store.tidy).
        frame = values_at(frame, generations)
        from genloop.store.summary import summarize

        table = summarize(frame, ["variant", "metric", "generation"])
        # Variants in the recipe's order (summarize sorts them by name).
        order = {v: i for i, v in enumerate(self.recipe.variants)}
        rank = table["variant"].astype(str).map(order)
        table = table.iloc[np.argsort(rank.to_numpy(), kind="stable")].reset_index(drop=True)
        table["theory"] = [self._theory(r.variant, r.metric, r.generation)
                           for r in table.itertuples()]
        return table

    def _theory(self, variant: str, metric: str, generation: int) -> float:
        bench = resolve_component("bench", self.recipe.bench)
        return bench.theory_value(self.recipe.variants.get(variant, self.recipe.config),
                                  metric, generation)

    def checks(self) -> list[str]:
        """Plain-language findings of the bench (``Bench.checks``): the theory that applies
        (collapse runs), samples to target per sampler (seek curricula)."""
        bench = resolve_component("bench", self.recipe.bench)
        return bench.run_checks(self.metrics, self.recipe.variants)

    def plot(self, out: str | Path | None = None) -> list[Path]:
        """Write the bench's figures (PNG) to ``out`` (default ``<run>/figures``)."""
        out_dir = Path(out) if out is not None else self.path / "figures"
        out_dir.mkdir(parents=True, exist_ok=True)
        bench = resolve_component("bench", self.recipe.bench)
        if bench.plot is None:
            return []
        kwargs = {}
        accepted = inspect.signature(bench.plot).parameters
        if "run_path" in accepted:
            kwargs["run_path"] = self.path
        if "variants" in accepted:
            kwargs["variants"] = self.recipe.variants
        # Variants share one figure (one line each), so the first variant's config serves.
        paths = bench.plot(self.metrics, self.recipe.config, out_dir, **kwargs)
        return [Path(p) for p in paths]


def run(
    recipe: str | Path | dict,
    *,
    seeds: Any = None,
    overrides: dict[str, Any] | list[str] | None = None,
    quick: bool = False,
    out: str | Path | None = None,
    resume: str | Path | None = None,
    progress: bool = False,
    variants: list[str] | None = None,
) -> Run:
    """Run a recipe and return the :class:`Run`.

    Parameters
    ----------
    recipe : str, Path or dict
        A shipped recipe name (see ``genloop recipes``), a YAML path, or a mapping.
    seeds : optional
        ``range(10)``, ``"0..99"`` (inclusive) or an int; default: the recipe's seeds.
    overrides : dict or list of "key=value", optional
        Dotted config keys, e.g. ``{"mixing.policy": "accumulate", "n": 500}``.
    quick : bool
        Use the recipe's small ``quick`` variant.
    out : path, optional
        The run directory (default ``runs/<recipe>__<seeds>__<timestamp>``).
    resume : path, optional
        Continue this run directory: its saved config is used and finished
        generations and seeds are kept.
    progress : bool
        Show a progress bar.
    variants : list of str, optional
        Run only these of the recipe's variants.

    Returns
    -------
    Run
    """
    if resume is not None:
        run_dir = RunDir(resume)
        raw = run_dir.read_config()
        validated = resolve(raw)
    else:
        validated = resolve(
            recipe, overrides=overrides, quick=quick, seeds=seeds, variants=variants
        )
        run_dir = RunDir.create(default_root(), validated.name, validated.seeds, out)
    execute(validated, run_dir, progress=progress)
    return Run(run_dir.path)


def load(run_dir: str | Path):
    """Open an existing run directory (a :class:`Run`) or sweep directory (a ``Sweep``)."""
    path = Path(run_dir)
    if not path.is_dir():
        raise DataError(f"run directory not found: {path}")
    from genloop.sweep import Sweep, is_sweep

    return Sweep(path) if is_sweep(path) else Run(path)

