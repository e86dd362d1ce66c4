"""Recipes: finding, loading, overriding and validating them.

A recipe is one YAML file, read with :class:`StrictLoader` (``yaml.SafeLoader`` that also
rejects duplicate keys; nothing is evaluated). Its common keys are the same for every
bench::

    name: nature-gaussian          # defaults to the file name
    description: one line for `genloop recipes`
    bench: collapse                # which bench validates and runs the rest
    seeds: 0..9                    # inclusive range, list, or single int
    quick: {generations: 10}       # dotted overrides applied by --quick
    variants:                      # optional: named override sets run side by side
      replace: {mixing.policy: replace}
    grid: {mixing.policy: [replace, accumulate]}   # optional: dotted key -> values;
                                   # `run` crosses it with the variants, `sweep` makes
                                   # one run directory per grid point (docs/sweeps-and-reports.md)

Every other key belongs to the bench's typed config model. Overrides (``--set
mixing.fraction=0.2``) are dotted paths whose values are parsed as YAML scalars, so
``0.2`` is a float and ``[1, 2]`` a list. Errors name the key and the allowed keys or
values.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ValidationError

from genloop.core.errors import ConfigError
from genloop.core.names import check_name

COMMON_KEYS = ("name", "description", "bench", "seeds", "quick", "variants", "grid")


@dataclass
class Recipe:
    """A validated recipe, ready to run.

    Attributes
    ----------
    name, description, bench : str
    seeds : list of int
    variants : dict of str to BaseModel
        The bench config of each variant (one entry, ``"default"``, without variants).
    raw : dict
        The resolved YAML mapping (after quick mode and overrides), saved as
        ``config.yaml`` in the run directory.
    """

    name: str
    description: str
    bench: str
    seeds: list[int]
    variants: dict[str, BaseModel]
    raw: dict = field(default_factory=dict)

    @property
    def config(self) -> BaseModel:
        """The config of the first (or only) variant."""
        return next(iter(self.variants.values()))


def recipe_dir() -> Path:
    """The folder of recipes shipped inside the package."""
    return Path(str(resources.files("genloop") / "recipes"))


def known_recipes() -> dict[str, Path]:
    """Map recipe name (file stem) to path for every shipped recipe, searched recursively."""
    return {p.stem: p for p in sorted(recipe_dir().rglob("*.yaml"))}


MAX_SEED = 2**31 - 1  # seeds derive numpy streams; a bound keeps their keys one width
MAX_SEEDS = 1_000_000  # more seeds than this do not fit one machine's metrics in memory


def parse_seeds(value: Any) -> list[int]:
    """Read seeds as a list of distinct non-negative ints, in the order given.

    Accepts ``"0..9"`` (inclusive), ``"0,3,5"``, one int, and any sequence of integers:
    a list or tuple, a ``range``, a numpy array. Floats are accepted only when integral
    (``3.0``); booleans never are.

    Raises
    ------
    ConfigError
        Unreadable, empty, negative, non-integral, duplicated or more than ``MAX_SEEDS``
        seeds, or a seed above ``MAX_SEED``.
    """
    import numbers

    def one(v: Any) -> int:
        if isinstance(v, (bool, np.bool_)):
            raise ValueError
        if isinstance(v, numbers.Integral):
            return int(v)
        if isinstance(v, numbers.Real) and float(v).is_integer():
            return int(v)
        if isinstance(v, str) and v.strip().lstrip("+-").isdigit():
            return int(v)
        raise ValueError

    def bounded(lo: int, hi: int) -> list[int]:
        if hi - lo + 1 > MAX_SEEDS:
            raise ConfigError(f"seeds: {value!r} names {hi - lo + 1:,} seeds; at most "
                              f"{MAX_SEEDS:,} fit one run (split it into several)")
        return list(range(lo, hi + 1))

    try:
        if isinstance(value, range):
            seeds = bounded(value.start, value.stop - 1) if value.step == 1 else [
                one(v) for v in value[: MAX_SEEDS + 1]]
        elif isinstance(value, (list, tuple, np.ndarray)):
            seeds = [one(v) for v in list(value)[: MAX_SEEDS + 1]]
        elif isinstance(value, str):
            text = value.strip()
            if ".." in text:
                lo, hi = text.split("..")
                seeds = bounded(one(lo), one(hi))
            else:
                seeds = [one(v) for v in text.split(",") if v.strip()]
        else:
            seeds = [one(value)]
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(
            f"seeds: cannot read {value!r}; use an inclusive range like 0..99, a list like "
            "0,3,5 or [0, 3, 5], or one integer"
        ) from None
    if not seeds or min(seeds) < 0:
        raise ConfigError(f"seeds: {value!r} must name at least one non-negative seed")
    if len(seeds) > MAX_SEEDS:
        raise ConfigError(f"seeds: more than {MAX_SEEDS:,} seeds; split the run into several")
    if max(seeds) > MAX_SEED:
        raise ConfigError(f"seeds: {max(seeds)} is above the largest seed, {MAX_SEED}")
    seen: set[int] = set()
    for seed in seeds:
        if seed in seen:
            raise ConfigError(f"seeds: seed {seed} is named twice")
        seen.add(seed)
    return seeds


def seeds_label(seeds: Any) -> str:
    """A short label: ``0..99`` for a contiguous range, else the seeds comma-separated.

    Anything but a list of ints (a value saved by an older genloop) is shown as its text.
    """
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) for s in seeds):
        return str(seeds if seeds is not None else "")
    if len(seeds) > 1 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}..{seeds[-1]}"
    text = ",".join(map(str, seeds))
    return text if len(text) <= 60 else f"{text[:57]}..."


# Limits on a recipe document. Recipes are small hand-written files; these bounds turn a
# pathological input (a generated file, a typo in a loop) into one line instead of a
# RecursionError or an allocation failure deep inside PyYAML, deepcopy or numpy.
MAX_RECIPE_BYTES = 1_000_000  # the largest shipped recipe is under 10 kB
MAX_DEPTH = 32  # mappings and lists inside each other; shipped recipes nest at most 5 deep
MAX_NODES = 200_000  # values in one document, counting each expansion of a YAML alias
#: the largest magnitude a number in a recipe may have: beyond it squares and sums of
#: parameters overflow float64 (source.variance=1e300 gave W2 = 0) or sizes cannot fit
MAX_MAGNITUDE = 1e15


class StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also rejects duplicate keys and caps nesting depth.

    Still the safe loader (plain data only, no Python objects): it only adds checks. A
    duplicated key would otherwise let the last value win silently; nesting deeper than
    :data:`MAX_DEPTH` would end in a RecursionError inside PyYAML's recursive composer.
    """

    where = "YAML"

    def compose_node(self, parent, index):
        depth = getattr(self, "_depth", 0)
        if depth >= MAX_DEPTH:
            mark = self.peek_event().start_mark
            raise ConfigError(f"{self.where} nests deeper than {MAX_DEPTH} levels "
                              f"(line {mark.line + 1})")
        self._depth = depth + 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth = depth

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *base` merges; its keys may be overridden on purpose
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    first = seen.get(key)
                    seen[key] = line
                except TypeError:
                    continue  # an unhashable key: SafeLoader names it below
                if first is not None:
                    where = f"lines {first} and {line}" if first != line else f"line {line}"
                    raise ConfigError(f"{self.where}: key {key!r} appears twice ({where}); "
                                      "keep one")
        return super().construct_mapping(node, deep)


def parse_yaml(text: str, where: str = "YAML") -> Any:
    """Parse YAML text with :class:`StrictLoader`; errors name ``where``.

    Raises
    ------
    ConfigError
        Invalid YAML, a duplicate key or nesting deeper than :data:`MAX_DEPTH`.
    """
    try:
        return _load_yaml(text, where)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError(f"cannot read {where}: {first}{line}") from None


def _load_yaml(text: str, where: str) -> Any:
    """One YAML document through :class:`StrictLoader` (syntax errors pass through)."""
    loader = StrictLoader(text)
    loader.where = where
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def read_recipe_text(path: Path) -> str:
    """The text of a recipe file, decoded strictly as UTF-8 (a BOM is allowed).

    Raises
    ------
    ConfigError
        The file cannot be read, is larger than :data:`MAX_RECIPE_BYTES`, or is not UTF-8
        (the message names the byte offset, where replacement characters would hide it).
    """
    try:
        size = path.stat().st_size
        if size > MAX_RECIPE_BYTES:
            raise ConfigError(f"recipe {path} is {size:,} bytes; recipes are at most "
                              f"{MAX_RECIPE_BYTES:,} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read recipe {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"recipe {path} is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start} (save the file as UTF-8)") from None


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for messages that quote user values."""
    import reprlib

    shortener = reprlib.Repr()
    shortener.maxstring = shortener.maxother = limit
    text = shortener.repr(value)
    return text if len(text) <= limit else f"{text[:limit - 3]}..."


def check_document(document: Any, where: str = "recipe") -> None:
    """Check a recipe mapping's shape before anything walks it recursively.

    Without recursion (deep documents are what it guards against), it checks that the
    document nests at most :data:`MAX_DEPTH` levels and holds at most :data:`MAX_NODES`
    values, that every mapping key is text or an integer, and that every number is finite
    and at most :data:`MAX_MAGNITUDE` in size: a NaN weight passes ``sum == 1`` checks
    and ``.inf`` passes ``lr > 0``.

    Raises
    ------
    ConfigError
        Naming the dotted key of the offending value.
    """
    import math

    if isinstance(document, dict) and "seeds" in document:
        # parse_seeds checks seeds (up to MAX_SEEDS of them, more than MAX_NODES): a saved
        # config.yaml lists every seed of a large run, and its resume must not be refused.
        document = {k: v for k, v in document.items() if k != "seeds"}
    stack: list[tuple[Any, str, int]] = [(document, "", 0)]
    nodes = 0
    while stack:
        value, key, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise ConfigError(f"{where} holds more than {MAX_NODES:,} values")
        label = key or where
        if isinstance(value, dict):
            if depth >= MAX_DEPTH:
                raise ConfigError(f"{where}: {label} nests deeper than {MAX_DEPTH} levels")
            for child_key, child in value.items():
                if isinstance(child_key, bool) or not isinstance(child_key, (str, int)):
                    raise ConfigError(f"{where}: key {short(child_key)} in {label} must be a "
                                      "name (quote it to make it text)")
                stack.append((child, f"{key}.{child_key}" if key else str(child_key),
                              depth + 1))
        elif isinstance(value, (list, tuple)):
            if depth >= MAX_DEPTH:
                raise ConfigError(f"{where}: {label} nests deeper than {MAX_DEPTH} levels")
            stack.extend((child, f"{key}[{i}]", depth + 1) for i, child in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"config key {label!r} = {value} is not a finite number")
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and (
                abs(value) > MAX_MAGNITUDE):
            raise ConfigError(f"config key {label!r} = {value:.3g} is out of range: numbers "
                              f"in a recipe are at most {MAX_MAGNITUDE:.0e} in size")


def load_raw(recipe: str | Path) -> dict:
    """Load a recipe by shipped name or by path, as a plain mapping."""
    path = Path(recipe)
    if not (path.suffix in (".yaml", ".yml") and path.exists()):
        recipes = known_recipes()
        if str(recipe) not in recipes:
            if path.suffix in (".yaml", ".yml"):
                raise ConfigError(f"recipe file not found: {path}")
            raise ConfigError(
                f"unknown recipe {str(recipe)!r}; known recipes: {', '.join(recipes)}"
            )
        path = recipes[str(recipe)]
    raw = parse_yaml(read_recipe_text(path), f"recipe {path}")
    if not isinstance(raw, dict):
        raise ConfigError(f"recipe {path} must be a mapping of keys to values")
    raw.setdefault("name", path.stem)
    return raw


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``key.path=value`` and parse the value as a YAML scalar or list."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like key=value (e.g. n=500)")
    key, value = text.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"override {text!r} has an empty key")
    if len(text) > MAX_RECIPE_BYTES:
        raise ConfigError(f"override {key!r} is longer than {MAX_RECIPE_BYTES:,} characters")
    try:
        parsed = _load_yaml(value, f"override {key!r}") if value.strip() else ""
    except yaml.YAMLError:
        parsed = value  # not YAML (e.g. `[red]x[/red]`, a path with a colon): the text itself
    check_document({key: parsed}, "--set")
    return key, parsed


def set_dotted(raw: dict, key: str, value: Any) -> None:
    """Set ``raw[a][b][c] = value`` for ``key = "a.b.c"``, creating mappings as needed."""
    parts = key.split(".")
    node = raw
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"override {key!r}: {part!r} holds a value, not a section")
        node = child
    node[parts[-1]] = value


# Recipe sections that hold one named component: a user who names another component there
# gets a fresh mapping (see swap_components).
COMPONENT_SECTIONS = ("family", "source")


def _accepted_parameters(kind: str, name: Any) -> set[str] | None:
    """The parameters :func:`~genloop.core.registry.bind` lets the component ``name`` take
    (None when the name is unknown: validation names it later, with the known ones)."""
    from genloop.core.registry import init_parameters
    from genloop.core.registry import resolve as resolve_component

    try:
        return set(init_parameters(resolve_component(kind, str(name))))
    except (ConfigError, TypeError, ValueError):
        return None


def swap_components(raw: dict, user: dict[str, Any]) -> dict[str, Any]:
    """Rewrite user overrides that switch a component so that none of the old one leaks in.

    ``--set source.name=file`` (and ``--set 'source={name: file, path: x.csv}'``) mean "use
    this other source". The new section starts from the new mapping and keeps only those
    keys of the recipe's old mapping that the new component accepts too (a ``tokenizer``
    and ``block_size`` that the family needs survive a switch between text sources; a
    ``plays`` list does not reach a ``file`` source). Each kept and dropped key is logged
    on the ``genloop`` logger (the CLI prints it as a note).

    Returns
    -------
    dict
        ``user`` with each switching override replaced by the whole new section.
    """
    import logging

    log = logging.getLogger("genloop")
    out = dict(user)
    for section in COMPONENT_SECTIONS:
        old = raw.get(section)
        old = {"name": old} if isinstance(old, str) else old
        if not isinstance(old, dict):
            continue
        named = f"{section}.name" in user
        if named:
            new = {"name": user[f"{section}.name"]}
        elif isinstance(user.get(section), dict) and "name" in user[section]:
            new = dict(user[section])
        else:
            continue
        if new["name"] == old.get("name") and section not in user:
            continue  # the same component: a plain key change
        accepted = _accepted_parameters(section, new["name"])
        # Keys the user set beside the switch (source.path=...) win over everything.
        extra = {k.split(".", 1)[1]: v for k, v in user.items()
                 if k.startswith(f"{section}.") and k != f"{section}.name"}
        kept, dropped = {}, []
        for key, value in old.items():
            if key == "name" or key in new or key in extra:
                continue
            if accepted is None or key in accepted:
                kept[key] = value
            else:
                dropped.append(key)
        for key in extra:
            out.pop(f"{section}.{key}")
        out.pop(f"{section}.name", None)
        out[section] = {**new, **kept, **extra}
        if kept:
            log.warning("%s %r keeps %s from the recipe's %s %r (set them to change them)",
                        section, new["name"],
                        ", ".join(f"{section}.{k}={v!r}" for k, v in kept.items()),
                        section, old.get("name"))
        if dropped:
            log.warning("%s %r does not take %s of the recipe's %s %r: dropped",
                        section, new["name"], ", ".join(f"{section}.{k}" for k in dropped),
                        section, old.get("name"))
    return out


def apply_overrides(raw: dict, overrides: dict[str, Any] | list[str] | None) -> dict:
    """Return a copy of ``raw`` with dotted overrides applied."""
    out = copy.deepcopy(raw)
    if not overrides:
        return out
    items = overrides.items() if isinstance(overrides, dict) else map(parse_override, overrides)
    for key, value in items:
        set_dotted(out, key, value)
    return out


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """The field names of the (nested) model at ``loc``, for error messages."""
    current: Any = model
    for part in loc[:-1]:
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        annotation = fields[part].annotation
        # Unwrap Optional[...] / unions to the first pydantic model inside.
        candidates = getattr(annotation, "__args__", (annotation,))
        current = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if current is None:
            return []
    return sorted(getattr(current, "model_fields", {}))


def format_validation_error(exc: ValidationError, model: type[BaseModel], prefix: str = "") -> str:
    """Turn pydantic's report into one line that names the key and what is allowed."""
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not isinstance(p, int))
    key = prefix + ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(model, loc)
        return f"unknown config key {key!r}; allowed keys here: {', '.join(allowed)}"
    if err["type"] == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"config key {key!r} = {err.get('input')!r} is not allowed; allowed: {expected}"
    if not loc:  # a check across several keys: its message names them
        return str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "missing":
        return f"config key {key!r} is required"
    return f"config key {key!r}: {err['msg']} (got {err.get('input')!r})"


def validate_bench_config(raw_bench: dict, model: type[BaseModel]) -> BaseModel:
    """Validate the bench's part of a recipe, translating errors to :class:`ConfigError`."""
    try:
        return model.model_validate(raw_bench)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, model)) from None


def _overrides_section(raw: dict, key: str, what: str | None = None) -> dict:
    """``raw[key]`` checked to be a mapping of dotted keys to values (``{}`` when empty).

    ``quick:`` and each variant hold such overrides; anything else (``quick: [1, 2]``,
    ``variants.mle=5``) is a one-line error instead of a TypeError later.
    """
    section = raw.get(key)
    what = what or key
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigError(f"{what} must map dotted config keys to values "
                          f"(e.g. {{n: 100}}), got {short(section)}")
    for name in section:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{what}: key {short(name)} must be a dotted config key "
                              "(text, e.g. mixing.policy)")
    return section


def resolve(
    recipe: str | Path | dict,
    *,
    overrides: dict[str, Any] | list[str] | None = None,
    quick: bool = False,
    seeds: Any = None,
    variants: list[str] | None = None,
    expand_grid: bool = True,
) -> Recipe:
    """Load, override and validate a recipe.

    Parameters
    ----------
    recipe : str, Path or dict
        A shipped recipe name, a YAML path, or an already loaded mapping.
    overrides : dict or list of "key=value", optional
        Applied after the recipe's ``quick`` overrides (when ``quick``).
    quick : bool
        Apply the recipe's ``quick`` section first: a small version that runs in seconds.
    seeds : optional
        Replaces the recipe's ``seeds`` (same syntax).
    variants : list of str, optional
        Run only these of the recipe's variants.
    expand_grid : bool
        Cross the recipe's ``grid:`` with its variants (what ``genloop run`` does). A
        sweep passes ``False`` and gives each grid point's values as overrides instead.

    Returns
    -------
    Recipe
    """
    from genloop.core.registry import resolve as resolve_component

    if isinstance(recipe, dict):
        check_document(recipe)  # before deepcopy, which recurses
        raw = copy.deepcopy(recipe)
    else:
        raw = load_raw(recipe)
        check_document(raw, f"recipe {recipe}")
    quick_changes = _overrides_section(raw, "quick")  # checked even when not applied
    if quick:
        raw = apply_overrides(raw, quick_changes)
    # User overrides win over everything, variants included: apply them to the base now
    # and again after each variant's own changes below.
    user = dict(map(parse_override, overrides)) if isinstance(overrides, list) else dict(
        overrides or {}
    )
    check_document(user, "overrides")
    user = swap_components(raw, user)
    raw = apply_overrides(raw, user)
    if seeds is not None:
        raw["seeds"] = seeds
    _overrides_section(raw, "quick")  # --set quick=... too
    bench_name = raw.get("bench", "collapse")
    if not isinstance(bench_name, str):
        raise ConfigError(f"bench must name a bench (text, e.g. collapse), got "
                          f"{short(bench_name)}")
    bench = resolve_component("bench", bench_name)
    base = {k: v for k, v in raw.items() if k not in COMMON_KEYS}
    variants_raw = raw.get("variants") or {"default": {}}
    if not isinstance(variants_raw, dict):
        raise ConfigError(f"variants must map a variant name to its overrides, got "
                          f"{short(variants_raw)}")
    for name in variants_raw:
        _overrides_section(variants_raw, name, f"variant {name!r}")
    if variants:
        unknown = [v for v in variants if v not in variants_raw]
        if unknown:
            raise ConfigError(
                f"unknown variant {unknown[0]!r}; this recipe's variants: "
                f"{', '.join(map(str, variants_raw))}"
            )
        variants_raw = {v: variants_raw[v] for v in variants}
        raw["variants"] = variants_raw
    bench_keys = {k: v for k, v in user.items() if k.split(".")[0] not in COMMON_KEYS}
    grid = grid_points(raw.get("grid"), pinned=set(user)) if expand_grid else []
    if grid:
        variants_raw = cross_grid(variants_raw, grid)
        raw["variants"] = variants_raw
    raw.pop("grid", None)  # expanded above or handled by the sweep: never saved twice
    if raw.get("variants"):
        # Saved with the run, so that --resume rebuilds exactly these configs.
        variants_raw = {v: dict(c or {}) | bench_keys for v, c in variants_raw.items()}
        raw["variants"] = variants_raw
    name = check_name("name", raw.get("name", "recipe"))
    variants = {}
    for variant, changes in variants_raw.items():
        check_name("variants", variant)  # a variant name is part of its units' file names
        merged = apply_overrides(base, changes or {})
        variants[str(variant)] = validate_bench_config(merged, bench.config_model)
    resolved_raw = {k: raw[k] for k in COMMON_KEYS if k in raw and k != "quick"} | base
    seed_list = parse_seeds(raw.get("seeds", 0))
    # A plain list of ints: YAML writes and reads it back exactly (config.yaml, --resume).
    resolved_raw["seeds"] = seed_list
    return Recipe(
        name=name,
        description=str(raw.get("description", "")),
        bench=bench_name,
        seeds=seed_list,
        variants=variants,
        raw=resolved_raw,
    )


#: grid points one run or sweep may hold: each is validated and gets its own run directory
MAX_GRID_POINTS = 10_000


def grid_points(grid: Any, pinned: set[str] = frozenset()) -> list[dict[str, Any]]:
    """The cartesian product of a ``grid:`` mapping (dotted key -> list of values).

    Keys in ``pinned`` (set by the user with ``--set``) are left out: the user's value wins.
    Returns ``[]`` when there is no grid.
    """
    import itertools
    import math

    if not grid:
        return []
    if not isinstance(grid, dict) or not all(isinstance(v, list) and v for v in grid.values()):
        raise ConfigError("grid must map a dotted config key to a non-empty list of values")
    for key in grid:
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(f"grid: key {short(key)} must be a dotted config key (text)")
    keys = [k for k in grid if k not in pinned]
    values = [grid[k] for k in keys]
    # Sized before it is built: a 2,000,000-point product would take minutes to validate.
    points = math.prod(len(v) for v in values)
    if points > MAX_GRID_POINTS:
        raise ConfigError(f"grid has {points:,} points; at most {MAX_GRID_POINTS:,} fit one "
                          "run or sweep (split it into several)")
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values)] if keys \
        else []


def grid_label(point: dict[str, Any]) -> str:
    """A file-name-safe label of a grid point's values, e.g. ``replace`` or ``replace-100``."""
    import re

    return "-".join(re.sub(r"[^A-Za-z0-9_.]+", "_", str(v)).strip("_") or "_"
                    for v in point.values())


def cross_grid(variants_raw: dict, grid: list[dict[str, Any]]) -> dict:
    """Every variant × grid point as a variant of its own, named ``<variant>-<values>``."""
    crossed = {}
    for variant, changes in variants_raw.items():
        for point in grid:
            name = grid_label(point) if variant == "default" else f"{variant}-{grid_label(point)}"
            if name in crossed:
                raise ConfigError(f"grid values give the variant name {name!r} twice; "
                                  "use values that differ in letters or digits")
            crossed[name] = dict(changes or {}) | point
    return crossed


def recipe_description(path: Path) -> str:
    """The one-line description of a shipped recipe (empty when absent or unreadable)."""
    try:
        raw = parse_yaml(read_recipe_text(path)) or {}
    except ConfigError:
        return ""
    return str(raw.get("description", "")) if isinstance(raw, dict) else ""
