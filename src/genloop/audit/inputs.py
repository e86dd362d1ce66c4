"""Audit inputs: loading real, synthetic and held-out data, inferring their kind, checking them.

Each input is one of

* a CSV, NPY or Parquet file (read by :class:`genloop.data.files.FileSource`'s reader,
  with its one-line errors), a ``.txt`` file (one record per non-empty line), a ``.jsonl``
  file (one record per line's ``text`` field), a folder of them, or an ``hf:NAME[:CONFIG]``
  dataset (its ``text`` column, one record per non-empty line);
* a pool of a genloop run: ``run:RUN_DIR@GENERATION`` (or the run directory with
  ``generation=``), read from the provenance ledger;
* an in-memory table: a pandas DataFrame (a ledger pool, or numeric / one value / one
  ``text`` column), a numpy array (2-D numbers: vectors; 1-D: categorical values) or a
  list of strings (text records).

Every problem is a one-line :class:`~genloop.core.errors.DataError` or
:class:`~genloop.core.errors.ConfigError` that names the input.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genloop.core.errors import ConfigError, DataError
from genloop.data.files import FORMATS_BY_EXTENSION, FileSource, _preview

KINDS = ("vectors", "categorical", "text")
TEXT_EXTENSIONS = (".txt", ".jsonl")
# Columns a genloop pool (ledger, `genloop export`) carries besides its data.
POOL_BOOKKEEPING = ("sample_id", "origin", "generation", "tokens", "content_hash", "in_pool")
# A string column whose values hold at least this many words (median) is text, not labels.
TEXT_MIN_WORDS = 3


@dataclass
class AuditData:
    """One audit input, loaded.

    Attributes
    ----------
    name : str
        What messages and the report call it (a path, ``run:...@5``, ``<DataFrame>``).
    kind : {"vectors", "categorical", "text"}
    rows : ndarray
        vectors: float64 ``(n, d)``; categorical: str ``(n,)``; text: object ``(n,)`` of str.
    columns : list of str
        Column names (vectors), ``[column]`` (categorical) or ``["text"]``.
    labels : ndarray of str, shape (n,), or None
        Class labels of labelled vector rows (``label_column``).
    """

    name: str
    kind: str
    rows: np.ndarray
    columns: list[str]
    labels: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, index: np.ndarray) -> AuditData:
        """The rows at ``index`` (labels follow)."""
        labels = None if self.labels is None else self.labels[index]
        return AuditData(self.name, self.kind, self.rows[index], self.columns, labels)

    def describe(self) -> str:
        width = f" x {len(self.columns)} columns" if self.kind == "vectors" else ""
        return f"{self.name} ({self.kind}, {len(self)} rows{width})"


class _TableFile(FileSource):
    """A CSV/NPY/Parquet file read as a whole table (FileSource's reader and checks)."""

    def __init__(self, path: Path):
        self.path, self.name = path, str(path)
        self.format = self._resolve_format(None)
        self._check_file()
        self.table = self._read_table()
        if len(self.table) == 0:
            raise DataError(f"data file has no data rows: {self.path}")
        self.table.columns = [str(c) for c in self.table.columns]
        self.column_names = list(self.table.columns)


# --- entry point ---------------------------------------------------------------------------


def load_input(spec, kind: str = "auto", label_column: str | None = None, role: str = "input",
               generation: int | None = None, variant: str | None = None,
               seed: int | None = None) -> AuditData:
    """Load one audit input and infer (or check) its kind.

    Parameters
    ----------
    spec : str, Path, DataFrame, ndarray, list of str or AuditData
        See the module docstring.
    kind : {"auto", "vectors", "categorical", "text"}
    label_column : str, optional
        A column of class labels kept aside (labelled vectors, e.g. digits); inputs
        without that column simply have no labels.
    role : str
        ``real``, ``synthetic`` or ``holdout``: named in messages.
    generation, variant, seed
        Which pool to read when ``spec`` is a run directory.

    Returns
    -------
    AuditData
    """
    if kind not in ("auto", *KINDS):
        raise ConfigError(f"kind must be one of auto, {', '.join(KINDS)}; got {kind!r}")
    if isinstance(spec, AuditData):
        data = spec
    elif isinstance(spec, (str, Path)):
        data = _load_path(spec, kind, label_column, role, generation, variant, seed)
    else:
        data = _load_object(spec, kind, label_column, role)
    if len(data) == 0:
        raise DataError(f"{role} data {data.name} has no rows")
    if kind != "auto" and data.kind != kind:
        raise DataError(f"{role} data {data.name} holds {data.kind} data, not {kind}")
    return data


def _load_path(spec, kind, label_column, role, generation, variant, seed) -> AuditData:
    text = str(spec)
    if text.startswith("run:"):
        run_dir, at, gen = text.removeprefix("run:").rpartition("@")
        if not at or not gen.strip().isdigit():
            raise ConfigError(f"{role}: {text!r} must look like run:RUN_DIR@GENERATION")
        return _load_pool(run_dir, int(gen), variant, seed, kind, label_column, text)
    if text.startswith("hf:"):
        return _text_records(text, role)
    path = Path(text).expanduser()
    if path.is_dir() and (path / "config.yaml").is_file():
        if generation is None:
            raise ConfigError(f"{role} {path} is a run directory; say which pool with "
                              f"--generation (or use run:{path}@GENERATION)")
        return _load_pool(path, generation, variant, seed, kind, label_column,
                          f"run:{path}@{generation}")
    if path.is_dir() or path.suffix.lower() in TEXT_EXTENSIONS:
        return _text_records(text, role)
    if path.suffix.lower() not in FORMATS_BY_EXTENSION:
        if not path.exists():
            raise DataError(f"{role} data file not found: {path}")
        raise ConfigError(
            f"cannot tell the format of {role} data {path} from its extension "
            f"{path.suffix!r}; use .csv, .npy, .parquet, .txt or .jsonl"
        )
    table = _TableFile(path)
    return _from_table(table.table, str(path), kind, label_column, role)


def _load_pool(run_dir, generation, variant, seed, kind, label_column, name) -> AuditData:
    from genloop.provenance.ledger import load_pool

    frame = load_pool(run_dir, generation, variant=variant, seed=seed)
    return _from_table(frame, name, kind, label_column, "pool")


def _text_records(spec: str, role: str) -> AuditData:
    from genloop.data.text import load_documents

    documents = load_documents(spec)
    if spec.endswith(".jsonl") and not Path(spec).is_dir():
        records = [t.strip() for t in documents.values()]
    else:
        records = [line.strip() for t in documents.values() for line in t.splitlines()]
    records = [r for r in records if r]
    if not records:
        raise DataError(f"{role} data {spec} holds no text")
    return AuditData(spec, "text", np.array(records, dtype=object), ["text"])


# --- tables ----------------------------------------------------------------------------------


def _load_object(obj, kind, label_column, role) -> AuditData:
    import pandas as pd

    if isinstance(obj, pd.DataFrame):
        return _from_table(obj.copy(), "<DataFrame>", kind, label_column, role)
    if isinstance(obj, (list, tuple)) and all(isinstance(v, str) for v in obj):
        if kind == "categorical":
            return AuditData(f"<{role} values>", "categorical", np.array(obj, dtype=str),
                             ["value"])
        return AuditData(f"<{role} texts>", "text", np.array(obj, dtype=object), ["text"])
    try:
        array = np.asarray(obj)
    except (TypeError, ValueError):  # ragged nested lists, objects numpy cannot hold
        raise DataError(f"{role} data: a {type(obj).__name__} that is neither rows of "
                        "numbers, values nor texts") from None
    if array.dtype == object and kind in ("auto", "text") and array.ndim == 1 and all(
        isinstance(v, str) for v in array
    ):
        return AuditData(f"<{role} texts>", "text", array, ["text"])
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.dtype == object:
        raise DataError(f"{role} data: an array of shape {array.shape} and dtype {array.dtype} "
                        f"is neither rows of numbers, values nor texts")
    frame = pd.DataFrame(array, columns=[str(i) for i in range(array.shape[1])])
    return _from_table(frame, f"<{role} array>", kind, label_column, role)


def _from_table(table, name: str, kind: str, label_column: str | None, role: str) -> AuditData:
    """An AuditData from a pandas table: drop pool bookkeeping, set labels aside, infer."""
    table.columns = [str(c) for c in table.columns]
    if "sample_id" in table.columns:  # a genloop pool: its data columns only
        table = table.drop(columns=[c for c in POOL_BOOKKEEPING if c in table.columns])
    if len(table) == 0:
        raise DataError(f"{role} data {name} has no rows")
    labels = None
    if label_column is not None and label_column not in table.columns and role == "real":
        # The real data defines the classes; a synthetic set may come without labels.
        close = difflib.get_close_matches(label_column, table.columns, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise DataError(f"label column {label_column!r} is not a column of {role} data "
                        f"{name}{hint}; its columns: {_preview(list(table.columns))}")
    if label_column is not None and label_column in table.columns:
        column = table[label_column]
        if column.isna().any():
            raise DataError(f"{role} data {name}: missing labels in column {label_column}")
        labels = _as_strings(column.to_numpy())
        table = table.drop(columns=[label_column])
    if table.shape[1] == 0:
        raise DataError(f"{role} data {name} has no columns besides the labels")
    chosen = _infer_kind(table, name, role) if kind == "auto" else kind
    reader = FileSource.__new__(FileSource)  # FileSource's converters and their messages
    reader.path, reader.column_names = name, list(table.columns)
    if chosen == "vectors":
        rows = reader._numeric_rows(table)
        return AuditData(name, "vectors", rows, list(table.columns), labels)
    if chosen == "text":
        if "text" in table.columns:
            table = table[["text"]]
        if table.shape[1] != 1 or table.iloc[:, 0].dtype.kind in "biuf":
            raise DataError(f"{role} data {name}: text needs one string column (or one named "
                            f"'text'); its columns: {_preview(list(table.columns))}")
        values = table.iloc[:, 0]
        if values.isna().any():
            raise DataError(f"{role} data {name}: missing values (NaN) in column "
                            f"{table.columns[0]}")
        return AuditData(name, "text", values.astype(str).to_numpy(dtype=object), ["text"])
    states, values = reader._categorical_rows(table)
    rows = _as_strings(np.asarray(values, dtype=object)[states[:, 0]])
    return AuditData(name, "categorical", rows, list(table.columns), labels)


def _infer_kind(table, name: str, role: str) -> str:
    """vectors (numbers), categorical (one integer or short-string column) or text."""
    numeric = [c for c, t in table.dtypes.items() if t.kind in "biuf"]
    other = [c for c in table.columns if c not in numeric]
    if numeric and other:
        raise DataError(
            f"{role} data {name} mixes kinds: numeric columns {_preview(numeric)} and text "
            f"columns {_preview(other)}; keep one kind (labels: --label-column)"
        )
    if other:
        if len(other) > 1:
            if "text" in other:
                return "text"
            raise DataError(f"{role} data {name} has {len(other)} string columns "
                            f"({_preview(other)}); audit one column (or one named 'text')")
        sample = table.iloc[:2000, 0].astype(str)
        return "text" if sample.str.split().str.len().median() >= TEXT_MIN_WORDS else "categorical"
    if table.shape[1] == 1 and table.dtypes.iloc[0].kind in "biu":
        return "categorical"
    return "vectors"


def _as_strings(values: np.ndarray) -> np.ndarray:
    """Labels and categories as strings, with integral floats written as integers."""
    values = np.asarray(values)
    if values.dtype.kind == "f" and np.all(values == np.round(values)):
        values = values.astype(np.int64)
    return np.array([str(v) for v in values], dtype=object).astype(str)


# --- checks across inputs ----------------------------------------------------------------------


def check_compatible(real: AuditData, other: AuditData, role: str) -> AuditData:
    """Check ``other`` against the real data (same kind, same columns); returns ``other``.

    Columns are matched by name when both inputs name them (CSV headers, Parquet, pools),
    else by position; a pool's ``x0..`` names match any names of the same count.
    """
    if other.kind != real.kind:
        raise DataError(
            f"mixed kinds: real data {real.name} holds {real.kind} data but {role} data "
            f"{other.name} holds {other.kind} data (pass --kind to force one)"
        )
    if real.kind != "vectors":
        return other
    if len(real.columns) != len(other.columns):
        raise DataError(
            f"mismatched columns: real data {real.name} has {len(real.columns)} columns, "
            f"{role} data {other.name} has {len(other.columns)}"
        )
    if _named(real.columns) and _named(other.columns) and real.columns != other.columns:
        missing = [c for c in real.columns if c not in other.columns]
        extra = [c for c in other.columns if c not in real.columns]
        if missing or extra:
            raise DataError(
                f"mismatched columns: {role} data {other.name} lacks {_preview(missing)} and "
                f"has {_preview(extra)} that real data {real.name} does not"
            )
        order = [other.columns.index(c) for c in real.columns]
        return AuditData(other.name, other.kind, other.rows[:, order], real.columns, other.labels)
    return other


def _named(columns: list[str]) -> bool:
    """True for real column names (not positions 0..d-1 nor a pool's x0..x{d-1})."""
    positional = [str(i) for i in range(len(columns))]
    pool = [f"x{i}" for i in range(len(columns))]
    return columns not in (positional, pool)
