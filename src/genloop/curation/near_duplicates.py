"""Exact and near-duplicate matching between rows, shared by ``dedup`` and the audit.

Exact matches compare content hashes (:mod:`genloop.provenance.hashing`). Near duplicates
of text compare sets of word shingles (``n`` consecutive lower-cased words) by their
Jaccard similarity, estimated with MinHash and looked up with locality-sensitive hashing
(datasketch), so a query costs about the same whatever the size of the reference set.
Token sequences (text rows without decoded strings) are shingled the same way over token
ids.

A document with fewer than ``n`` words is one shingle (all its words); an empty document
has no shingles and is never a near duplicate of anything (exact matching still finds
two empty rows equal).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from genloop.core.errors import ConfigError, DataError


def exact_matches(query_hashes, reference_hashes) -> np.ndarray:
    """Which query rows have a content hash that also occurs in the reference.

    Parameters
    ----------
    query_hashes : array-like of str, shape (n,)
    reference_hashes : array-like of str, shape (m,)

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    query = np.asarray(query_hashes, dtype=object)
    reference = set(np.asarray(reference_hashes, dtype=object).tolist())
    return np.fromiter((h in reference for h in query), dtype=bool, count=len(query))


def shingles(document, n: int = 3) -> set[bytes]:
    """The set of ``n``-shingles of a document, as bytes (MinHash input).

    Parameters
    ----------
    document : str or 1-D int array
        Text (split into lower-cased words on whitespace) or a token sequence.
    n : int
        Words (or tokens) per shingle.

    Returns
    -------
    set of bytes
    """
    if isinstance(document, str):
        units = document.lower().split()
    else:
        values = np.asarray(document)
        if values.ndim != 1 or values.dtype.kind not in "iub":
            raise DataError(
                f"near duplicates need text or 1-D integer token sequences, got an array "
                f"of dtype {values.dtype} and shape {values.shape}"
            )
        units = [str(int(v)) for v in values]
    if not units:
        return set()
    if len(units) <= n:
        return {" ".join(units).encode("utf-8")}
    return {" ".join(units[i:i + n]).encode("utf-8") for i in range(len(units) - n + 1)}


def _check_settings(threshold: float, num_perm: int, shingle: int) -> None:
    if not 0.0 < float(threshold) <= 1.0:
        raise ConfigError(f"near-duplicate threshold must lie in (0, 1], got {threshold}")
    if int(num_perm) < 2:
        raise ConfigError(f"near-duplicate num_perm must be at least 2, got {num_perm}")
    if int(shingle) < 1:
        raise ConfigError(f"near-duplicate shingle must be at least 1, got {shingle}")


class MinHashIndex:
    """A growing set of reference documents that answers near-duplicate queries.

    Parameters
    ----------
    threshold : float, default 0.8
        Jaccard similarity (estimated) at or above which two documents are near
        duplicates.
    num_perm : int, default 128
        MinHash permutations; the estimate's standard error is about
        ``sqrt(J (1 - J) / num_perm)`` (0.035 at J = 0.8, 128 permutations).
    shingle : int, default 3
        Words (or tokens) per shingle.
    seed : int, default 1
        Seed of the MinHash permutations; query and reference must share it.
    """

    def __init__(self, threshold=0.8, num_perm=128, shingle=3, seed=1):
        _check_settings(threshold, num_perm, shingle)
        from datasketch import MinHashLSH  # heavy-ish: imported only when near dedup runs

        self.threshold = float(threshold)
        self.num_perm = int(num_perm)
        self.shingle = int(shingle)
        self.seed = int(seed)
        # LSH candidates are checked against the estimate anyway, so a false positive only
        # costs one comparison while a false negative is a missed duplicate: weigh misses
        # 9:1 (with 128 permutations, 14 bands of 9 rows: a pair at J = 0.9 is missed with
        # probability 0.001, at J = 0.85 with 0.025; the default 1:1 weights miss 7% and 31%).
        self._lsh = MinHashLSH(
            threshold=self.threshold, num_perm=self.num_perm, weights=(0.1, 0.9)
        )
        self._minhashes: list = []  # position in the index -> MinHash (None if empty)

    def __len__(self) -> int:
        return len(self._minhashes)

    def minhashes(self, documents: Iterable) -> list:
        """One MinHash per document (``None`` for a document without shingles)."""
        from datasketch import MinHash

        sets = [shingles(d, self.shingle) for d in documents]
        # MinHash.bulk shares one set of permutations across documents (much cheaper than
        # one MinHash object per document, each drawing its own).
        nonempty = [i for i, s in enumerate(sets) if s]
        hashes = MinHash.bulk(
            [sets[i] for i in nonempty], num_perm=self.num_perm, seed=self.seed
        )
        out: list = [None] * len(sets)
        for i, mh in zip(nonempty, hashes, strict=True):
            out[i] = mh
        return out

    def add_minhashes(self, minhashes: Sequence) -> None:
        """Append documents (as MinHashes, ``None`` for empty ones) to the index."""
        for mh in minhashes:
            key = len(self._minhashes)
            if mh is not None:
                self._lsh.insert(key, mh)
            self._minhashes.append(mh)

    def add(self, documents: Iterable) -> None:
        """Append documents to the index; they are numbered in order from ``len(self)``."""
        self.add_minhashes(self.minhashes(documents))

    def matches(self, minhash) -> list[tuple[int, float]]:
        """Indexed documents near ``minhash``: ``(position, jaccard_estimate)`` by position.

        LSH proposes candidates; only those whose estimated Jaccard similarity reaches the
        threshold are returned (LSH alone also admits some pairs below it).
        """
        if minhash is None:
            return []
        found = []
        for key in self._lsh.query(minhash):
            estimate = float(minhash.jaccard(self._minhashes[key]))
            if estimate >= self.threshold:
                found.append((int(key), estimate))
        return sorted(found)


def near_duplicate_pairs(
    query_texts, reference_texts, threshold=0.8, num_perm=128, shingle=3, seed=1
) -> list[tuple[int, int, float]]:
    """Pairs of query and reference documents whose shingle sets are nearly the same.

    Parameters
    ----------
    query_texts : sequence of str or of 1-D int arrays, length n
    reference_texts : sequence of str or of 1-D int arrays, length m
    threshold : float, default 0.8
        Estimated Jaccard similarity at or above which a pair is reported.
    num_perm : int, default 128
        MinHash permutations.
    shingle : int, default 3
        Words (or tokens) per shingle.
    seed : int, default 1
        Seed of the MinHash permutations.

    Returns
    -------
    list of (query_index, reference_index, jaccard_estimate)
        Sorted by query index, then reference index. Passing the same list as query and
        reference reports every document paired with itself (estimate 1.0) too.
    """
    index = MinHashIndex(threshold, num_perm, shingle, seed)
    index.add(reference_texts)
    pairs = []
    for q, mh in enumerate(index.minhashes(query_texts)):
        pairs.extend((q, r, j) for r, j in index.matches(mh))
    return pairs
