"""Generic layers call bench hooks: no module outside a bench's folder tests a bench's name.

The check parses every module of the package outside ``collapse/``, ``seek/`` and
``dynamics/`` and flags comparisons (``==``, ``!=``, ``in``, ``not in``) and ``match``
cases whose string constants name a registered bench. Naming a bench as data is fine (the
registry's table, the default ``bench:`` of a recipe, the audit's own collapse recipe);
branching on one is not. On the code before the redesign it flagged six lines (the API's
theory and checks, the report's theory curves and checks, the sweep's theory column).
"""

from __future__ import annotations

import ast
from pathlib import Path

from genloop.core.registry import BENCHES

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "genloop"
BENCH_FOLDERS = {PACKAGE / "collapse", PACKAGE / "seek", PACKAGE / "dynamics"}


def _names_in(node) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value} & set(BENCHES)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return set().union(*(_names_in(element) for element in node.elts))
    return set()


def bench_name_tests(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            if _names_in(node.left).union(*(_names_in(c) for c in node.comparators)):
                lines.append(node.lineno)
        elif isinstance(node, ast.MatchValue) and _names_in(node.value):
            lines.append(node.lineno)
    return lines


def test_the_check_sees_a_bench_name_test():
    assert bench_name_tests(ast.parse("if recipe.bench != 'collapse': pass")) == [1]
    assert bench_name_tests(ast.parse("x = recipe.bench in ('seek', 'dynamics')")) == [1]
    assert bench_name_tests(ast.parse("bench = raw.get('bench', 'collapse')")) == []


def test_no_generic_module_tests_a_bench_name():
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if any(folder in path.parents for folder in BENCH_FOLDERS):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        offences += [f"{path.relative_to(PACKAGE.parent)}:{line}" for line in bench_name_tests(tree)]
    assert not offences, "bench names tested outside the bench folders:\n" + "\n".join(offences)
