"""Contracts of content hashing: exact canonical bytes and agreement of the two APIs."""

import hashlib

import numpy as np
import pytest

from genloop.core.errors import DataError
from genloop.provenance.hashing import content_hash, content_hashes


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_float_row_hashes_little_endian_float64_with_tag():
    row = np.array([1.5, -2.0], dtype=np.float32)
    expected = sha(b"f8:" + np.array([1.5, -2.0], dtype="<f8").tobytes())
    assert content_hash(row) == expected
    assert content_hash([1.5, -2.0]) == expected


def test_int_tokens_and_str_have_their_own_tags():
    assert content_hash(np.array([1, 2], dtype=np.int32)) == sha(
        b"i8:" + np.array([1, 2], dtype="<i8").tobytes()
    )
    assert content_hash("héllo") == sha(b"str:" + "héllo".encode())
    assert content_hash(3) == sha(b"i8:" + np.int64(3).tobytes())


def test_dtype_class_is_part_of_the_hash():
    assert content_hash(np.array([1.0])) != content_hash(np.array([1]))
    assert content_hash(np.array([1.0])) != content_hash("1.0")


def test_negative_zero_hashes_as_zero():
    assert content_hash(np.array([-0.0, 1.0])) == content_hash(np.array([0.0, 1.0]))


def test_hashes_of_a_pool_match_row_by_row_hashes():
    X = np.random.default_rng(0).normal(size=(5, 3))
    assert list(content_hashes(X)) == [content_hash(r) for r in X]
    states = np.array([0, 3, 3, 7])
    hashes = content_hashes(states)
    assert list(hashes) == [content_hash(v) for v in states]
    assert hashes[1] == hashes[2] and hashes[0] != hashes[1]


def test_hashes_of_ragged_token_pools_and_empty_pools():
    tokens = np.empty(3, dtype=object)
    tokens[:] = [np.array([1, 2, 3]), np.array([4]), np.array([1, 2, 3])]
    hashes = content_hashes(tokens)
    assert hashes.shape == (3,) and hashes[0] == hashes[2] != hashes[1]
    assert list(content_hashes([[1, 2], [3]])) == [content_hash([1, 2]), content_hash([3])]
    assert content_hashes(np.zeros((0, 2))).shape == (0,)


def test_unhashable_inputs_raise_data_errors():
    with pytest.raises(DataError):
        content_hash(np.array([1 + 2j]))
    with pytest.raises(DataError):
        content_hashes(np.float64(1.0))
