"""One mixing policy object: no source line outside collapse/policy.py tests a policy's name.

Every path asks :class:`genloop.collapse.policy.MixingPolicy` (``accumulates``,
``draws_fresh``, ``budget``, the counts) instead. The check parses every module of the
package and flags comparisons (``==``, ``!=``, ``in``, ``not in``), ``match`` cases and
``str.startswith`` calls whose string constants name a mixing policy. On the code before
the redesign it flagged 37 lines (the fast paths, the loop, the audit's ``--mix`` parser,
the theory hook and seek's self-training).
"""

from __future__ import annotations

import ast
from pathlib import Path

from genloop.collapse.policy import POLICY_NAMES

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "genloop"
HOME = PACKAGE / "collapse" / "policy.py"
PREFIXES = ("accumulate",)  # `name.startswith("accumulate")` is a name test too


def _names_in(node) -> set[str]:
    """Policy names among the string constants of an expression (tuples, lists, sets)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value} & set(POLICY_NAMES)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return set().union(*(_names_in(element) for element in node.elts))
    return set()


def policy_name_tests(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            names = _names_in(node.left).union(*(_names_in(c) for c in node.comparators))
            if names:
                found.append((node.lineno, ", ".join(sorted(names))))
        elif isinstance(node, ast.match_case):
            for sub in ast.walk(node.pattern):
                if isinstance(sub, ast.MatchValue) and _names_in(sub.value):
                    found.append((sub.lineno, ", ".join(sorted(_names_in(sub.value)))))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "startswith" and node.args
              and isinstance(node.args[0], ast.Constant)
              and str(node.args[0].value).startswith(PREFIXES)):
            found.append((node.lineno, f"startswith({node.args[0].value!r})"))
    return found


def test_the_check_sees_a_policy_name_test():
    code = "if config.mixing.policy == 'fresh' or plan.policy.startswith('accumulate'): pass"
    assert len(policy_name_tests(ast.parse(code))) == 2
    assert policy_name_tests(ast.parse("x = {'replace': 1}['replace']")) == []


def test_no_module_outside_policy_compares_a_policy_name():
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == HOME:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, what in policy_name_tests(tree):
            offences.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {what}")
    assert not offences, "mixing-policy names tested outside collapse/policy.py:\n" + "\n".join(
        offences)
