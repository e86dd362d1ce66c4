"""watermark_power: exact rates on hand-made all-green / all-red text, defaults taken from
the model, lengths the samples do not reach, and a watermarked n-gram."""

from __future__ import annotations

import numpy as np
import pytest

from genloop.core.errors import ConfigError
from genloop.core.registry import resolve
from genloop.curation import watermark as wm
from genloop.data.tokenize import as_token_blocks
from genloop.families.ngram import NGram
from genloop.metrics.base import MetricContext
from genloop.metrics.watermark import WatermarkPower

KEY = wm.DEFAULT_KEY


def coloured(length, gamma=0.25, green=True, key=KEY, vocab=50, start=0):
    """Every token after the first green (or red) after its predecessor."""
    sequence = [start]
    for _ in range(length - 1):
        mask = wm.green_mask([sequence[-1]], vocab, gamma, key)[0]
        sequence.append(int(np.flatnonzero(mask == green)[0]))
    return np.array(sequence, dtype=np.int64)


class GreenWriter:
    """Continues every prompt with the same all-green 40-token sequence."""

    watermark_gamma, watermark_key = 0.25, KEY

    def __init__(self):
        self.row = coloured(40)

    def generate(self, prompts, random_state=None):
        return as_token_blocks([self.row] * len(prompts))


def context(model, holdout):
    return MetricContext(
        generation=1,
        model=model,
        pool=as_token_blocks([np.arange(4)]),
        initial_model=model,
        source=None,
        original=as_token_blocks([np.arange(4)]),
        holdout=holdout,
        rng=np.random.default_rng(0),
    )


def test_exact_rates_on_all_green_samples_and_all_red_real_text():
    real = as_token_blocks([coloured(64, green=False)] * 3)
    values = WatermarkPower(lengths=[4, 8, 64]).measure(context(GreenWriter(), real))
    # all green over L − 1 scored tokens: z = sqrt(3 (L − 1)) ≥ 4 once L ≥ 7
    assert values == pytest.approx(
        {
            "watermark_detect_len4": 0.0,
            "watermark_detect_len8": 1.0,
            "watermark_detect": 1.0,
            "watermark_z_mean": np.sqrt(3 * 39),
            "watermark_false_positive": 0.0,
            "watermark_z_real_mean": -np.sqrt(63 / 3),
        }
    )  # no len64 key: the samples have 40 tokens


def test_gamma_and_key_come_from_the_metric_before_the_model():
    real = as_token_blocks([coloured(64, green=False)] * 2)
    other_key = WatermarkPower(key=KEY + 1).measure(context(GreenWriter(), real))
    assert other_key["watermark_detect"] == 0.0
    model = GreenWriter()
    model.watermark_gamma = None  # an unwatermarked model: γ = 0.25 is the fallback
    assert WatermarkPower().measure(context(model, real))["watermark_detect"] == 1.0


def test_registered_and_errors_are_one_line():
    assert resolve("metric", "watermark_power") is WatermarkPower
    assert WatermarkPower.kinds == ("text",)
    for params, match in [
        ({"gamma": 1.5}, "gamma=1.5"),
        ({"threshold": 0}, "threshold=0"),
        ({"lengths": [1, 8]}, "lengths"),
        ({"n_samples": 0}, "n_samples=0"),
    ]:
        with pytest.raises(ConfigError, match=match) as error:
            WatermarkPower(**params)
        assert "\n" not in str(error.value)


def test_watermarked_ngram_power_grows_with_length():
    """Seed 0: a bigram over 60 tokens fitted to 300 blocks of a random Markov chain,
    100 free samples of 64 tokens, γ = 0.25, δ = 2. Detection at 64 tokens ≥ 0.95 and
    not below detection at 16 tokens; real held-out blocks ≤ 2% (expected ~0)."""
    rng = np.random.default_rng(0)
    cumulative = np.cumsum(rng.dirichlet(np.full(60, 0.5), size=60), axis=1)
    blocks = np.empty((400, 64), dtype=np.int64)
    state = rng.integers(60, size=400)
    for t in range(64):
        state = np.minimum((cumulative[state] <= rng.random(400)[:, None]).sum(axis=1), 59)
        blocks[:, t] = state
    blocks = as_token_blocks(list(blocks))
    model = NGram(order=2, vocab_size=60, watermark_gamma=0.25).fit(blocks[:300])
    values = WatermarkPower().measure(context(model, blocks[300:]))
    assert values["watermark_detect_len64"] >= 0.95
    assert values["watermark_detect_len64"] >= values["watermark_detect_len16"]
    assert values["watermark_false_positive"] <= 0.02
