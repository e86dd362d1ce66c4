"""FileSource: CSV/NPY/Parquet round trips, finite-draw contract, one-line errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genloop.core.errors import ConfigError, DataError
from genloop.data.files import FileSource

# Ten rows with distinct values, so disjointness can be checked on the values themselves.
TABLE = pd.DataFrame(
    {
        "x": np.arange(10, dtype=float),
        "y": np.arange(10, dtype=float) * 10 + 0.5,
        "word": list("abcabcabca"),
    }
)


@pytest.fixture
def csv_path(tmp_path):
    path = tmp_path / "table.csv"
    TABLE.to_csv(path, index=False)
    return path


@pytest.fixture
def parquet_path(tmp_path):
    path = tmp_path / "table.parquet"
    TABLE.to_parquet(path)
    return path


# -- round trips --------------------------------------------------------------------------


def test_csv_round_trip_selects_named_columns(csv_path):
    source = FileSource(str(csv_path), columns=["x", "y"])
    np.testing.assert_array_equal(source.rows, TABLE[["x", "y"]].to_numpy())
    assert source.rows.dtype == np.float64
    assert source.column_names == ["x", "y"]
    assert source.kind == "vectors" and source.n_states is None and source.probabilities is None


def test_parquet_round_trip_selects_columns_by_index(tmp_path, parquet_path):
    source = FileSource(str(parquet_path), columns=[1, 0])
    np.testing.assert_array_equal(source.rows, TABLE[["y", "x"]].to_numpy())
    pq_path = tmp_path / "same.pq"
    TABLE.to_parquet(pq_path)
    assert FileSource(str(pq_path), columns="x").rows.shape == (10, 1)


def test_npy_round_trip_2d_and_1d(tmp_path):
    array = np.arange(12.0).reshape(6, 2)
    np.save(tmp_path / "a.npy", array)
    np.testing.assert_array_equal(FileSource(str(tmp_path / "a.npy")).rows, array)
    np.save(tmp_path / "b.npy", np.arange(4))
    np.testing.assert_array_equal(FileSource(str(tmp_path / "b.npy")).rows, [[0], [1], [2], [3]])


def test_headerless_csv_keeps_its_first_line(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("1.5,1.5\n2,3\n")
    source = FileSource(str(path))
    np.testing.assert_array_equal(source.rows, [[1.5, 1.5], [2.0, 3.0]])


def test_explicit_format_overrides_extension(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("a,b\n1,2\n")
    np.testing.assert_array_equal(FileSource(str(path), format="csv").rows, [[1.0, 2.0]])


def test_categorical_string_column_maps_to_sorted_states(csv_path, parquet_path):
    for path in (csv_path, parquet_path):
        source = FileSource(str(path), columns=["word"], kind="categorical")
        assert source.labels == ["a", "b", "c"]
        assert source.n_states == 3
        assert source.probabilities is None  # the truth behind a file is unknown
        assert source.rows.dtype == np.int64 and source.rows.shape == (10, 1)
        np.testing.assert_array_equal(source.rows[:, 0], [0, 1, 2, 0, 1, 2, 0, 1, 2, 0])


def test_categorical_integer_npy_keeps_original_values_as_labels(tmp_path):
    np.save(tmp_path / "s.npy", np.array([7, 3, 7, 9]))
    source = FileSource(str(tmp_path / "s.npy"), kind="categorical")
    assert source.labels == [3, 7, 9]
    np.testing.assert_array_equal(source.rows[:, 0], [1, 0, 1, 2])


# -- finite-source contract ---------------------------------------------------------------


def test_split_is_disjoint_and_draw_agrees_with_split(csv_path):
    source = FileSource(str(csv_path), columns=["x"])
    original, holdout = source.split(6, 4, np.random.default_rng(0))
    assert original.shape == (6, 1) and holdout.shape == (4, 1)
    assert set(original[:, 0]).isdisjoint(holdout[:, 0])
    assert sorted(np.concatenate([original, holdout])[:, 0]) == list(range(10))
    np.testing.assert_array_equal(original, source.draw(6, np.random.default_rng(0)))


def test_draw_without_replacement_and_same_seed_same_rows(csv_path):
    source = FileSource(str(csv_path), columns=["x"])
    rows = source.draw(10, np.random.default_rng(3))
    assert sorted(rows[:, 0]) == list(range(10))
    np.testing.assert_array_equal(rows, source.draw(10, np.random.default_rng(3)))


def test_asking_for_more_rows_than_the_file_holds_names_it(csv_path):
    source = FileSource(str(csv_path), columns=["x"])
    with pytest.raises(ConfigError, match=r"table\.csv holds 10 rows"):
        source.draw(11, np.random.default_rng(0))
    with pytest.raises(ConfigError, match=r"n=8 plus holdout=3"):
        source.split(8, 3, np.random.default_rng(0))


# -- every bad input is a one-line error naming the path or key ---------------------------


def _write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def _bad_files(tmp_path):
    """(file name, how to create it, FileSource kwargs, expected message fragment)."""
    np.save(tmp_path / "good.npy", np.arange(20.0).reshape(10, 2))
    good_npy = (tmp_path / "good.npy").read_bytes()
    np.savez(tmp_path / "archive.npz", a=np.zeros(3))
    return [
        ("missing.csv", None, {}, "not found"),
        ("empty.csv", "", {}, "empty"),
        ("header_only.csv", "a,b\n", {}, "no data rows"),
        ("words.csv", "a,name,kind\n1,x,p\n2,y,q\n", {}, "non-numeric columns name, kind"),
        ("holes.csv", "a,b,c\n1,,3\n2,5,\n", {}, "missing values .NaN. in columns b, c"),
        ("inf.csv", "a,b\n1,inf\n2,3\n", {}, "infinite values in columns b"),
        ("ragged.csv", "a,b\n1,2\n3,4,5\n", {}, "cannot read"),
        ("latin.csv", b"\xff\xfe\x00a,b\n\x00\x01", {}, "cannot read"),
        ("truncated.npy", good_npy[:-7], {}, "cannot read"),
        ("text.npy", "just some text\n", {}, "pickled"),
        ("cube.npy", None, {}, r"shape \(2, 2, 2\)"),
        ("archive.npy", (tmp_path / "archive.npz").read_bytes(), {}, "npz archive"),
        ("text.parquet", "a,b\n1,2\n", {}, "cannot read"),
        ("two.csv", "a,b\n1,2\n", {"kind": "categorical"}, "exactly one column"),
        ("floaty.csv", "a\n1.5\n2\n", {"kind": "categorical"}, "non-integer"),
        ("gap.csv", "a,b\nx,1\n,2\n", {"kind": "categorical", "columns": ["a"]}, "NaN"),
        ("cols.csv", "a,b\n1,2\n", {"columns": ["c"]}, "no column 'c'"),
        ("cols2.csv", "a,b\n1,2\n", {"columns": [5]}, "index 5 is out of range"),
    ]


def test_each_bad_file_raises_one_line_data_error_naming_the_path(tmp_path):
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2)))
    for name, content, kwargs, fragment in _bad_files(tmp_path):
        path = tmp_path / name
        if content is not None:
            _write(path, content)
        with pytest.raises(DataError, match=fragment) as caught:
            FileSource(str(path), **kwargs)
        message = str(caught.value)
        assert name in message, message
        assert "\n" not in message, message


def test_pickled_object_array_is_never_loaded(tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"payload": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="never unpickles"):
        FileSource(str(path))


def test_directory_is_not_a_data_file(tmp_path):
    with pytest.raises(DataError, match="not a file"):
        FileSource(str(tmp_path), format="csv")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"kind": "images"}, "source.kind"),
        ({"format": "xlsx"}, "source.format"),
        ({"columns": [0, 0]}, "source.columns lists column 0 twice"),
        ({"columns": [1.5]}, "source.columns"),
        ({"columns": []}, "source.columns"),
    ],
)
def test_bad_settings_are_config_errors_naming_the_key(csv_path, kwargs, fragment):
    with pytest.raises(ConfigError, match=fragment):
        FileSource(str(csv_path), **kwargs)


def test_unknown_extension_lists_allowed_ones(tmp_path):
    path = _write(tmp_path / "data.xlsx", "a\n1\n")
    with pytest.raises(ConfigError, match=r"data\.xlsx.*\.csv, \.npy, \.parquet, \.pq"):
        FileSource(str(path))
