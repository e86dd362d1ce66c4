"""Reference data sources: where generation 0's real data comes from.

A source draws original data and, where it is a known ground truth, exposes the truth's
parameters so that metrics can compare models with it exactly.

* ``kind``: ``"vectors"`` (float rows, shape ``(n, d)``) or ``"categorical"``
  (integer states in ``0..K-1``, shape ``(n, 1)``).
* ``draw(n, rng)``: ``n`` rows. Synthetic truths sample; finite real datasets draw rows
  without replacement (an error naming the source if ``n`` exceeds what it holds).
* ``split(n, n_holdout, rng)``: disjoint original and held-out rows.
* Truth attributes (``None`` when unknown): ``probabilities`` (shape ``(K,)``,
  categorical), ``mean``/``covariance`` (Gaussian truth), ``mixture`` (a tuple of
  weights ``(k,)``, means ``(k, d)``, full covariances ``(k, d, d)``).
"""

from __future__ import annotations

import numpy as np


class Source:
    """Base class for reference data sources."""

    kind: str = "vectors"
    #: categorical truth, shape (K,), or None
    probabilities: np.ndarray | None = None
    #: Gaussian truth, or None
    mean: np.ndarray | None = None
    covariance: np.ndarray | None = None
    #: Gaussian-mixture truth (weights (k,), means (k, d), covariances (k, d, d)), or None
    mixture: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def n_states(self) -> int | None:
        """Number of categorical states, or None for vector data."""
        return None if self.probabilities is None else len(self.probabilities)

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:  # pragma: no cover
        """Draw ``n`` rows of original data."""
        raise NotImplementedError

    def split(self, n: int, n_holdout: int, rng: np.random.Generator):
        """Return ``(original, holdout)``: disjoint draws of ``n`` and ``n_holdout`` rows."""
        rows = self.draw(n + n_holdout, rng)
        return rows[:n], rows[n:]

    def describe(self) -> str:
        """One line for reports and the CLI."""
        return type(self).__name__
