"""The Generator contract shared by every model family.

A family is a scikit-learn density estimator:

* ``__init__`` only stores parameters; fitted attributes end in ``_``;
* ``fit(X, y=None)`` returns ``self``;
* ``score_samples(X)`` returns the log-likelihood of each row, shape ``(n_samples,)``;
* ``score(X)`` returns the mean log-likelihood;
* ``sample(n_samples=1, random_state=None)`` returns only ``X``, shape
  ``(n_samples, n_features)``; ``random_state`` may be ``None``, an int or a
  :class:`numpy.random.Generator` (the engine always passes a Generator).

For checkpoints every family also offers ``to_arrays()`` (a flat ``dict[str, ndarray]``
that :mod:`safetensors` can store) and ``from_arrays(arrays)`` which restores a fitted
estimator from it. ``kind`` says what a row is: ``"vectors"`` (real features) or
``"categorical"`` (one integer state per row, shape ``(n, 1)``).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin


class DensityFamily(DensityMixin, BaseEstimator):
    """Base class: sklearn plumbing plus the checkpoint contract."""

    kind: str = "vectors"

    def score(self, X, y=None):
        """Mean log-likelihood of the rows of ``X``."""
        return float(np.mean(self.score_samples(X)))

    def to_arrays(self) -> dict[str, np.ndarray]:  # pragma: no cover - abstract
        """Fitted state as named arrays (for safetensors checkpoints)."""
        raise NotImplementedError

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], **params):  # pragma: no cover
        """Rebuild a fitted estimator from :meth:`to_arrays` output."""
        raise NotImplementedError
