"""The runs a user has made: list them, and find one again by ``latest`` or recipe name.

``genloop runs`` prints :func:`list_runs`; every command that takes a run directory
(``show``, ``plot``, ``report``, ``compare``, ``genloop.load``) passes its argument
through :func:`find_run`, so that ``genloop show latest`` and ``genloop show
nature-gaussian`` (the newest run of that recipe) work beside a plain path.

A run directory is any folder holding ``config.yaml``; a sweep directory holds
``sweep.json``. Runs inside a sweep (its points) are listed as the sweep.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pandas as pd

from genloop.core.config import seeds_label
from genloop.core.errors import DataError, GenloopError
from genloop.core.run_dir import RunDir, default_root

LATEST = "latest"
COLUMNS = ["run", "kind", "recipe", "seeds", "variants", "status", "started", "seconds",
           "path"]


def _entries(root: Path) -> list[tuple[str, Path]]:
    """``(kind, path)`` of the runs and sweeps directly under ``root`` (one level)."""
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        if (child / "sweep.json").is_file():
            found.append(("sweep", child))
        elif (child / "config.yaml").is_file():
            found.append(("run", child))
    return found


def _started(path: Path, kind: str) -> float:
    """When the run began: the time its config (or sweep spec) was written."""
    marker = path / ("sweep.json" if kind == "sweep" else "config.yaml")
    return marker.stat().st_mtime


def _describe(kind: str, path: Path) -> dict:
    """One row of :func:`list_runs`; unreadable files give blanks, never an error."""
    row = {"run": path.name, "kind": kind, "path": str(path),
           "started": datetime.fromtimestamp(_started(path, kind)).strftime("%Y-%m-%d %H:%M")}
    try:
        if kind == "sweep":
            spec = json.loads((path / "sweep.json").read_text(encoding="utf-8"))
            done = (path / "summary.parquet").is_file()
            row |= {"recipe": spec.get("recipe"), "seeds": seeds_label(spec.get("seeds")),
                    "variants": ", ".join(map(str, spec.get("variants", []))),
                    "status": "finished" if done else "interrupted",
                    "seconds": None}
        else:
            run_dir = RunDir(path)
            meta = run_dir.read_meta()
            units = len(list((path / "units").glob("*.parquet")))
            finished = run_dir.finished()
            row |= {"recipe": meta.get("recipe"), "seeds": seeds_label(meta.get("seeds")),
                    "variants": ", ".join(map(str, meta.get("variants", []))),
                    "status": "finished" if finished
                    else f"interrupted ({units} unit{'s' if units != 1 else ''} done)",
                    "seconds": meta.get("seconds")}
    except (GenloopError, OSError, ValueError, AttributeError, TypeError):
        row |= {"status": "unreadable"}
    if not row.get("recipe"):
        # An old or damaged run: its folder name starts with the recipe.
        row["recipe"] = path.name.removeprefix("sweep-").split("__")[0]
    return row


def list_runs(root: str | Path | None = None) -> pd.DataFrame:
    """Every run and sweep directly under ``root``, newest first.

    Parameters
    ----------
    root : str or Path, optional
        The runs folder (default ``runs/``, where ``genloop run`` writes).

    Returns
    -------
    pandas.DataFrame
        Columns ``run, kind, recipe, seeds, variants, status, started, seconds, path``;
        ``status`` is ``finished`` or ``interrupted (k units done)``. Empty when the folder
        holds no run or does not exist.
    """
    root = Path(root) if root is not None else default_root()
    entries = sorted(_entries(root), key=lambda e: _started(e[1], e[0]), reverse=True)
    return pd.DataFrame([_describe(kind, path) for kind, path in entries], columns=COLUMNS)


def find_run(reference: str | Path, root: str | Path | None = None) -> Path:
    """The run or sweep directory that ``reference`` names.

    Parameters
    ----------
    reference : str or Path
        A directory; ``latest`` (the newest run or sweep under ``root``); or a recipe
        name (the newest run of that recipe under ``root``).
    root : str or Path, optional
        Where ``latest`` and recipe names are looked up (default ``runs/``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    DataError
        Nothing matches; the message says what was looked for and where.
    """
    path = Path(reference)
    if path.is_dir():
        return path
    text = str(reference)
    root = Path(root) if root is not None else default_root()
    runs = list_runs(root)
    if text == LATEST:
        if runs.empty:
            raise DataError(f"no runs under {root}/ yet; start one with `genloop run NAME`")
        return Path(runs["path"].iloc[0])
    if "/" not in text and "\\" not in text:
        mine = runs[runs["recipe"] == text]
        if not mine.empty:
            return Path(mine["path"].iloc[0])
    raise DataError(
        f"run or sweep directory not found: {text} (give a path, `latest`, or a recipe name "
        f"that has a run under {root}/; `genloop runs` lists them)"
    )
