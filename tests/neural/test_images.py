"""Digits source with a rare class, and the image metrics on hand-made models (tier 1)."""

from __future__ import annotations

import numpy as np
import pytest

from genloop.core.errors import ConfigError
from genloop.data.digits import DigitsSource, real_digits
from genloop.metrics.base import MetricContext
from genloop.metrics.images import (
    DigitClasses,
    FrechetDistance,
    LatentSpread,
    frechet_distance,
)


def test_rare_class_is_kept_at_most_at_its_share():
    source = DigitsSource(rare_class=3, rare_share=0.03)
    share = np.mean(source.labels == 3)
    assert 0.02 < share <= 0.03
    assert len(source.rows) == np.sum(real_digits()[1] != 3) + np.sum(source.labels == 3)
    assert DigitsSource().rows.shape == (1797, 64) and DigitsSource().rows.max() == 1.0
    with pytest.raises(ConfigError, match="rare_class=12"):
        DigitsSource(rare_class=12)


def test_frechet_distance_of_shifted_gaussians():
    # Same covariance, means 2 apart in one coordinate: distance 4 (the squared shift).
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20000, 2))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(a, a + [2.0, 0.0]) == pytest.approx(4.0, abs=1e-6)


class Replay:
    """A 'model' whose samples are given rows; encode is the identity on 2 columns."""

    def __init__(self, rows):
        self.rows = rows

    def sample(self, n, random_state=None):
        return self.rows[:n]

    def encode(self, rows):
        return np.asarray(rows)[:, :2]


def context(model_rows, initial_rows=None, source=None):
    rows, labels = real_digits()
    return MetricContext(
        generation=1,
        model=Replay(model_rows),
        pool=rows,
        initial_model=Replay(initial_rows),
        source=source or DigitsSource(),
        original=rows[:200],
        holdout=rows[200:400],
        rng=np.random.default_rng(0),
        extra={},
    )


def test_class_shares_of_real_digits_and_the_rare_class():
    rows, labels = real_digits()
    # 50 real 0s and 150 real 1s: the classifier (trained on these digits) labels them.
    chosen = np.concatenate([np.flatnonzero(labels == 0)[:50], np.flatnonzero(labels == 1)[:150]])
    values = DigitClasses(min_share=0.1).measure(context(rows[chosen], source=DigitsSource(0)))
    assert values["class_share_0"] == pytest.approx(0.25, abs=0.01)
    assert values["class_share_1"] == pytest.approx(0.75, abs=0.01)
    assert (
        values["classes_covered"] == 2.0 and values["rare_class_share"] == values["class_share_0"]
    )


def test_latent_spread_ratio_and_frechet_of_real_digits():
    rows, _ = real_digits()
    values = LatentSpread().measure(context(rows[:200]))
    assert values["latent_spread_ratio"] == pytest.approx(1.0)
    assert FrechetDistance().measure(context(rows[400:800]))["frechet_distance"] < 20.0
    assert FrechetDistance().measure(context(np.zeros((400, 64)) + 0.5))["frechet_distance"] > 50
