"""Real handwritten digits (scikit-learn's bundled 8×8 set), optionally with a rare class.

1,797 images of 64 pixels, scaled from 0..16 to [0, 1]. ``rare_class`` keeps only a few
images of one digit, so that it makes up at most ``rare_share`` of the rows: the seeds'
"rare dog breeds vanish" experiment asks whether collapse erases such a class first.
"""

from __future__ import annotations

import numbers
from functools import lru_cache

import numpy as np

from genloop.core.errors import ConfigError
from genloop.data.files import FiniteSource


@lru_cache(maxsize=1)
def real_digits() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits as rows in [0, 1], shape ``(1797, 64)``, and their labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return digits.data / 16.0, digits.target.astype(np.int64)


class DigitsSource(FiniteSource):
    """Handwritten digits as finite real data, drawn without replacement.

    Parameters
    ----------
    rare_class : int, optional
        A digit (0–9) kept at no more than ``rare_share`` of the rows.
    rare_share : float, default 0.03
        The rare class's share of the rows (its first images in scikit-learn's order).

    Attributes
    ----------
    rows : ndarray of shape (n_rows, 64)
    labels : ndarray of shape (n_rows,)
    """

    name = "digits"

    def __init__(self, rare_class=None, rare_share=0.03):
        if rare_class is not None and (
            isinstance(rare_class, bool)
            or not isinstance(rare_class, numbers.Integral)
            or not 0 <= rare_class <= 9
        ):
            raise ConfigError(f"source.rare_class={rare_class!r} must be a digit 0..9")
        if not 0.0 < float(rare_share) < 1.0:
            raise ConfigError(f"source.rare_share={rare_share!r} must lie in (0, 1)")
        self.rare_class, self.rare_share = rare_class, float(rare_share)
        rows, labels = real_digits()
        if rare_class is not None:
            others = np.flatnonzero(labels != rare_class)
            # k / (k + others) ≤ share  ⇔  k ≤ share · others / (1 − share)
            keep = int(np.floor(self.rare_share * len(others) / (1 - self.rare_share)))
            rare = np.flatnonzero(labels == rare_class)[: max(1, keep)]
            index = np.sort(np.concatenate([others, rare]))
            rows, labels = rows[index], labels[index]
        self.rows, self.labels = rows, labels

    def describe(self) -> str:
        if self.rare_class is None:
            return "digits (8x8, 1,797 real images)"
        return f"digits with digit {self.rare_class} at ≤{self.rare_share:.0%}"
