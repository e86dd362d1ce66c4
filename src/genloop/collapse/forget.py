"""Forgetting rows: the ``forget:`` key of a collapse recipe, the counterfactual of unlearning.

``forget: [SAMPLE_ID, ...]`` runs the loop as if the named rows had never been in the
data (docs/unlearning.md). :mod:`genloop.collapse.unlearn` reruns a finished run with this
key set, reusing every generation the rows did not reach; a fresh run with the same key
is the reference it must equal bit for bit.

What a forgotten row is, by kind:

* **Real** (``<hash>-gr-<i>``): the record is its *content*. Every real row whose content
  hash starts with the id's 16 hex digits leaves the original data, the held-out data
  and every fresh draw (exact duplicates are the same record and go with it). Its place
  is taken by a replacement row the source draws from a stream of its own
  (``(seed, generation, "forget")``) that holds neither a forgotten row nor a row the
  draw already has: the source "never held" the record, so the recipe still gets its
  ``n`` rows, and every other row keeps its position and its id.
* **Generated** (``<hash>-g<k>-<i>``): dropped from generation ``k``'s candidates before
  curation, without replacement (the model simply made one row fewer).

Rows descending from a forgotten row (LM continuations of a forgotten prompt) cannot
arise: their prompt is gone. Categorical real rows cannot be forgotten one by one, since
their content is a state shared by every row in it; the config refuses them.

Which draws keep their values when a row goes (per-row) and which do not (per-pool) is
what makes "reuse every generation before the first affected one" exact:

* per-row: the original/held-out split and fresh draws (other rows keep position and
  value; only the replaced slot changes), the candidates of a generation (a dropped
  candidate leaves the others as they were);
* per-pool: fitting a model, sampling from it, mixing (subsets drawn over the whole
  pool), filters that learn thresholds from a batch. Everything from the first
  generation the row reaches onwards is recomputed, never patched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from genloop.core.errors import DataError
from genloop.core.rng import generator
from genloop.provenance.pool import REAL, Pool

#: a sample id: 16 hex digits of the content hash, the generation tag, the batch index
SAMPLE_ID = re.compile(r"^(?P<hash>[0-9a-f]{16})-g(?P<tag>r|\d+)-(?P<index>\d+)$")
#: at most this many rows may be forgotten in one config (each is a set lookup per row)
MAX_FORGET = 100_000


def parse_sample_id(sample_id: str) -> tuple[str, int | None, int]:
    """``(hash prefix, generation or None for real, index)`` of a sample id.

    Raises
    ------
    ValueError
        ``sample_id`` is not of the form ``<16 hex>-g<r|k>-<index>``.
    """
    match = SAMPLE_ID.match(sample_id) if isinstance(sample_id, str) else None
    if match is None:
        raise ValueError(
            f"forget: {sample_id!r} is not a sample id (<16 hex digits>-g<r|generation>-"
            "<index>, as `genloop export` and `genloop lineage` print them)"
        )
    tag = match["tag"]
    return match["hash"], None if tag == "r" else int(tag), int(match["index"])


@dataclass(frozen=True)
class ForgetSet:
    """The rows a config forgets.

    Attributes
    ----------
    real : frozenset of str
        16-hex content-hash prefixes of forgotten real records.
    generated : frozenset of str
        Full sample ids of forgotten generated rows.
    """

    real: frozenset[str] = frozenset()
    generated: frozenset[str] = frozenset()

    @classmethod
    def from_ids(cls, ids) -> ForgetSet:
        real, generated = set(), set()
        for sample_id in ids:
            prefix, generation, _ = parse_sample_id(sample_id)
            if generation is None:
                real.add(prefix)
            else:
                generated.add(sample_id)
        return cls(frozenset(real), frozenset(generated))

    def __bool__(self) -> bool:
        return bool(self.real or self.generated)

    def real_rows(self, hashes: np.ndarray) -> np.ndarray:
        """Boolean mask of the rows (content hashes) that are forgotten real records."""
        if not self.real or not len(hashes):
            return np.zeros(len(hashes), dtype=bool)
        return np.fromiter((h[:16] in self.real for h in hashes), dtype=bool, count=len(hashes))

    def generated_rows(self, ids: np.ndarray) -> np.ndarray:
        """Boolean mask of the rows (sample ids) that are forgotten generated rows."""
        if not self.generated or not len(ids):
            return np.zeros(len(ids), dtype=bool)
        return np.fromiter((i in self.generated for i in ids), dtype=bool, count=len(ids))


def _finite_size(source) -> int | None:
    """Rows a finite source holds (a table, a corpus' blocks), None for a distribution."""
    if hasattr(source, "n_rows"):
        return int(source.n_rows)
    if hasattr(source, "blocks"):
        return len(source.blocks)
    return None


def replacements(source, count: int, taken: set[str], forget: ForgetSet,
                 rng: np.random.Generator, where: str):
    """``count`` rows from ``source`` that are neither forgotten nor among ``taken``.

    ``taken`` holds the full content hashes of the rows the draw already has. A finite
    source is drawn whole (a permutation of every row it holds) and the first rows that
    qualify are kept; a distribution is drawn in growing batches.

    Raises
    ------
    DataError
        The source holds too few other rows.
    """
    from genloop.provenance.hashing import content_hashes

    size = _finite_size(source)
    asks = [size] if size is not None else [2 * count + 8, 8 * count + 64, 64 * count + 512]
    for ask in asks:
        rows = source.draw(ask, rng)
        hashes = content_hashes(rows)
        usable = np.flatnonzero([h not in taken and h[:16] not in forget.real for h in hashes])
        # A distribution may repeat a row (a discrete one often does): keep each once.
        _, first = np.unique(hashes[usable], return_index=True)
        usable = usable[np.sort(first)]
        if len(usable) >= count:
            return rows[usable[:count]]
    raise DataError(
        f"forget: the source holds too few other rows to replace {count} forgotten "
        f"row(s) of the {where}"
    )


def split_without(source, n: int, n_holdout: int, seed: int, forget: ForgetSet):
    """The unit's original and held-out data, without the forgotten records.

    Returns
    -------
    original : Pool
        The original rows (ids ``<hash>-gr-0 .. n-1``); a replaced row keeps its index.
    holdout : ndarray
    forgotten : dict
        ``{"original": k, "holdout": h}``: rows replaced in each part.
    """
    original_X, holdout_X = source.split(n, n_holdout, generator(seed, -1, "data"))
    original = Pool.real(original_X)
    if not forget.real:
        return original, holdout_X, {"original": 0, "holdout": 0}
    from genloop.provenance.hashing import content_hashes

    holdout_hashes = content_hashes(holdout_X)
    drop_original = forget.real_rows(original.hashes)
    drop_holdout = forget.real_rows(holdout_hashes)
    forgotten = {"original": int(drop_original.sum()), "holdout": int(drop_holdout.sum())}
    if not drop_original.any() and not drop_holdout.any():
        return original, holdout_X, forgotten
    taken = set(original.hashes.tolist()) | set(holdout_hashes.tolist())
    rng = generator(seed, -1, "forget")
    # One stream for both parts, original first: the replacements never repeat a row.
    wanted = int(drop_original.sum() + drop_holdout.sum())
    fill = replacements(source, wanted, taken, forget, rng, "original and held-out data")
    k = int(drop_original.sum())
    new_original = original_X.copy()
    new_original[np.flatnonzero(drop_original)] = fill[:k]
    new_holdout = holdout_X.copy()
    new_holdout[np.flatnonzero(drop_holdout)] = fill[k:]
    return Pool.real(new_original), new_holdout, forgotten


def fresh_without(fresh: Pool, source, forget: ForgetSet, seed: int, generation: int,
                  purpose: str) -> Pool:
    """A generation's fresh real rows with forgotten records replaced (same indices)."""
    if not forget.real:  # hashing every fresh row costs time a plain run should not pay
        return fresh
    drop = forget.real_rows(fresh.hashes)
    if not drop.any():
        return fresh
    X = fresh.X.copy()
    X[np.flatnonzero(drop)] = replacements(
        source, int(drop.sum()), set(fresh.hashes.tolist()), forget,
        generator(seed, generation, f"forget.{purpose}"), f"fresh draw of generation {generation}")
    return Pool(X, np.full(len(X), REAL, dtype=np.int64), fresh.index.copy())


def candidates_without(candidates: Pool, forget: ForgetSet) -> Pool:
    """A generation's candidates without the forgotten generated rows."""
    if not forget.generated:
        return candidates
    drop = forget.generated_rows(candidates.ids)
    return candidates.take(np.flatnonzero(~drop)) if drop.any() else candidates
