"""Text metrics on hand-made blocks with exact expected values (tier 1)."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from genloop.data.tokenize import ByteTokenizer, as_token_blocks
from genloop.metrics.base import MetricContext
from genloop.metrics.text import (
    HeldoutPerplexity,
    LostRareWords,
    SamplePerplexity,
    TextDiversity,
    TextSamples,
    block_perplexity,
    distinct_n,
    histogram_shares,
    lost_share,
    rare_words,
    repetition_rate,
    self_bleu,
)


class ByteSource:
    kind = "text"

    def decode(self, tokens):
        return ByteTokenizer().decode(tokens)


class UniformModel:
    """Every token has probability 1/8: per-block perplexity exactly 8."""

    def score_samples(self, X):
        return np.array([-len(b) * math.log(8) for b in X])

    def sample(self, n, random_state=None):
        return as_token_blocks([ByteTokenizer().encode("abc")] * n)


def blocks_of(*texts):
    return as_token_blocks([ByteTokenizer().encode(t) for t in texts])


def context(pool, original=None, holdout=None, **extra):
    original = pool if original is None else original
    return MetricContext(
        generation=3,
        model=UniformModel(),
        pool=pool,
        initial_model=UniformModel(),
        source=ByteSource(),
        original=original,
        holdout=original if holdout is None else holdout,
        rng=np.random.default_rng(0),
        extra=extra,
    )


def test_pure_functions_exact():
    assert block_perplexity([-2 * math.log(3)], [2])[0] == pytest.approx(3.0)
    blocks = [np.array([1, 2, 1, 2]), np.array([1, 2])]
    assert distinct_n(blocks, 1) == pytest.approx(2 / 6)
    assert distinct_n(blocks, 2) == pytest.approx(2 / 4)  # (1,2),(2,1),(1,2),(1,2)
    assert repetition_rate([np.array([1, 2, 1, 2, 1])], 2) == pytest.approx(2 / 4)
    assert rare_words(Counter({"a": 5, "b": 1, "c": 1, "d": 2}), 0.5) == {"b", "c"}
    assert lost_share({"b", "c"}, {"a", "c"}) == 0.5 and lost_share(set(), {"a"}) == 0.0
    # Identical blocks: every clipped precision is 1. Disjoint tokens: unigram precision 0.
    assert self_bleu([np.arange(6), np.arange(6)]) == pytest.approx(1.0)
    assert self_bleu([np.arange(6), np.arange(6) + 10]) == 0.0
    # [1,2,3] vs [1,2,4]: p1 = 2/3, p2 = (1+1)/(2+1), p3 = (0+1)/(1+1) (add-one, n > 1)
    expected = math.exp((math.log(2 / 3) + math.log(2 / 3) + math.log(1 / 2)) / 3)
    assert self_bleu([np.array([1, 2, 3]), np.array([1, 2, 4])], max_n=3) == pytest.approx(expected)
    shares = histogram_shares([1, 5, 50, 5000], low=1, high=100, bins=2)
    assert shares.tolist() == [0.5, 0.5]  # 5000 is counted in the last bin


def test_perplexity_metrics_on_a_uniform_model():
    pool = blocks_of("abcd", "efgh")
    values = HeldoutPerplexity().measure(context(pool))
    assert values == {"heldout_ppl_median": pytest.approx(8.0), "heldout_ppl": pytest.approx(8.0)}
    values = SamplePerplexity(low=1, high=16, bins=2).measure(context(pool))
    assert values["sample_ppl_q50"] == pytest.approx(8.0)
    assert values["sample_ppl_hist_00"] == 0.0 and values["sample_ppl_hist_01"] == 1.0
    assert values["sample_ppl_hist_high"] == pytest.approx(math.log10(16))


def test_lost_rare_words_and_diversity():
    original = blocks_of("the king the king the ghost", "the queen")
    pool = blocks_of("the king the king", "the king")
    # counts: the 4, king 2, ghost 1, queen 1 → median 1.5 → rare {ghost, queen}
    values = LostRareWords(quantile=0.5).measure(context(pool, original=original))
    assert values == {"lost_rare_words": 1.0, "lost_words": 0.5}
    diversity = TextDiversity().measure(context(pool))
    assert diversity["vocabulary"] == 2.0


def test_text_samples_written_to_artifact_dir(tmp_path):
    pool = blocks_of("<script>alert(1)</script>")
    values = TextSamples(n=1).measure(context(pool, artifact_dir=tmp_path))
    assert values == {"samples_written": 1.0}
    written = (tmp_path / "samples_gen00003.txt").read_text()
    assert written.startswith("# generation 3") and "abc" in written
    assert TextSamples().measure(context(pool)) == {"samples_written": 0.0}
