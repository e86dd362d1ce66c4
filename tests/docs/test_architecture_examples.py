"""docs/architecture.md's "how to add …" worked examples run as written.

Every ``python`` code block under a ``### Add …`` heading is one example (several blocks
under one heading run in order, in one namespace); an example whose first line is
``# continues: <heading>`` runs after that example's code. Each runs in a fresh working
directory with the component registries (and fast paths) restored afterwards, so an
example cannot leak its registrations into other tests. The examples carry their own assertions (e.g. that
the Laplace refits shrink the spread) — a failing assertion fails here.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def examples() -> dict[str, str]:
    """``{heading: code}`` for every ``### Add …`` section of the page."""
    found: dict[str, list[str]] = {}
    heading = None
    in_block = False
    lines: list[str] = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not in_block and line.startswith("#"):
            match = re.match(r"###\s+(Add .*)", line)
            heading = match.group(1).strip() if match else None
        elif line.startswith("```python") and heading:
            in_block, lines = True, []
        elif line.startswith("```") and in_block:
            in_block = False
            found.setdefault(heading, []).append("\n".join(lines))
        elif in_block:
            lines.append(line)
    joined = {name: "\n\n".join(blocks) for name, blocks in found.items()}
    for name, code in joined.items():
        match = re.match(r"# continues: (.+)", code)
        if match:
            joined[name] = joined[match.group(1).strip()] + "\n\n" + code
    return joined


def test_the_page_has_the_four_worked_examples():
    names = " | ".join(examples())
    for what in ("family", "fast path", "filter", "bench"):
        assert what in names, f"docs/architecture.md lacks the '### Add a {what}' example"


@pytest.mark.parametrize("name", sorted(examples()))
def test_worked_example_runs(name, tmp_path, monkeypatch):
    from genloop.collapse.fast import simulator
    from genloop.core import registry

    saved = copy.deepcopy(registry._KINDS)
    saved_simulators = list(simulator._SIMULATORS)
    monkeypatch.chdir(tmp_path)
    try:
        exec(compile(examples()[name], f"docs/architecture.md [{name}]", "exec"),
             {"__name__": "architecture_example"})
    finally:
        for kind, table in saved.items():
            registry._KINDS[kind].clear()
            registry._KINDS[kind].update(table)
        simulator._SIMULATORS[:] = saved_simulators
