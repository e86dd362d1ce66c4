"""A sweep: a grid of config values × seeds, each grid point a run directory.

Layout::

    runs/sweep-<recipe>__<seeds>__<time>/
      sweep.json            recipe, grid, column names, seeds, the points and their values
      points/<point id>/    one run directory per grid point (config.yaml has its values)
      metrics.parquet       every point's metrics, long format, plus ``point`` and one
                            column per grid key (e.g. ``policy`` for ``mixing.policy``)
      summary.parquet       per point × variant × metric × generation: median, 10/90%
                            quantiles, mean, SE and the bootstrap CI of the median
      logs/sweep.log        one line per finished or failed unit

The parent process writes ``sweep.json`` and every point's ``config.yaml`` and
``meta.json`` before any unit starts, and the aggregates after the units finished; a
unit (point × variant × seed) writes only its own files. Running the same sweep again
(same ``--out``, or ``--resume``) skips finished units and continues unfinished ones from
their checkpoints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from genloop.core.config import resolve
from genloop.core.errors import DataError, GenloopError
from genloop.core.registry import resolve as resolve_component
from genloop.core.run_dir import RunDir, atomic_write_parquet, child
from genloop.store.summary import write_summary
from genloop.store.tidy import default_generations

SPEC_FILE = "sweep.json"


def is_sweep(path: str | Path) -> bool:
    """True when ``path`` is a sweep directory."""
    return (Path(path) / SPEC_FILE).is_file()


class Sweep:
    """A sweep directory on disk.

    Attributes
    ----------
    path : pathlib.Path
    spec : dict
        The content of ``sweep.json``.
    columns : dict of str to str
        Grid key -> column name in ``metrics`` and ``summary``.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not is_sweep(self.path):
            raise DataError(f"{self.path} is not a genloop sweep directory (no {SPEC_FILE})")
        try:
            self.spec = json.loads((self.path / SPEC_FILE).read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            raise DataError(f"cannot read {self.path / SPEC_FILE}: not valid JSON") from None
        self.columns: dict[str, str] = self.spec["columns"]

    def __repr__(self) -> str:
        return f"Sweep({str(self.path)!r})"

    @property
    def points(self) -> dict[str, dict[str, Any]]:
        """Point id -> the point's grid values (dotted keys)."""
        return {p["id"]: p["values"] for p in self.spec["points"]}

    def point_dir(self, point: str) -> RunDir:
        return RunDir(child(self.path / "points", point))

    @property
    def metrics(self) -> pd.DataFrame:
        """Every point's metrics: ``point, <grid columns>, variant, seed, generation, ...``."""
        path = self.path / "metrics.parquet"
        if path.is_file():
            from genloop.core.run_dir import read_parquet

            return read_parquet(path)
        return self.aggregate()

    def aggregate(self) -> pd.DataFrame:
        """Collect finished units; rewrite ``metrics.parquet`` and ``summary.parquet``."""
        frames = []
        for point, values in self.points.items():
            run_dir = self.point_dir(point)
            if not run_dir.exists():
                continue
            frame = run_dir.collect()
            for column in frame.columns:
                # Units may hold categoricals; plain strings concatenate across points.
                if isinstance(frame[column].dtype, pd.CategoricalDtype):
                    frame[column] = frame[column].astype(str)
            frame.insert(0, "point", point)
            for i, (key, value) in enumerate(values.items()):
                frame.insert(1 + i, self.columns[key], value)
            frames.append(frame)
        grid_cols = list(self.columns.values())
        frame = (
            pd.concat(frames, ignore_index=True)
            if frames
            else pd.DataFrame(
                columns=["point", *grid_cols, "variant", "seed", "generation", "metric", "value"]
            )
        )
        for column in grid_cols:
            # A column of mixed types (1 and "a") cannot be written as Parquet.
            if frame[column].map(type).nunique() > 1:
                frame[column] = frame[column].astype(str)
        atomic_write_parquet(self.path / "metrics.parquet", frame)
        write_summary(
            frame,
            self.path / "summary.parquet",
            keys=["point", *grid_cols, "variant", "metric", "generation"],
        )
        return frame

    def summary(
        self, generations: list[int] | None = None, metrics: list[str] | None = None
    ) -> pd.DataFrame:
        """Rows of ``summary.parquet`` (default: first, middle and last generation), with theory."""
        from genloop.core.run_dir import read_parquet

        path = self.path / "summary.parquet"
        table = read_parquet(path) if path.is_file() else None
        if table is None:
            self.aggregate()
            table = read_parquet(path)
        if metrics:
            table = table[table["metric"].isin(metrics)]
        if generations is None:
            generations = default_generations(table["generation"].unique())
        table = table[table["generation"].isin(generations)]
        table = table.reset_index(drop=True)
        table["theory"] = self._theory(table)
        return table

    def _theory(self, table: pd.DataFrame) -> list[float]:

        recipes = {}
        out = []
        for row in table.itertuples():
            if row.point not in recipes:
                try:
                    recipes[row.point] = resolve(self.point_dir(row.point).read_config())
                except GenloopError:
                    recipes[row.point] = None
            recipe = recipes[row.point]
            value = float("nan")
            if recipe is not None and row.variant in recipe.variants:
                bench = resolve_component("bench", recipe.bench)
                value = bench.theory_value(recipe.variants[row.variant], row.metric,
                                           row.generation)
            out.append(value)
        return out

    def checks(self) -> list[str]:
        return []
