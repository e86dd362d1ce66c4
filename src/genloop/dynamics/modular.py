"""Modular arithmetic tasks ``a op b mod p``: every pair once, split into train and test.

The grokking literature (Power et al. 2022; Nanda et al. 2023) trains on a random
fraction of the full table of a binary operation and tests on the rest; the table is
small (``p²`` pairs), so full-batch training is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genloop.core.errors import ConfigError
from genloop.core.rng import generator

OPERATIONS = ("+", "-", "*", "/")


def is_prime(p: int) -> bool:
    """Return True when ``p`` is a prime number (trial division; p is small here)."""
    if p < 2:
        return False
    divisor = 2
    while divisor * divisor <= p:
        if p % divisor == 0:
            return False
        divisor += 1
    return True


def operation_table(p: int, operation: str) -> tuple[np.ndarray, np.ndarray]:
    """Every operand pair of ``a op b mod p`` and its answer.

    Division ``a / b`` means ``a · b⁻¹ mod p`` and is defined for ``b ≠ 0`` only, so its
    table has ``p·(p−1)`` rows; the other operations have ``p²``.

    Parameters
    ----------
    p : int
        The modulus (≥ 2; prime for division so that every ``b ≠ 0`` has an inverse).
    operation : {"+", "-", "*", "/"}
        The binary operation.

    Returns
    -------
    pairs : ndarray of shape (n_pairs, 2), dtype int64
        Operands ``(a, b)`` in row-major order of ``a`` then ``b``.
    labels : ndarray of shape (n_pairs,), dtype int64
        ``a op b mod p``.
    """
    if operation not in OPERATIONS:
        raise ConfigError(f"grokking.operation={operation!r}; allowed: {', '.join(OPERATIONS)}")
    if p < 2:
        raise ConfigError(f"grokking.p={p}; the modulus must be at least 2")
    if operation == "/" and not is_prime(p):
        raise ConfigError(f"grokking.p={p} is not prime; division mod p needs a prime p")
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    a, b = a.ravel(), b.ravel()
    if operation == "/":
        keep = b != 0
        a, b = a[keep], b[keep]
        inverse = np.array([pow(int(v), p - 2, p) for v in b], dtype=np.int64)  # Fermat
        labels = (a * inverse) % p
    elif operation == "+":
        labels = (a + b) % p
    elif operation == "-":
        labels = (a - b) % p
    else:
        labels = (a * b) % p
    pairs = np.stack([a, b], axis=1).astype(np.int64)
    return pairs, labels.astype(np.int64)


@dataclass(frozen=True)
class ModularSplit:
    """A train/test split of one operation table.

    Attributes
    ----------
    train_pairs, test_pairs : ndarray of shape (n, 2), int64
    train_labels, test_labels : ndarray of shape (n,), int64
    p : int
        The modulus (number of classes).
    """

    train_pairs: np.ndarray
    train_labels: np.ndarray
    test_pairs: np.ndarray
    test_labels: np.ndarray
    p: int


def split_table(p: int, operation: str, train_fraction: float, seed: int) -> ModularSplit:
    """Split the table of ``a op b mod p`` at random into train and test pairs.

    The number of training pairs is ``round(train_fraction · n_pairs)``; the split is
    drawn from the ``(seed, -1, "split")`` stream, so it is the same for every model
    and optimiser setting that shares the seed.

    Raises
    ------
    ConfigError
        If the fraction leaves the train or the test set empty.
    """
    if not 0.0 < train_fraction < 1.0:
        raise ConfigError(f"grokking.train_fraction={train_fraction}; must be in (0, 1)")
    pairs, labels = operation_table(p, operation)
    n_train = int(round(train_fraction * len(labels)))
    if n_train < 1 or n_train >= len(labels):
        raise ConfigError(
            f"grokking.train_fraction={train_fraction} gives {n_train} of {len(labels)} "
            "pairs for training; both train and test must be non-empty"
        )
    order = generator(seed, -1, "split").permutation(len(labels))
    train, test = np.sort(order[:n_train]), np.sort(order[n_train:])
    return ModularSplit(pairs[train], labels[train], pairs[test], labels[test], p)
