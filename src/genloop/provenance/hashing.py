"""Content hashes of rows: the same values give the same hash, whatever produced them.

A row's hash is the sha256 of a canonical byte form::

    b"f8:" + values as little-endian float64     (real-valued rows and scalars)
    b"i8:" + values as little-endian int64       (integer states, token sequences, bools)
    b"str:" + UTF-8 bytes                        (strings)

The dtype class is part of the hashed bytes, so the float row ``[1.0]`` and the token
sequence ``[1]`` hash differently, while ``float32`` and ``float64`` copies of the same
values hash alike. ``-0.0`` is hashed as ``0.0`` (they compare equal, and a dedup filter
should treat them as one value).
"""

from __future__ import annotations

import hashlib

import numpy as np

from genloop.core.errors import DataError

_FLOAT, _INT, _STR = b"f8:", b"i8:", b"str:"


def _canonical(row) -> bytes:
    """The canonical byte form of one row (see the module docstring)."""
    if isinstance(row, str):
        return _STR + row.encode("utf-8")
    if isinstance(row, bytes):
        raise DataError("content_hash: bytes rows are not supported; decode them to str first")
    values = np.asarray(row)
    kind = values.dtype.kind
    if kind == "f":
        # `+ 0.0` turns -0.0 into 0.0 so that equal values hash alike.
        return _FLOAT + (values.astype("<f8", copy=False).ravel() + 0.0).tobytes()
    if kind in "iub":
        return _INT + values.astype("<i8", copy=False).ravel().tobytes()
    if kind in "US":
        return _STR + str(values.item() if values.ndim == 0 else "".join(values.ravel())).encode()
    raise DataError(f"content_hash: cannot hash a row of dtype {values.dtype}")


def _is_ragged(rows) -> bool:
    """True for a list of rows of different lengths (token sequences)."""
    lengths = {len(r) for r in rows if hasattr(r, "__len__") and not isinstance(r, str)}
    return len(lengths) > 1


def content_hash(row) -> str:
    """The sha256 hex digest of one row's canonical bytes.

    Parameters
    ----------
    row : array-like or scalar or str
        A vector row of shape ``(d,)``, a categorical value, a 1-D token array, or text.

    Returns
    -------
    str
        64 lowercase hex characters.
    """
    return hashlib.sha256(_canonical(row)).hexdigest()


def content_hashes(X) -> np.ndarray:
    """The content hash of every row of a pool.

    Parameters
    ----------
    X : ndarray
        Shape ``(n, d)`` (vector rows), ``(n,)`` (categorical values: one value per row),
        or an object array of shape ``(n,)`` holding token arrays or strings.

    Returns
    -------
    ndarray of str, shape (n,)
        ``content_hash`` of each row, in order.
    """
    if not isinstance(X, np.ndarray):
        ragged = isinstance(X, list | tuple) and _is_ragged(X)
        X = np.asarray(X, dtype=object) if ragged else np.asarray(X)
    if X.ndim == 0:
        raise DataError("content_hashes needs a sequence of rows, got a scalar")
    if len(X) == 0:
        return np.zeros(0, dtype="<U64")
    if X.dtype == object:
        return np.array([content_hash(row) for row in X], dtype="<U64")
    if X.dtype.kind == "f":
        prefix, rows = _FLOAT, X.astype("<f8").reshape(len(X), -1) + 0.0
    elif X.dtype.kind in "iub":
        prefix, rows = _INT, X.astype("<i8").reshape(len(X), -1)
    else:
        return np.array([content_hash(row) for row in X], dtype="<U64")
    # One contiguous buffer, sliced per row: hashlib is the only per-row Python work.
    rows = np.ascontiguousarray(rows)
    width = rows.shape[1] * 8
    buffer = rows.tobytes()
    out = [
        hashlib.sha256(prefix + buffer[i * width:(i + 1) * width]).hexdigest()
        for i in range(len(rows))
    ]
    return np.array(out, dtype="<U64")
