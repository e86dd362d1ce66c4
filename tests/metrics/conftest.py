"""Shared helpers for metric tests: a context factory and hand-made stand-in models."""

from __future__ import annotations

import numpy as np
import pytest

from genloop.metrics.base import MetricContext


class TruthSource:
    """A stand-in source carrying only the truth attributes metrics read."""

    def __init__(self, probabilities=None, mean=None, covariance=None, mixture=None):
        self.probabilities = probabilities
        self.mean = mean
        self.covariance = covariance
        self.mixture = mixture


@pytest.fixture
def make_context():
    """Build a MetricContext with sensible empty defaults for the fields a test omits."""

    def build(model, source=None, original=None, holdout=None, initial_model=None, seed=0):
        empty = np.zeros((0, 1))
        return MetricContext(
            generation=1,
            model=model,
            pool=empty,
            initial_model=initial_model,
            source=source if source is not None else TruthSource(),
            original=empty if original is None else np.asarray(original),
            holdout=empty if holdout is None else np.asarray(holdout),
            rng=np.random.default_rng(seed),
        )

    return build


@pytest.fixture
def truth_source():
    """The TruthSource class, so tests can build sources with chosen truths."""
    return TruthSource
