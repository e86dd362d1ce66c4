"""``dedup``: drop exact duplicates (content hash) and, for text, near duplicates.

Exact: a row whose content hash already occurred earlier in the batch is dropped
(``"exact duplicate of <id>"``, the id of the first occurrence). Optionally the filter
also remembers the real reference rows (``against_real``) and every row of its earlier
batches (``against_history``); a filter instance lives for one seed and :meth:`prepare`
starts its memory afresh.

Near (``near=True``, text only): documents are compared by MinHash estimates of the
Jaccard similarity of their word shingles (:mod:`genloop.curation.near_duplicates`).
Rows are visited in order and a row is dropped when it is near a row kept before it
(``"near duplicate of <id> (J≈0.86)"``), so every dropped row cites a kept row that
stands in for it and no two kept rows are near duplicates of each other.

Both memories are off by default because they change what the filter means: every
categorical value and every token block a model reproduces from its training data would
be "seen" in the real data, and with an accumulating pool every old row is "seen" in an
earlier batch. Within-batch deduplication is the datatrove-style filter the others build
on; memorisation studies switch the memories on.
"""

from __future__ import annotations

import numpy as np

from genloop.core.errors import ConfigError, DataError
from genloop.curation.filters.base import KEPT, Batch, CurationContext, Filter
from genloop.provenance.hashing import content_hashes


def _documents(batch_texts, X) -> list:
    """The documents near-duplicate matching compares: decoded texts, else token arrays."""
    if batch_texts is not None:
        return list(batch_texts)
    X = np.asarray(X) if not isinstance(X, np.ndarray) else X
    if X.dtype == object or (X.ndim == 2 and X.dtype.kind in "iu"):
        return list(X)
    raise DataError(
        f"dedup near=True compares text; this batch holds {X.dtype} rows of shape "
        f"{X.shape} and no texts (use near=false for vectors and categorical data)"
    )


class Dedup(Filter):
    """Drop rows that repeat an earlier row exactly or, for text, nearly.

    Parameters
    ----------
    near : bool, default False
        Also drop near-duplicate text (MinHash LSH over word shingles of
        ``batch.texts``, or over token ids when a batch has no texts).
    threshold : float, default 0.8
        Estimated Jaccard similarity at or above which two documents are near duplicates.
    shingle : int, default 3
        Words (or tokens) per shingle.
    num_perm : int, default 128
        MinHash permutations.
    against_real : bool, default False
        Also drop rows that duplicate a real reference row (``context.original``; for
        near duplicates of text, its decoded text). Needs :meth:`prepare`.
    against_history : bool, default False
        Also drop rows that duplicate any row of this filter's earlier batches in the
        same seed.
    miss_rate, false_alarm_rate : float, default 0
        Imperfection knobs (see :class:`~genloop.curation.filters.base.Filter`).
    """

    name = "dedup"

    def __init__(
        self,
        near=False,
        threshold=0.8,
        shingle=3,
        num_perm=128,
        against_real=False,
        against_history=False,
        miss_rate=0.0,
        false_alarm_rate=0.0,
    ):
        super().__init__(miss_rate=miss_rate, false_alarm_rate=false_alarm_rate)
        if not 0.0 < float(threshold) <= 1.0:
            raise ConfigError(f"dedup.threshold must lie in (0, 1], got {threshold}")
        if int(shingle) < 1:
            raise ConfigError(f"dedup.shingle must be at least 1, got {shingle}")
        if int(num_perm) < 2:
            raise ConfigError(f"dedup.num_perm must be at least 2, got {num_perm}")
        self.near = bool(near)
        self.threshold = float(threshold)
        self.shingle = int(shingle)
        self.num_perm = int(num_perm)
        self.against_real = bool(against_real)
        self.against_history = bool(against_history)
        self._context: CurationContext | None = None
        self._reset()

    def _reset(self) -> None:
        # hash -> label of the row that first carried it (a sample id, or "real[k]" for the
        # k-th real reference row)
        self._seen: dict[str, str] = {}
        self._index = None  # MinHashIndex of remembered documents (near dedup)
        self._index_labels: list[str] = []

    def prepare(self, context: CurationContext) -> None:
        """Forget earlier seeds; remember the real rows if ``against_real``."""
        self._context = context
        self._reset()
        if self.against_real:
            for k, h in enumerate(content_hashes(context.original)):
                self._seen.setdefault(str(h), f"real[{k}]")

    def _real_documents(self, as_text: bool) -> list:
        """The real rows as near-dedup documents, in the batch's representation."""
        original = self._context.original
        decode = getattr(self._context.source, "decode", None)
        if as_text and decode is not None:
            return [decode(row) for row in original]
        return _documents(None, original)

    def _near_index(self, batch: Batch):
        """The index of remembered documents (built on first use, real rows first)."""
        if self._index is None:
            from genloop.curation.near_duplicates import MinHashIndex

            self._index = MinHashIndex(self.threshold, self.num_perm, self.shingle)
            if self.against_real:
                real = self._real_documents(as_text=batch.texts is not None)
                self._index.add(real)
                self._index_labels.extend(f"real[{k}]" for k in range(len(real)))
        return self._index

    def decide(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        if self.against_real and self._context is None:
            raise ConfigError("dedup.against_real needs prepare(context) before the first batch")
        n = len(batch)
        mask = np.ones(n, dtype=bool)
        reasons = np.full(n, KEPT, dtype=object)
        hashes = content_hashes(batch.X)
        # Within the batch, the first occurrence wins; the memory (real rows, earlier
        # batches) is consulted before the batch itself.
        first_in_batch: dict[str, str] = {}
        for i, h in enumerate(hashes):
            h = str(h)
            earlier = self._seen.get(h) or first_in_batch.get(h)
            if earlier is not None:
                mask[i] = False
                reasons[i] = f"exact duplicate of {earlier}"
            else:
                first_in_batch[h] = str(batch.ids[i])
        if self.near:
            self._drop_near(batch, mask, reasons)
        if self.against_history:
            for h, label in first_in_batch.items():
                self._seen.setdefault(h, label)
        return mask, reasons

    def _drop_near(self, batch: Batch, mask: np.ndarray, reasons: np.ndarray) -> None:
        """Drop (in place) rows near a remembered row or a row kept earlier in the batch."""
        from genloop.curation.near_duplicates import MinHashIndex

        remembering = self.against_real or self.against_history
        memory = self._near_index(batch) if remembering else None
        kept = MinHashIndex(self.threshold, self.num_perm, self.shingle)
        kept_labels: list[str] = []
        minhashes = kept.minhashes(_documents(batch.texts, batch.X))
        for i, mh in enumerate(minhashes):
            if not mask[i]:
                continue
            # The memory (real rows first, then earlier batches) is cited before the batch.
            found = []
            if memory is not None:
                found += [(self._index_labels[r], j) for r, j in memory.matches(mh)]
            found += [(kept_labels[r], j) for r, j in kept.matches(mh)]
            if found:
                label, j = found[0]
                mask[i] = False
                reasons[i] = f"near duplicate of {label} (J≈{j:.2f})"
            else:
                kept.add_minhashes([mh])
                kept_labels.append(str(batch.ids[i]))
        if self.against_history:
            self._index.add_minhashes([mh for i, mh in enumerate(minhashes) if mask[i]])
            self._index_labels.extend(str(batch.ids[i]) for i in np.flatnonzero(mask))
