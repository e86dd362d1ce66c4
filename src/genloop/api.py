"""The Python API, mirroring the CLI: ``genloop.run(...)`` and ``genloop.load(...)``.

>>> import genloop
>>> run = genloop.run("nature-gaussian", seeds=range(10), overrides={"generations": 20})
>>> run.summary(generations=[0, 20])            # doctest: +SKIP
>>> run.metrics.query("metric == 'log_variance_change'")  # doctest: +SKIP
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from genloop.core.config import Recipe, resolve, seeds_label
from genloop.core.errors import DataError, GenloopError
from genloop.core.registry import resolve as resolve_component
from genloop.core.run_dir import RunDir, default_root
from genloop.core.runner import execute
from genloop.provenance.ledger import seal
from genloop.store.tidy import default_generations, values_at

# How many of a run's figures its notebook view shows inline (the rest: run.plot()).
FIGURES_INLINE = 2


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
        seeds = seeds_label(self.config.get("seeds"))
        return (f"<Run {self.config.get('name', '?')} seeds={seeds} "
                f"variants={len(self.config.get('variants') or {'default': 0})} "
                f"path={str(self.path)!r}>")

    def _repr_html_(self) -> str:
        """A notebook's view: recipe, seeds, status, the bench's findings, and the
        summary at the first and last generation pivoted by variant (median [q10, q90])."""
        import html

        finished = self.dir.finished()
        head = (f"<b>{html.escape(str(self.config.get('name', '?')))}</b> — "
                f"seeds {html.escape(seeds_label(self.config.get('seeds')))}"
                f", {'finished' if finished else 'unfinished'}"
                + (f" in {self.meta['seconds']:.1f} s" if finished else "")
                + f"<br><code>{html.escape(str(self.path))}</code>")
        try:
            findings = self.checks()
            table = self.summary()
        except GenloopError as exc:
            return f"<div>{head}<p>{html.escape(str(exc))}</p></div>"
        items = "".join(f"<li>{html.escape(line)}</li>" for line in findings)
        from genloop.metrics.continuous import FLAG_METRICS, flag_lines

        items += "".join(f"<li>{html.escape(line)}</li>" for line in flag_lines(self.metrics))
        table = table[~table["metric"].astype(str).str.contains("_hist_")
                      & ~table["metric"].isin(list(FLAG_METRICS))]
        cells = table.assign(cell=[f"{r.median:.4g} [{r.q10:.3g}, {r.q90:.3g}]"
                                   for r in table.itertuples()])
        pivot = cells.pivot_table(index=["metric", "generation"], columns="variant",
                                  values="cell", aggfunc="first", sort=False)
        # The first figures inline (the bench's main curves come first); drawing them
        # writes the PNGs into the run's figures/ folder, as `genloop plot` does.
        try:
            pictures = "".join(_png_tag(path) for path in self.plot().paths[:FIGURES_INLINE])
        except (GenloopError, OSError) as exc:
            pictures = f"<p>figures: {html.escape(str(exc))}</p>"
        return (f"<div>{head}<ul>{items}</ul>{pictures}"
                f"{pivot.to_html(escape=True, na_rep='')}</div>")

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

    def plot(self, out: str | Path | None = None) -> Figures:
        """Draw the bench's figures and write them as PNG to ``out`` (default ``<run>/figures``).

        Returns
        -------
        Figures
            A list of the matplotlib figures (they display inline in a notebook, and
            ``fig.savefig`` works on each); ``.paths`` holds the PNG files written.
        """
        from genloop.core.figures import keeping_figures

        out_dir = Path(out) if out is not None else self.path / "figures"
        out_dir.mkdir(parents=True, exist_ok=True)
        bench = resolve_component("bench", self.recipe.bench)
        # Variants share one figure (one line each), so the first variant's config serves.
        with keeping_figures() as figures:
            paths = bench.draw(self.metrics, self.recipe.config, out_dir, run_path=self.path,
                               variants=self.recipe.variants)
        return Figures(figures, paths)


class Figures(list):
    """The figures :meth:`Run.plot` drew: a list of matplotlib figures, plus their PNG files.

    Attributes
    ----------
    paths : list of pathlib.Path
        The PNG files written, one per figure.
    """

    def __init__(self, figures, paths):
        super().__init__(figures)
        self.paths = [Path(p) for p in paths]

    def __repr__(self) -> str:
        return f"<Figures {len(self.paths)}: {', '.join(p.name for p in self.paths)}>"

    def _repr_html_(self) -> str:
        return "".join(_png_tag(path) for path in self.paths)


def _png_tag(path: Path, width: int = 720) -> str:
    """An ``<img>`` holding the PNG file itself (a notebook's output must stand alone)."""
    import base64
    import html

    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" style="max-width:{width}px" '
            f'alt="{html.escape(path.name)}"><figcaption>{html.escape(path.name)}'
            "</figcaption></figure>")


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
    force_new_config: bool = False,
) -> Run:
    """Run a recipe and return the :class:`Run`.

    The run directory is locked while it runs: another process running or resuming it
    stops with one line naming this one (:meth:`~genloop.core.run_dir.RunDir.lock`).

    Parameters
    ----------
    recipe : str, Path or dict
        A shipped recipe name (see ``genloop recipes``), a YAML path, or a mapping.
    seeds : optional
        ``range(10)``, a list or numpy array of ints, ``"0..99"`` (inclusive), ``"0,3,5"``
        or an int; default: the recipe's seeds. Saved as a list in ``config.yaml``.
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
    force_new_config : bool
        With ``resume``: when the directory's config.yaml changed since the run started,
        rerun the units it changes afresh (without it, a changed config is an error that
        names the changed keys, so two experiments never mix in one directory).

    Returns
    -------
    Run
    """
    if resume is not None:
        run_dir = RunDir(resume)
        validated = resolve(run_dir.read_config())
        with run_dir.lock():
            execute(validated, run_dir, progress=progress, new_config=force_new_config)
            seal(run_dir.path, validated)
        return Run(run_dir.path)
    validated = resolve(recipe, overrides=overrides, quick=quick, seeds=seeds, variants=variants)
    new_folder = out is None or not Path(out).exists()
    run_dir = RunDir.create(default_root(), validated.name, validated.seeds, out)
    # The lock first: a process that finds the directory in use must not clean it up.
    with run_dir.lock():
        try:
            execute(validated, run_dir, progress=progress)
            seal(run_dir.path, validated)
        except GenloopError:
            # A data or config problem found once the run started (a missing file, a
            # source that rejects its settings): leave no half-made run directory behind
            # unless some unit finished, which --resume would keep.
            run_dir.discard_if_empty(remove_folder=new_folder)
            raise
    return Run(run_dir.path)


def unlearn(run_dir: str | Path, *, samples=(), real_index=(), where=(),
            out: str | Path | None = None, progress: bool = False,
            membership_check: bool = True):
    """Forget records of a finished collapse run or sweep, as if never in the data.

    See :func:`genloop.collapse.unlearn.unlearn` (docs/unlearning.md). On a sweep the
    request is resolved over every point once, and every point is unlearned into
    ``out/points/<point>`` (points the records never reached are copied), each with its
    own certificate; the new sweep's metrics and summary are aggregated again.

    Returns
    -------
    genloop.collapse.unlearn.UnlearnResult
        ``.path`` is the new run (or sweep), which :func:`load` opens; for a sweep,
        ``.points`` holds each point's result.
    """
    from genloop.collapse.unlearn import unlearn as run_unlearn
    from genloop.store.catalog import find_run
    from genloop.sweep import is_sweep

    path = find_run(run_dir)
    arguments = dict(samples=list(samples), real_index=list(real_index), where=list(where),
                     progress=progress, membership_check=membership_check)
    if is_sweep(path):
        return _unlearn_sweep(path, out, arguments)
    return run_unlearn(path, out=out, **arguments)


def _unlearn_sweep(path: Path, out, arguments: dict):
    import json

    from genloop.collapse.unlearn import UnlearnResult, check_run, resolve_request
    from genloop.collapse.unlearn import unlearn as run_unlearn
    from genloop.core.run_dir import atomic_write_text, child, directory_lock, stamped_name
    from genloop.sweep import Sweep

    sweep = Sweep(path)
    units = {}
    for point in sweep.points:
        *_, found = check_run(sweep.point_dir(point))
        units |= {(point, *key): folder for key, folder in found.items()}
    ids = resolve_request(path, units, arguments["samples"], arguments["real_index"],
                          arguments["where"])
    name = f"{sweep.spec.get('recipe', 'sweep')}-unlearned"
    target = Path(out) if out is not None else child(
        default_root(), stamped_name(name, sweep.spec["seeds"], prefix="sweep-"))
    if target.exists() and any(target.iterdir()):
        raise DataError(f"output directory {target} is not empty")
    target.mkdir(parents=True, exist_ok=True)
    points = {}
    with directory_lock(target):
        spec = sweep.spec | {"unlearned": {"from": str(path), "forget": ids}}
        atomic_write_text(target / "sweep.json", json.dumps(spec, indent=2, default=str))
        for point in sweep.points:
            result = run_unlearn(sweep.point_dir(point).path, out=target / "points" / point,
                                 forget_ids=ids, **arguments)
            for reach in result.reach:
                reach.point = point
            points[point] = result
        Sweep(target).aggregate()
    results = list(points.values())
    old = [r.old_seconds for r in results]
    return UnlearnResult(
        target, results[0].forget if results else ids,
        [reach for r in results for reach in r.reach], sum(r.seconds for r in results),
        sum(old) if all(o is not None for o in old) else None,
        sum(r.generations_rerun for r in results), sum(r.generations_total for r in results),
        "", [m | {"point": p} for p, r in points.items() for m in r.membership], None, points)


def load(run_dir: str | Path):
    """Open a run directory (a :class:`Run`) or sweep directory (a ``Sweep``).

    ``run_dir`` is a path, ``"latest"`` (the newest run under ``runs/``) or a recipe name
    (its newest run there); see :func:`genloop.store.catalog.find_run`.
    """
    from genloop.store.catalog import find_run
    from genloop.sweep import Sweep, is_sweep

    path = find_run(run_dir)

    return Sweep(path) if is_sweep(path) else Run(path)

