"""Modular arithmetic tables and splits (tier 1: exact contracts)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from genloop.core.errors import ConfigError
from genloop.dynamics.config import DynamicsConfig, GrokkingConfig
from genloop.dynamics.modular import is_prime, operation_table, split_table


def test_addition_table_is_every_pair_once():
    pairs, labels = operation_table(5, "+")
    assert pairs.shape == (25, 2) and labels.shape == (25,)
    assert len({tuple(p) for p in pairs}) == 25
    assert labels[pairs.tolist().index([3, 4])] == 2  # 3 + 4 = 7 ≡ 2 (mod 5)


@pytest.mark.parametrize(
    ("operation", "a", "b", "expected"),
    [("-", 1, 3, 3), ("*", 3, 4, 2), ("/", 3, 4, 2), ("/", 1, 2, 3)],  # mod 5
)
def test_operation_labels(operation, a, b, expected):
    pairs, labels = operation_table(5, operation)
    assert labels[pairs.tolist().index([a, b])] == expected


def test_division_excludes_zero_divisor_and_inverts_multiplication():
    pairs, labels = operation_table(7, "/")
    assert pairs.shape == (42, 2) and (pairs[:, 1] != 0).all()
    assert ((labels * pairs[:, 1]) % 7 == pairs[:, 0]).all()


def test_split_sizes_disjoint_and_seeded():
    split = split_table(53, "+", 0.6, seed=0)
    assert len(split.train_labels) == 1685 and len(split.test_labels) == 2809 - 1685
    both = np.concatenate([split.train_pairs, split.test_pairs])
    assert len({tuple(p) for p in both}) == 2809
    assert ((split.train_pairs.sum(1) % 53) == split.train_labels).all()
    again = split_table(53, "+", 0.6, seed=0)
    other = split_table(53, "+", 0.6, seed=1)
    assert np.array_equal(again.train_pairs, split.train_pairs)
    assert not np.array_equal(other.train_pairs, split.train_pairs)


def test_primes():
    assert [p for p in range(20) if is_prime(p)] == [2, 3, 5, 7, 11, 13, 17, 19]


@pytest.mark.parametrize(
    ("args", "match"),
    [((6, "/", 0.5), "not prime"), ((5, "%", 0.5), "operation"), ((5, "+", 0.01), "empty")],
)
def test_bad_tables_raise_config_errors(args, match):
    p, operation, fraction = args
    with pytest.raises(ConfigError, match=match):
        split_table(p, operation, fraction, seed=0)


def test_config_rejects_impossible_combinations_and_unknown_keys():
    with pytest.raises(ValidationError, match="not prime"):
        GrokkingConfig(p=6, operation="/")
    with pytest.raises(ValidationError, match="divisible"):
        GrokkingConfig(model="transformer", width=10, heads=4)
    with pytest.raises(ValidationError, match="extra"):
        DynamicsConfig(grokking={"stpes": 10})
