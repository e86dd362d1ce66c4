"""Task spaces: programs built from recipe specs, with one common layout.

A recipe's ``task_space:`` is either a list of program specs
(``{"kind": "arithmetic", "base": 5, "n_digits": 3}``) or a grid per kind
(``{"arithmetic": {"bases": [3, 5], "n_digits": [1, 2, 3]}}``); :func:`build_task_space`
turns it into :class:`~genloop.seek.tasks.TaskProgram` objects that share one
input/output layout, so one learner can train on the whole space;
:func:`hardest_programs` names the targets a curriculum is measured on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from genloop.core.errors import ConfigError
from genloop.seek.tasks import (
    Layout,
    TaskProgram,
    arithmetic,
    modular,
    noisy,
    random_targets,
    sequence,
)

BUILDERS = {"arithmetic": arithmetic, "modular": modular, "sequence": sequence}


def make_program(spec: Mapping, layout: Layout | None = None) -> TaskProgram:
    """Build one program from a spec such as ``{"kind": "arithmetic", "n_digits": 3}``.

    ``kind`` is ``arithmetic``, ``modular``, ``sequence``, ``random_targets`` (with
    ``like:`` a spec) or ``noisy`` (with ``program:`` a spec and ``flip_rate``).
    """
    spec = dict(spec)
    kind = spec.pop("kind", None)
    if kind == "random_targets":
        return random_targets(make_program(spec.get("like", {}), layout))
    if kind == "noisy":
        inner = make_program(spec.get("program", {}), layout)
        return noisy(inner, spec.get("flip_rate", 0.3))
    if kind not in BUILDERS:
        allowed = ", ".join([*BUILDERS, "random_targets", "noisy"])
        raise ConfigError(f"task kind={kind!r}; allowed: {allowed}")
    try:
        return BUILDERS[kind](**spec, layout=layout)
    except TypeError as error:
        raise ConfigError(f"task spec {dict(kind=kind, **spec)}: {error}") from None


def _grid_specs(space: Mapping) -> list[dict]:
    """Expand the grid sections of a task-space spec into program specs."""
    specs: list[dict] = []
    grids = {
        "arithmetic": (("ops", "op", ["+"]), ("bases", "base", [10]),
                       ("n_digits", "n_digits", [3])),
        "modular": (("ps", "p", [97]), ("ops", "op", ["+"])),
        "sequence": (("tasks", "task", ["copy"]), ("lengths", "length", [5])),
    }
    for kind, axes in grids.items():
        section = space.get(kind)
        if not section:
            continue
        if not isinstance(section, Mapping) or not all(
                isinstance(v, list) for v in section.values()):
            axes_text = ", ".join(axis for axis, _, _ in axes)
            raise ConfigError(f"task_space.{kind} must map axes ({axes_text}) to lists, "
                              f"got {section!r}")
        unknown = set(section) - {axis for axis, _, _ in axes}
        if unknown:
            raise ConfigError(f"task_space.{kind} has unknown keys {sorted(unknown)}")
        combos: list[dict] = [{"kind": kind}]
        for axis, param, default in axes:
            combos = [{**c, param: v} for c in combos for v in section.get(axis, default)]
        specs.extend(combos)
    return specs


def _layout_for(specs: list[dict]) -> Layout:
    """The slot widths that fit every spec (looking inside random/noisy wrappers)."""
    plain = []
    for spec in specs:
        while spec.get("kind") in ("random_targets", "noisy"):
            spec = spec.get("like") or spec.get("program") or {}
        plain.append(spec)
    arith = [s.get("n_digits", 3) for s in plain if s.get("kind") == "arithmetic"]
    mods = [len(str(s.get("p", 97))) for s in plain if s.get("kind") == "modular"]
    seqs = [s.get("length", 5) for s in plain if s.get("kind") == "sequence"]
    layout = Layout(max(arith, default=0), max(mods, default=0), max(seqs, default=0))
    programs = [make_program(s, layout) for s in plain]
    return replace(
        layout,
        input_len=max(p.input_len for p in programs),
        output_len=max(p.output_len for p in programs),
    )


def _spec_list(space: Mapping, key: str) -> list[dict]:
    """``space[key]`` as a list of program specs (mappings), each copied."""
    entries = space.get(key) or []
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        where = key if key == "task_space" else f"task_space.{key}"
        raise ConfigError(f"{where} must be a list of program specs (mappings such as "
                          f"{{kind: arithmetic, n_digits: 2}}), got {entries!r}")
    return [dict(e) for e in entries]


def build_task_space(spec) -> list[TaskProgram]:
    """Build a task space from a recipe section: common input/output lengths across it.

    Parameters
    ----------
    spec : mapping, list of mappings, or pydantic model
        Either a list of program specs (see :func:`make_program`) or a mapping with any of
        the grids ``arithmetic: {ops, bases, n_digits}``, ``modular: {ps, ops}``,
        ``sequence: {tasks, lengths}``, an explicit ``programs:`` list, and
        ``random_targets:`` / ``noisy:`` lists of specs to add as unlearnable / noisy
        programs (a noisy entry is a spec with an extra ``flip_rate``).

    Returns
    -------
    list of TaskProgram
        Unique names, all with the same ``input_len`` and ``output_len``.
    """
    if hasattr(spec, "model_dump"):
        spec = spec.model_dump(exclude_none=True)
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"arithmetic", "modular", "sequence", "programs"}
        unknown -= {"random_targets", "noisy"}
        if unknown:
            raise ConfigError(f"task_space has unknown keys {sorted(unknown)}")
        specs = _grid_specs(spec) + _spec_list(spec, "programs")
        unlearnable = _spec_list(spec, "random_targets")
        specs += [{"kind": "random_targets", "like": s} for s in unlearnable]
        for entry in _spec_list(spec, "noisy"):
            rate = entry.pop("flip_rate", 0.3)
            specs.append({"kind": "noisy", "flip_rate": rate, "program": entry})
    else:
        specs = _spec_list({"task_space": spec}, "task_space")
    if not specs:
        raise ConfigError("task_space is empty; give at least one program")
    layout = _layout_for(specs)
    programs = [make_program(s, layout) for s in specs]
    names = [p.name for p in programs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"task_space lists {duplicates} more than once")
    return programs


# The target programs of a space live here, beside the space, so that the curriculum's
# config can check target names when a recipe loads without importing the curriculum loop
# (which imports the config).


def _depth(program: TaskProgram) -> int:
    """Digits (arithmetic) or symbols (sequence) of a program; 0 for modular programs."""
    params = program.params
    while params.get("kind") in ("random_targets", "noisy"):
        params = params.get("like") or params.get("program")
    return int(params.get("n_digits", params.get("length", 0)))


def hardest_programs(space: list[TaskProgram], names: list[str] | None) -> list[int]:
    """Indices of the target programs: ``names``, or the noise-free learnable programs
    with the most digits (or symbols)."""
    index = {p.name: i for i, p in enumerate(space)}
    if names:
        unknown = [n for n in names if n not in index]
        if unknown:
            raise ConfigError(f"curriculum.hardest names unknown programs {unknown}; "
                              f"the space has {sorted(index)}")
        return [index[n] for n in names]
    clean = [i for i, p in enumerate(space) if p.learnable and p.flip_rate == 0]
    if not clean:
        raise ConfigError("curriculum.task_space has no noise-free learnable program")
    deepest = max(_depth(space[i]) for i in clean)
    return [i for i in clean if _depth(space[i]) == deepest]
