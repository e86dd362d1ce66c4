"""Fuzzing the input boundary: only genloop's own errors may escape (issue 15).

Hypothesis feeds the recipe loader, the ``--set`` parser, the data readers
(:mod:`genloop.data.files`, :mod:`genloop.data.text`) and the audit inputs
(:mod:`genloop.audit.inputs`) with random text and bytes, random YAML documents and
mutations of a valid recipe and of valid data files. Whatever they are given, they either
succeed or raise :class:`~genloop.core.errors.GenloopError` (one line for the CLI): a
``TypeError``, ``RecursionError``, ``MemoryError`` or ``LinAlgError`` escaping is a bug.

The default tier runs each target a fixed, derandomized number of times (600 cases in
all, about 7 s); the slow tier runs 6,000 fresh random cases (about 2 minutes).
"""

from __future__ import annotations

import inspect
import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genloop.core.errors import GenloopError

TINY = {
    "name": "tiny",
    "bench": "collapse",
    "seeds": "0..1",
    "family": {"name": "gaussian"},
    "source": {"name": "gaussian", "dim": 1},
    "n": 20,
    "generations": 2,
    "holdout": 20,
    "metrics": ["log_variance"],
}
KEYS = ["name", "bench", "seeds", "quick", "variants", "grid", "n", "generations",
        "holdout", "family", "family.name", "source", "source.dim", "source.variance",
        "source.name", "mixing", "mixing.policy", "mixing.alpha", "mixing.budget",
        "metrics", "engine", "checkpoint_seconds", "variants.a", "quick.n", "grid.n"]

FOLDER = Path(tempfile.mkdtemp(prefix="genloop-fuzz-"))


def expect_only_genloop_errors(call, *args, **kwargs):
    """Run ``call``; a GenloopError is a fine outcome, any other exception fails."""
    try:
        return call(*args, **kwargs)
    except GenloopError as error:
        assert str(error).strip(), "an error message must say something"
        assert "\n" not in str(error).strip(), f"not one line: {error}"
        return None


# --- strategies -----------------------------------------------------------------------------

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["replace", "mix", "gaussian", "gmm", "0..3", "[red]x[/red]", "1e300",
                     "accumulate_subsample", "exact", "batched", "samples", "{}", "[]"]),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6), st.integers()),
                        children, max_size=4),
    ),
    max_leaves=20,
)
yaml_fragments = st.sampled_from(
    ["a: 1\n", "a: 1\na: 2\n", "[" * 40, "{" * 40, "- " * 40 + "x", "&a [*a]", "!!python/object:os.system\n",
     "? [1, 2]\n: x\n", "n: .nan\n", "n: .inf\n", "quick: {null: 5}\n", "variants: 5\n",
     "\t", "\x00", "\ufeff", "%YAML 1.1\n---\n", "--- |\n  x\n", "<<: {a: 1}\n", "'", '"\\x'])


def recipe_texts():
    """Valid recipes, mutated: keys replaced, values swapped, YAML fragments spliced in."""
    mutated = st.builds(lambda changes: yaml.safe_dump({**TINY, **changes}),
                        st.dictionaries(st.sampled_from(KEYS), documents, max_size=3))
    spliced = st.builds(lambda base, cut, frag: base[:cut] + frag + base[cut:],
                        st.just(yaml.safe_dump(TINY)), st.integers(0, 200), yaml_fragments)
    return st.one_of(mutated, spliced, st.text(max_size=200),
                     st.lists(yaml_fragments, max_size=6).map("".join))


def override_texts():
    return st.one_of(
        st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KEYS),
                  st.one_of(st.text(max_size=20), yaml_fragments,
                            documents.map(lambda d: yaml.safe_dump(d, default_flow_style=True)
                                          .strip()))),
        st.text(max_size=30),
    )


def csv_texts():
    cell = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                     st.integers(-5, 5).map(str), st.text(max_size=4), st.just(""))
    rows = st.lists(st.lists(cell, min_size=1, max_size=4), min_size=1, max_size=8)
    return st.one_of(
        st.builds(lambda rows, sep: "\n".join(sep.join(r) for r in rows),
                  rows, st.sampled_from([",", ";", "\t", "|", " "])),
        st.text(max_size=200),
    )


def npy_bytes():
    arrays = st.one_of(
        st.lists(st.floats(allow_nan=True), max_size=20).map(np.array),
        st.lists(st.lists(st.integers(-3, 3), min_size=2, max_size=2), max_size=10)
        .map(lambda v: np.array(v, dtype=np.int64)),
        st.lists(st.text(max_size=3), max_size=10).map(np.array),
    )

    def save(array, cut, shape):
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        data = buffer.getvalue()
        if shape is not None:  # a header lying about the shape
            data = data.replace(repr(array.shape).encode(), repr(shape).encode(), 1)
        return data[:cut] if cut else data

    shapes = st.one_of(st.none(), st.tuples(st.integers(0, 10**12)),
                       st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)))
    return st.one_of(st.builds(save, arrays, st.integers(0, 300), shapes), st.binary(max_size=200))


# --- targets --------------------------------------------------------------------------------


def check_recipe_text(text):
    from genloop.core.config import resolve

    path = FOLDER / "recipe.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    expect_only_genloop_errors(resolve, path)
    expect_only_genloop_errors(resolve, path, quick=True, expand_grid=False)


def check_recipe_mapping(changes):
    from genloop.core.config import resolve

    expect_only_genloop_errors(resolve, {**TINY, **changes})


def check_override(texts):
    from genloop.core.config import parse_override, resolve

    for text in texts:
        expect_only_genloop_errors(parse_override, text)
    expect_only_genloop_errors(resolve, dict(TINY), overrides=list(texts))


def check_table_file(data: bytes, suffix: str, kind: str):
    from genloop.data.files import FileSource

    path = FOLDER / f"data{suffix}"
    path.write_bytes(data)
    expect_only_genloop_errors(FileSource, str(path), kind=kind)


def check_audit_file(data: bytes, suffix: str):
    from genloop.audit.inputs import load_input

    path = FOLDER / f"audit{suffix}"
    path.write_bytes(data)
    expect_only_genloop_errors(load_input, str(path), role="real")


def check_audit_object(obj, kind):
    from genloop.audit.inputs import load_input

    expect_only_genloop_errors(load_input, obj, kind=kind, role="synthetic")


def parquet_bytes(columns: dict) -> bytes:
    import pandas as pd

    buffer = io.BytesIO()
    try:
        pd.DataFrame(columns).to_parquet(buffer)
    except Exception:  # a frame pandas cannot save is not an input anyone can give us
        return b"PAR1"
    return buffer.getvalue()


parquet_columns = st.dictionaries(
    st.text(min_size=1, max_size=4),
    st.one_of(st.lists(st.floats(allow_nan=True), min_size=3, max_size=3),
              st.lists(st.text(max_size=3), min_size=3, max_size=3),
              st.lists(st.lists(st.integers(0, 3), max_size=2), min_size=3, max_size=3)),
    min_size=1, max_size=3,
)
audit_objects = st.one_of(
    st.lists(st.text(max_size=8), max_size=10),
    st.lists(st.floats(allow_nan=True), max_size=10).map(np.array),
    st.lists(st.lists(st.floats(allow_nan=True), min_size=2, max_size=2), max_size=10)
    .map(np.array),
    documents,
)
TARGETS = {
    "recipe-text": (given(st.one_of(recipe_texts(), st.binary(max_size=200))),
                    check_recipe_text, 100),
    "recipe-mapping": (given(st.dictionaries(st.sampled_from(KEYS), documents, max_size=4)),
                       check_recipe_mapping, 100),
    "override": (given(st.lists(override_texts(), min_size=1, max_size=3)), check_override,
                 100),
    "csv": (given(csv_texts().map(lambda t: t.encode("utf-8", "surrogatepass")),
                  st.just(".csv"), st.sampled_from(["vectors", "categorical"])),
            check_table_file, 80),
    "npy": (given(npy_bytes(), st.just(".npy"), st.sampled_from(["vectors", "categorical"])),
            check_table_file, 60),
    "parquet": (given(st.one_of(parquet_columns.map(parquet_bytes), st.binary(max_size=100)),
                      st.just(".parquet"), st.sampled_from(["vectors", "categorical"])),
                check_table_file, 40),
    "audit-file": (given(st.one_of(csv_texts().map(str.encode), st.binary(max_size=200),
                                   st.text(max_size=100).map(
                                       lambda t: t.encode("utf-8", "surrogatepass"))),
                         st.sampled_from([".csv", ".txt", ".jsonl", ".npy", ".tsv"])),
                   check_audit_file, 80),
    "audit-object": (given(audit_objects, st.sampled_from(["auto", "vectors", "categorical",
                                                           "text"])),
                     check_audit_object, 40),
}


def fuzz(name: str, scale: int, derandomize: bool) -> int:
    """Run target ``name`` on ``scale`` times its example count; returns the cases run."""
    strategy, target, examples = TARGETS[name]
    calls = []

    def counted(*args):
        calls.append(1)
        target(*args)

    counted.__signature__ = inspect.signature(target)
    test = settings(max_examples=examples * scale, deadline=None, database=None,
                    derandomize=derandomize, print_blob=True,
                    suppress_health_check=list(HealthCheck))(strategy(counted))
    test()
    # Hypothesis stops early when a strategy runs out of distinct inputs: that would be a
    # weak strategy, not a pass.
    assert len(calls) >= examples * scale, (name, len(calls))
    return len(calls)


@pytest.mark.parametrize("name", TARGETS)
def test_fuzz(name):
    fuzz(name, scale=1, derandomize=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", TARGETS)
def test_fuzz_many(name):
    fuzz(name, scale=10, derandomize=False)


def test_the_fuzz_counts_hold():
    # >= 500 cases in the default tier, >= 5,000 in the slow one (each target asserts that
    # it ran its count).
    assert sum(n for *_, n in TARGETS.values()) >= 500
    assert sum(n for *_, n in TARGETS.values()) * 10 >= 5000
