"""Drop rows that carry the green-list watermark (Kirchenbauer et al. 2023).

A model that watermarks what it writes (``family.watermark_gamma``) lets the loop tell
its own text from real text without a trained detector: the z-test of
:mod:`genloop.curation.watermark` needs only the key and γ the generator used.
"""

from __future__ import annotations

import numbers

import numpy as np

from genloop.core.errors import ConfigError, DataError
from genloop.curation.filters.base import KEPT, Batch, CurationContext, Filter
from genloop.curation.watermark import (
    DEFAULT_KEY,
    DEFAULT_THRESHOLD,
    check_watermark,
    green_counts,
    z_from_counts,
)


class WatermarkFilter(Filter):
    """Drop every row whose watermark z-score reaches ``threshold``.

    Parameters
    ----------
    gamma : float in (0, 1), default 0.25
        Green share the generator used.
    key : int, default 15485863
        Hash key the generator used.
    threshold : float, default 4.0
        Rows with ``z ≥ threshold`` are dropped (reason ``"watermark z=7.3"``).
    min_tokens : int, default 16
        Rows with fewer tokens are always kept: their z-score is too noisy to act on.
    ignore_repeated : bool, default False
        Score each distinct bigram of a row once.
    miss_rate, false_alarm_rate : float, default 0
        Imperfect-filter knobs (see :class:`~genloop.curation.filters.base.Filter`).

    Attributes
    ----------
    vocab_size_ : int or None
        The source's vocabulary size, read in :meth:`prepare`; token ids are checked
        against it (green lists themselves do not depend on it).
    last_z_ : ndarray of float, shape (n,)
        z-scores of the last batch (NaN for rows under ``min_tokens``).
    """

    name = "watermark"

    def __init__(
        self,
        gamma: float = 0.25,
        key: int = DEFAULT_KEY,
        threshold: float = DEFAULT_THRESHOLD,
        min_tokens: int = 16,
        ignore_repeated: bool = False,
        miss_rate: float = 0.0,
        false_alarm_rate: float = 0.0,
    ):
        super().__init__(miss_rate, false_alarm_rate)
        check_watermark("filter watermark", gamma, key=key, threshold=threshold)
        if (
            isinstance(min_tokens, bool)
            or not isinstance(min_tokens, numbers.Integral)
            or min_tokens < 2
        ):
            raise ConfigError(f"filter watermark: min_tokens={min_tokens!r} must be an integer ≥ 2")
        self.gamma = float(gamma)
        self.key = int(key)
        self.threshold = float(threshold)
        self.min_tokens = int(min_tokens)
        self.ignore_repeated = bool(ignore_repeated)
        self.vocab_size_ = None

    def prepare(self, context: CurationContext) -> None:
        if context.kind != "text":
            raise ConfigError(
                f"filter watermark works on text (token) pools, not {context.kind} data"
            )
        self.vocab_size_ = getattr(context.source, "vocab_size", None)

    def _rows(self, X) -> list[np.ndarray]:
        if isinstance(X, np.ndarray) and X.dtype != object and X.ndim == 2:
            return list(X)
        if isinstance(X, np.ndarray) and X.dtype == object:
            return [np.asarray(row).reshape(-1) for row in X]
        raise DataError(
            "filter watermark: batch.X must hold token arrays (an object array of 1-D "
            f"int arrays or a 2-D int array), got {type(X).__name__}"
        )

    def decide(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        rows = self._rows(batch.X)
        green, scored = green_counts(
            rows, self.vocab_size_, self.gamma, self.key, self.ignore_repeated
        )
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        z = np.where(lengths >= self.min_tokens, z_from_counts(green, scored, self.gamma), np.nan)
        self.last_z_ = z
        dropped = np.nan_to_num(z, nan=-np.inf) >= self.threshold
        reasons = np.full(len(rows), KEPT, dtype=object)
        reasons[dropped] = [f"watermark z={value:.1f}" for value in z[dropped]]
        return ~dropped, reasons
