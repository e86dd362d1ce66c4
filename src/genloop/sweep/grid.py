"""Grids: ``--grid key=v1,v2`` parsing, the cartesian product, column names, point ids.

A grid maps dotted config keys (the same keys as ``--set``) to lists of values. Each
combination is a *grid point*; its values are applied to the recipe like ``--set``
overrides, so they win over the recipe's variants.

Column names: a grid key appears in the sweep's tables under its last dotted component
(``mixing.policy`` -> ``policy``), unless two grid keys share that component or it clashes
with a metrics column; then the whole key with dots as underscores is used
(``family.n_components`` -> ``family_n_components``).
"""

from __future__ import annotations

import re
from typing import Any

from genloop.core.config import COMMON_KEYS, grid_points, parse_override
from genloop.core.errors import ConfigError

# Columns the long-format metrics already have; a grid column must not shadow them.
RESERVED = {"run", "point", "variant", "seed", "generation", "metric", "value"}


def parse_grid(items: list[str] | None) -> dict[str, list[Any]]:
    """Parse ``["mixing.policy=replace,accumulate", "n=100,500"]`` into a grid mapping.

    Values are read as YAML scalars (``100`` is an int, ``0.1`` a float). A value list in
    brackets (``snapshots=[0, 5]``) is not split on its commas.
    """
    grid: dict[str, list[Any]] = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(
                f"--grid {item!r} must look like key=v1,v2,... "
                "(e.g. mixing.policy=replace,accumulate)"
            )
        key, text = item.split("=", 1)
        key = key.strip()
        if not key or key.split(".")[0] in COMMON_KEYS:
            raise ConfigError(f"--grid {item!r}: {key!r} is not a config key a grid can vary")
        if key in grid:
            raise ConfigError(f"--grid names {key!r} twice; give all its values at once")
        values = [parse_override(f"{key}={part}")[1] for part in _split_values(text)]
        if not values:
            raise ConfigError(f"--grid {item!r} lists no values")
        if len({repr(v) for v in values}) != len(values):
            raise ConfigError(f"--grid {item!r} repeats a value")
        grid[key] = values
    return grid


def _split_values(text: str) -> list[str]:
    """Split on commas outside brackets and braces."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char in "[{"
        depth -= char in "]}"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def column_names(keys: list[str]) -> dict[str, str]:
    """Map each grid key to its column name (see the module docstring)."""
    last = [k.split(".")[-1] for k in keys]
    names = {}
    for key, short in zip(keys, last, strict=True):
        clash = last.count(short) > 1 or short in RESERVED
        names[key] = key.replace(".", "_") if clash else short
    if len(set(names.values())) != len(names):
        raise ConfigError(f"grid keys {', '.join(keys)} give clashing column names")
    return names


def point_id(point: dict[str, Any], columns: dict[str, str]) -> str:
    """A file-name-safe id of a grid point, e.g. ``policy=replace`` or ``policy=replace,n=100``."""
    parts = []
    for key, value in point.items():
        text = re.sub(r"[^A-Za-z0-9_.\-]+", "_", str(value)).strip("_") or "_"
        parts.append(f"{columns[key]}={text}")
    return ",".join(parts)


def expand(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The grid points in a stable order (the last key varies fastest)."""
    points = grid_points(grid)
    columns = column_names(list(grid))
    ids = [point_id(p, columns) for p in points]
    if len(set(ids)) != len(ids):
        raise ConfigError(
            "two grid values give the same point id; use values that differ in letters or digits"
        )
    return points
