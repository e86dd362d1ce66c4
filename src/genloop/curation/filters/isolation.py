"""``isolation``: keep clean human data separate by capping the synthetic share.

Reads provenance (``batch.origin``), not content: a row is synthetic when its origin is
a generation (``k >= 0``) and real when it is ``-1``. ``max_share: 0`` drops every
synthetic row; ``max_share: 0.2`` drops randomly chosen synthetic rows (with the
batch's own random stream) until synthetic rows are at most 20% of the kept batch.

The cap is relative to the real rows *in the batch*: with the loop's default curation
of model samples only, a batch has no real rows and any ``max_share < 1`` drops every
candidate. Use it with ``curate: incoming`` (fresh real rows pass through the filters
too), where it bounds the synthetic share of what enters the pool.
"""

from __future__ import annotations

import math

import numpy as np

from genloop.core.errors import ConfigError
from genloop.curation.filters.base import KEPT, Batch, Filter

REAL = -1  # the origin of real rows (Batch.origin)


class Isolation(Filter):
    """Drop synthetic rows beyond a share of the kept batch.

    Parameters
    ----------
    max_share : float, default 0
        Largest share of synthetic rows among the kept rows, in ``[0, 1]``; 0 drops
        every synthetic row, 1 keeps everything.
    miss_rate, false_alarm_rate : float, default 0
        Imperfection knobs (see :class:`~genloop.curation.filters.base.Filter`); with
        ``miss_rate`` an imperfect provenance check lets some synthetic rows through.
    """

    name = "isolation"

    def __init__(self, max_share=0.0, miss_rate=0.0, false_alarm_rate=0.0):
        super().__init__(miss_rate=miss_rate, false_alarm_rate=false_alarm_rate)
        if not 0.0 <= float(max_share) <= 1.0:
            raise ConfigError(f"isolation.max_share must lie in [0, 1], got {max_share}")
        self.max_share = float(max_share)

    def allowed_synthetic(self, n_real: int, n_synthetic: int) -> int:
        """How many synthetic rows may stay beside ``n_real`` real ones.

        The largest ``s <= n_synthetic`` with ``s / (n_real + s) <= max_share``.
        """
        if self.max_share >= 1.0:
            return n_synthetic
        # s <= share * (n_real + s)  <=>  s <= share * n_real / (1 - share); the epsilon
        # keeps 0.2 * 8 / 0.8 from rounding down to 1.999...
        bound = self.max_share * n_real / (1.0 - self.max_share)
        return min(n_synthetic, math.floor(bound + 1e-9))

    def decide(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        origin = np.asarray(batch.origin)
        synthetic = np.flatnonzero(origin != REAL)
        allowed = self.allowed_synthetic(len(origin) - len(synthetic), len(synthetic))
        mask = np.ones(len(origin), dtype=bool)
        reasons = np.full(len(origin), KEPT, dtype=object)
        # Which synthetic rows stay is random (the batch's stream), not the first ones:
        # the order of a batch is the order rows were generated in.
        if 0 < allowed < len(synthetic):
            drop = np.setdiff1d(synthetic, batch.rng.choice(synthetic, allowed, replace=False))
        else:
            drop = synthetic if allowed == 0 else synthetic[:0]
        cap = "" if self.max_share == 0 else f" over max_share {self.max_share:g}"
        mask[drop] = False
        for i in drop:
            reasons[i] = f"synthetic (gen:{int(origin[i])}){cap}"
        return mask, reasons
