"""Audit inputs (tier 1): kind inference, validation, one-line errors naming the input."""

import json

import numpy as np
import pandas as pd
import pytest

from genloop.audit.inputs import check_compatible, load_input
from genloop.core.errors import ConfigError, DataError


def write_csv(path, frame):
    frame.to_csv(path, index=False)
    return path


def test_kinds_are_inferred_from_files(tmp_path):
    numbers = write_csv(tmp_path / "v.csv", pd.DataFrame({"a": [1.5, 2.0], "b": [3, 4]}))
    states = write_csv(tmp_path / "c.csv", pd.DataFrame({"state": [0, 3, 3]}))
    labels = write_csv(tmp_path / "l.csv", pd.DataFrame({"breed": ["pug", "beagle", "pug"]}))
    texts = write_csv(tmp_path / "t.csv",
                      pd.DataFrame({"review": ["a fine day out", "not good at all"]}))
    (tmp_path / "lines.txt").write_text("first record here\n\nsecond one\n")
    (tmp_path / "rows.jsonl").write_text(
        "\n".join(json.dumps({"text": t}) for t in ["one line", "two\nlines"]))
    np.save(tmp_path / "m.npy", np.zeros((3, 2)))

    vectors = load_input(numbers)
    assert vectors.kind == "vectors" and vectors.columns == ["a", "b"]
    assert vectors.rows.tolist() == [[1.5, 3.0], [2.0, 4.0]]
    categorical = load_input(states)
    assert categorical.kind == "categorical" and categorical.rows.tolist() == ["0", "3", "3"]
    assert load_input(labels).rows.tolist() == ["pug", "beagle", "pug"]
    assert load_input(texts).kind == "text"
    lines = load_input(tmp_path / "lines.txt")
    assert lines.kind == "text" and lines.rows.tolist() == ["first record here", "second one"]
    assert load_input(tmp_path / "rows.jsonl").rows.tolist() == ["one line", "two\nlines"]
    assert load_input(tmp_path / "m.npy").rows.shape == (3, 2)


def test_in_memory_inputs_and_pools():
    pool = pd.DataFrame({"sample_id": ["s0", "s1"], "origin": ["real", "gen:1"],
                         "x0": [0.0, 1.0], "x1": [2.0, 3.0]})
    data = load_input(pool)
    assert data.kind == "vectors" and data.columns == ["x0", "x1"]
    text_pool = pd.DataFrame({"sample_id": ["s0"], "origin": ["real"], "tokens": [[1, 2]],
                              "text": ["to be or not"]})
    assert load_input(text_pool).rows.tolist() == ["to be or not"]
    assert load_input(["a b c", "d e"]).kind == "text"
    assert load_input(np.array([2, 2, 5])).kind == "categorical"
    assert load_input(np.ones((4, 3))).kind == "vectors"
    assert load_input(["x", "y"], kind="categorical").rows.tolist() == ["x", "y"]


def test_label_column_is_set_aside():
    frame = pd.DataFrame({"p0": [0.0, 1.0, 0.5], "digit": [3, 7, 3]})
    data = load_input(frame, label_column="digit")
    assert data.columns == ["p0"] and data.labels.tolist() == ["3", "7", "3"]
    # An input without the label column simply has no labels.
    assert load_input(frame[["p0"]], label_column="digit").labels is None


@pytest.mark.parametrize("content, message", [
    ("", "empty"),
    ("a,b\n", "no data rows"),
])
def test_empty_files_are_named(tmp_path, content, message):
    path = tmp_path / "empty.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message) as error:
        load_input(path, role="synthetic")
    assert "empty.csv" in str(error.value) and "\n" not in str(error.value)


def test_mixed_kinds_in_one_file(tmp_path):
    path = write_csv(tmp_path / "mixed.csv", pd.DataFrame({"a": [1, 2], "name": ["x", "y"]}))
    with pytest.raises(DataError, match="mixes kinds: numeric columns a and text columns name"):
        load_input(path, role="real")


def test_mismatched_and_mixed_inputs(tmp_path):
    real = load_input(pd.DataFrame({"a": [1.0, 2.0], "b": [0.0, 1.0]}), role="real")
    other = load_input(pd.DataFrame({"a": [1.0], "c": [0.0]}), role="synthetic")
    with pytest.raises(DataError, match="lacks b and has c"):
        check_compatible(real, other, "synthetic")
    narrow = load_input(np.ones((2, 1)), role="synthetic")
    with pytest.raises(DataError, match="has 2 columns, synthetic data .* has 1"):
        check_compatible(real, narrow, "synthetic")
    texts = load_input(["some words here"], role="synthetic")
    with pytest.raises(DataError, match="mixed kinds: real data .* vectors .* text"):
        check_compatible(real, texts, "synthetic")
    # Same names in another order are reordered; positional names match by position.
    swapped = load_input(pd.DataFrame({"b": [5.0], "a": [7.0]}))
    assert check_compatible(real, swapped, "synthetic").rows.tolist() == [[7.0, 5.0]]
    assert check_compatible(real, load_input(np.ones((1, 2))), "synthetic").rows.shape == (1, 2)


def test_bad_specs(tmp_path):
    with pytest.raises(ConfigError, match="kind must be one of"):
        load_input(["a"], kind="images")
    with pytest.raises(ConfigError, match="run:RUN_DIR@GENERATION"):
        load_input("run:/somewhere")
    with pytest.raises(DataError, match="not found: .*nope.csv"):
        load_input(tmp_path / "nope.csv")
    (tmp_path / "data.xlsx").write_text("x")
    with pytest.raises(ConfigError, match="extension '.xlsx'"):
        load_input(tmp_path / "data.xlsx")
    with pytest.raises(DataError, match="holds text data, not vectors"):
        load_input(["a b c"], kind="vectors")


def test_hf_text_is_one_record_per_line(monkeypatch):
    import genloop.data.text as text

    # A stand-in for the hub: the loader joins a dataset's text column with newlines.
    monkeypatch.setattr(text, "_read_hf", lambda spec, split: {split: "first row\n\nsecond"})
    data = load_input("hf:some/dataset")
    assert data.kind == "text" and data.rows.tolist() == ["first row", "second"]

