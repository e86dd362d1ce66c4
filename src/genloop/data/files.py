"""Finite real data: a fixed table of rows, from the user's own files.

:class:`FiniteSource` is the shared base of every real dataset (local files here,
scikit-learn's bundled datasets in :mod:`genloop.data.sklearn_source`): it draws rows
without replacement, so the original and held-out data never share a row, and refuses
to invent rows it does not hold. :class:`FileSource` reads local CSV, NPY and Parquet
files. Files are untrusted: ``.npy`` is loaded with ``allow_pickle=False`` and every
problem with a file is a one-line :class:`~genloop.core.errors.DataError` naming the path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from genloop.core.errors import ConfigError, DataError
from genloop.data.base import Source
from genloop.data.synthetic import MAX_ROWS, check_draw_count

#: columns a data file may have: reading 200,000 columns took minutes only to be refused
MAX_COLUMNS = 10_000
#: file extension → format name
FORMATS_BY_EXTENSION = {".csv": "csv", ".npy": "npy", ".parquet": "parquet", ".pq": "parquet"}
KINDS = ("vectors", "categorical")


class FiniteSource(Source):
    """Base for real datasets holding a fixed table ``rows`` of shape ``(n_rows, d)``.

    Subclasses set ``rows`` and :attr:`name` in ``__init__``.
    """

    rows: np.ndarray
    #: what error messages call this dataset (a path, ``sklearn:digits``)
    name: str = "dataset"

    @property
    def n_rows(self) -> int:
        """Number of rows the dataset holds."""
        return len(self.rows)

    def sample_indices(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` distinct row indices, shape ``(n,)``, chosen uniformly by ``rng``.

        For one generator state, the indices for ``n`` are a prefix of those for any
        larger count.
        """
        n = check_draw_count(n)
        if n > self.n_rows:
            raise ConfigError(
                f"{self.name} holds {self.n_rows} rows; cannot draw n={n} without replacement"
            )
        # A prefix of a full permutation (not rng.choice(..., replace=False), whose picks
        # depend on n): the first n rows are the same whatever larger count is asked for.
        return rng.permutation(self.n_rows)[:n]

    def split_indices(
        self, n: int, n_holdout: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Disjoint row indices for the original ``(n,)`` and held-out ``(n_holdout,)`` data.

        The original indices equal those :meth:`sample_indices` gives for ``n`` with the
        same generator state, so ``draw`` and ``split`` agree on the original rows.
        """
        n, n_holdout = check_draw_count(n), check_draw_count(n_holdout)
        if n + n_holdout > self.n_rows:
            raise ConfigError(
                f"{self.name} holds {self.n_rows} rows; n={n} plus holdout={n_holdout} "
                f"asks for {n + n_holdout}"
            )
        indices = self.sample_indices(n + n_holdout, rng)
        return indices[:n], indices[n:]

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` distinct rows, shape ``(n, d)``, drawn without replacement."""
        return self.rows[self.sample_indices(n, rng)]

    def split(
        self, n: int, n_holdout: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Disjoint original ``(n, d)`` and held-out ``(n_holdout, d)`` rows."""
        original, holdout = self.split_indices(n, n_holdout, rng)
        return self.rows[original], self.rows[holdout]


def select_columns(requested, available: Sequence[str], where: str, error=DataError) -> list[int]:
    """Positions of the requested columns (names or 0-based indices) among ``available``.

    ``requested`` may be ``None`` (all columns), one name/index, or a list of them.
    ``where`` names the data in messages; ``error`` is the exception type to raise when a
    column does not exist.
    """
    if requested is None:
        return list(range(len(available)))
    if isinstance(requested, (str, int)):
        requested = [requested]
    positions = []
    for column in requested:
        if isinstance(column, bool) or not isinstance(column, (str, int, np.integer)):
            raise ConfigError(
                f"source.columns entries must be column names or 0-based indices, got {column!r}"
            )
        if isinstance(column, str):
            if column not in available:
                raise error(
                    f"{where} has no column {column!r} (source.columns); its columns: "
                    f"{_preview(available)}"
                )
            position = list(available).index(column)
        else:
            if not 0 <= column < len(available):
                raise error(
                    f"{where} has {len(available)} columns; source.columns index {column} "
                    f"is out of range 0..{len(available) - 1}"
                )
            position = int(column)
        if position in positions:
            raise ConfigError(f"source.columns lists column {column!r} twice")
        positions.append(position)
    if not positions:
        raise ConfigError("source.columns must list at least one column")
    return positions


def _preview(names: Sequence, limit: int = 12) -> str:
    """``a, b, c`` for short lists, ``a, b, ... (200 in all)`` for long ones."""
    shown = ", ".join(str(name) for name in list(names)[:limit])
    return shown if len(names) <= limit else f"{shown}, ... ({len(names)} in all)"


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


class FileSource(FiniteSource):
    """Real data from a local CSV, NPY or Parquet file.

    Parameters
    ----------
    path : str
        The file. Its extension (``.csv``, ``.npy``, ``.parquet``, ``.pq``) gives the
        format unless ``format`` is set.
    columns : list of str or int, optional
        Columns to keep, by name (CSV header, Parquet schema) or 0-based index; default
        all. A CSV whose first line is all numbers is read as having no header.
    kind : {"vectors", "categorical"}, default "vectors"
        ``"vectors"``: numeric columns → float rows ``(n_rows, d)``.
        ``"categorical"``: exactly one integer or string column, mapped to states
        ``0..K-1`` in sorted order of the original values (kept in ``labels``).
    format : {"csv", "npy", "parquet"}, optional
        Overrides the format inferred from the extension.
    standardize : bool, default False
        Vectors only: rescale every column to mean 0 and standard deviation 1 over the
        whole file, so that a column in large units (wine's proline, in the hundreds)
        does not dominate distances such as W2. The same affine map applies to the
        original and held-out rows; a constant column is an error.

    Attributes
    ----------
    rows : ndarray of shape (n_rows, d)
        float64 for vectors; int64 states with ``d = 1`` for categorical data.
    column_names : list of str
        Names of the kept columns (indices as strings for NPY and header-less CSV).
    labels : list or None
        Categorical data: the original value of each state, shape ``(K,)``.
    probabilities : None
        The truth behind a file is unknown; ``n_states`` is still ``K``.
    """

    def __init__(
        self,
        path: str,
        columns: list[str | int] | None = None,
        kind: str = "vectors",
        format: str | None = None,
        standardize: bool = False,
    ):
        if kind not in KINDS:
            raise ConfigError(f"source.kind must be one of {', '.join(KINDS)}, got {kind!r}")
        self.kind = kind
        self.path = Path(path).expanduser()
        self.name = str(self.path)
        self.format = self._resolve_format(format)
        self._check_file()
        table = self._read_table()
        if len(table) == 0:
            raise DataError(f"data file has no data rows: {self.path}")
        positions = select_columns(columns, [str(c) for c in table.columns], str(self.path))
        table = table.iloc[:, positions]
        self.column_names = [str(c) for c in table.columns]
        self.labels = None
        if not isinstance(standardize, bool):
            raise ConfigError(f"source.standardize must be true or false, got {standardize!r}")
        if standardize and kind != "vectors":
            raise ConfigError("source.standardize applies to kind: vectors only")
        self.standardize = standardize
        if kind == "vectors":
            self.rows = self._numeric_rows(table)
            if standardize:
                self.rows = self._standardized(self.rows)
        else:
            self.rows, self.labels = self._categorical_rows(table)

    @property
    def n_states(self) -> int | None:
        """``K`` for categorical data (from the file's distinct values), else ``None``."""
        return None if self.labels is None else len(self.labels)

    def describe(self) -> str:
        shape = f"{self.n_rows} rows x {len(self.column_names)} columns"
        extra = f", {self.n_states} states" if self.labels is not None else ""
        scaled = ", standardized" if getattr(self, "standardize", False) else ""
        return f"file {self.path.name} ({self.format}, {self.kind}, {shape}{extra}{scaled})"

    # -- reading ---------------------------------------------------------------------

    def _resolve_format(self, file_format: str | None) -> str:
        allowed = sorted(set(FORMATS_BY_EXTENSION.values()))
        if file_format is not None:
            normalised = FORMATS_BY_EXTENSION.get(f".{str(file_format).lower().lstrip('.')}")
            if normalised is None:
                raise ConfigError(
                    f"source.format must be one of {', '.join(allowed)}, got {file_format!r}"
                )
            return normalised
        inferred = FORMATS_BY_EXTENSION.get(self.path.suffix.lower())
        if inferred is None:
            raise ConfigError(
                f"cannot tell the format of {self.path} from its extension "
                f"{self.path.suffix!r}; allowed extensions: {', '.join(FORMATS_BY_EXTENSION)} "
                f"(or set source.format to one of {', '.join(allowed)})"
            )
        return inferred

    def _check_file(self) -> None:
        if not self.path.exists():
            raise DataError(f"data file not found: {self.path}")
        if not self.path.is_file():
            raise DataError(f"data path is not a file: {self.path}")
        if self.path.stat().st_size == 0:
            raise DataError(f"data file is empty: {self.path}")

    def _read_table(self):
        """The whole file as a pandas DataFrame; any reader failure → one-line DataError."""
        import pyarrow as pa

        readers = {"csv": self._read_csv, "npy": self._read_npy, "parquet": self._read_parquet}
        try:
            return readers[self.format]()
        except DataError:
            raise
        except (OSError, ValueError, EOFError, pa.ArrowException) as error:
            # Truncated arrays, text files named .parquet, bad encodings, ragged CSV rows:
            # the reader's own first line says what was wrong; we add which file.
            raise DataError(
                f"cannot read {self.path} as {self.format}: {_first_line(error)}"
            ) from None

    def _read_csv(self):
        import pandas as pd

        sep = self._csv_delimiter()
        try:
            first_line = pd.read_csv(self.path, header=None, nrows=1, dtype=str, sep=sep)
        except pd.errors.EmptyDataError:
            raise DataError(f"data file is empty: {self.path}") from None
        # pandas takes line 1 as a header; when every field of it is a number the file has
        # no header, and line 1 is data we must not lose.
        if all(_is_number(field) for field in first_line.iloc[0]):
            table = pd.read_csv(self.path, header=None, sep=sep)
            table.columns = [str(i) for i in range(table.shape[1])]
            return table
        return pd.read_csv(self.path, sep=sep)

    def _csv_delimiter(self) -> str:
        """The CSV's delimiter (``,``, ``;``, tab or ``|``), sniffed from its first lines.

        Also refuses a file wider than :data:`MAX_COLUMNS` from its first line, before
        pandas parses it. A ``;``-separated file read with ``,`` is one text column whose
        every value is distinct: audited as a categorical column, it looked fine.
        """
        import csv

        with self.path.open("rb") as handle:
            first = handle.readline(1 << 24).decode("utf-8", errors="replace")
            rest = handle.read(1 << 16).decode("utf-8", errors="replace")
        sample = [first.rstrip("\r\n"), *rest.splitlines()[:-1][:49]]
        try:
            sep = csv.Sniffer().sniff("\n".join(sample), delimiters=",;\t|").delimiter
        except csv.Error:  # one column, or nothing to tell delimiters apart by
            sep = ","
        width = first.count(sep) + 1
        if width > MAX_COLUMNS:
            raise DataError(f"{self.path} has {width:,} columns in its first line; data files "
                            f"have at most {MAX_COLUMNS:,} columns")
        return sep

    def _check_npy_header(self) -> None:
        """Compare the shape an ``.npy`` header claims with the bytes the file holds, so a
        header claiming 10¹¹ rows is refused before numpy tries to allocate them."""
        from numpy.lib import format as npy

        with self.path.open("rb") as handle:
            try:
                version = npy.read_magic(handle)
                reader = npy.read_array_header_1_0 if version == (1, 0) \
                    else npy.read_array_header_2_0
                shape, _, dtype = reader(handle)
            except (ValueError, OSError, SyntaxError, TypeError):
                return  # np.load names what is wrong with the header
            offset = handle.tell()
        if dtype.hasobject:
            return  # refused by allow_pickle=False, with its own message
        rows = shape[0] if shape else 1
        if rows > MAX_ROWS:
            raise DataError(f"cannot read {self.path} as npy: its header claims {rows:,} rows; "
                            f"at most {MAX_ROWS:,} fit")
        needed = int(np.prod(shape, dtype=object)) * dtype.itemsize
        held = self.path.stat().st_size - offset
        if needed > held:
            raise DataError(f"cannot read {self.path} as npy: its header claims shape "
                            f"{tuple(shape)} ({needed:,} bytes) but the file holds {held:,} "
                            "bytes of data")

    def _read_npy(self):
        import pandas as pd

        self._check_npy_header()
        try:
            array = np.load(self.path, allow_pickle=False)
        except ValueError as error:
            if "pickle" in str(error).lower():
                raise DataError(
                    f"{self.path} holds pickled Python objects; genloop never unpickles "
                    f"data (save a numeric or string array instead)"
                ) from None
            raise
        if isinstance(array, np.lib.npyio.NpzFile):  # np.load sniffs zip bytes, not names
            array.close()
            raise DataError(f"{self.path} is an .npz archive; save a single array with np.save")
        if array.dtype.names is not None and array.ndim == 1:
            return pd.DataFrame(array)  # a structured array: its fields are named columns
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2:
            raise DataError(
                f"{self.path} holds an array of shape {array.shape}; expected 1-D (one "
                f"column) or 2-D (rows x columns)"
            )
        return pd.DataFrame(array, columns=[str(i) for i in range(array.shape[1])])

    def _read_parquet(self):
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pq.read_schema(self.path)
        if len(schema) > MAX_COLUMNS:
            raise DataError(f"{self.path} has {len(schema):,} columns; data files have at "
                            f"most {MAX_COLUMNS:,} columns")
        nested = [f.name for f in schema if pa.types.is_nested(f.type)]
        if nested:
            raise DataError(f"{self.path}: columns {_preview(nested)} hold lists or structs; "
                            "genloop reads one number or string per cell")
        return pq.read_table(self.path).to_pandas()

    # -- checking and converting ---------------------------------------------------

    def _numeric_rows(self, table) -> np.ndarray:
        non_numeric = [str(c) for c, dtype in table.dtypes.items() if dtype.kind not in "biuf"]
        if non_numeric:
            raise DataError(
                f"{self.path}: non-numeric columns {_preview(non_numeric)}; vector data needs "
                f"numbers (drop them with source.columns or use kind: categorical)"
            )
        missing = [str(c) for c in table.columns[table.isna().any().to_numpy()]]
        if missing:
            raise DataError(f"{self.path}: missing values (NaN) in columns {_preview(missing)}")
        rows = table.to_numpy(dtype=float)
        infinite = [str(c) for c in table.columns[~np.isfinite(rows).all(axis=0)]]
        if infinite:
            raise DataError(f"{self.path}: infinite values in columns {_preview(infinite)}")
        return rows

    def _standardized(self, rows: np.ndarray) -> np.ndarray:
        scale = rows.std(axis=0)
        constant = [self.column_names[j] for j in np.flatnonzero(scale == 0)]
        if constant:
            raise DataError(f"{self.path}: cannot standardize constant columns "
                            f"{_preview(constant)} (drop them with source.columns)")
        return (rows - rows.mean(axis=0)) / scale

    def _categorical_rows(self, table) -> tuple[np.ndarray, list]:
        if table.shape[1] != 1:
            raise DataError(
                f"{self.path}: categorical data needs exactly one column, found "
                f"{table.shape[1]} ({_preview(self.column_names)}); choose one with "
                f"source.columns"
            )
        column = table.iloc[:, 0]
        name = self.column_names[0]
        if column.isna().any():
            raise DataError(f"{self.path}: missing values (NaN) in column {name}")
        values = column.to_numpy()
        if values.dtype.kind == "f":
            if not np.all(values == np.round(values)):
                raise DataError(
                    f"{self.path}: column {name} holds non-integer numbers; categorical data "
                    f"must be integers or strings"
                )
            values = values.astype(np.int64)
        elif values.dtype.kind not in "biu":
            # Strings (and anything else pandas keeps as objects) are compared as text.
            values = values.astype(str)
        labels, states = np.unique(values, return_inverse=True)
        return states.astype(np.int64).reshape(-1, 1), labels.tolist()


def _is_number(text) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True
