"""NGram: exact probabilities on a hand-made chain (tier 1), sampling law (tier 2)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from genloop.core.errors import ConfigError, DataError
from genloop.data.tokenize import as_token_blocks
from genloop.families.ngram import NGram


def test_bigram_probabilities_by_hand():
    # Bigrams with the begin symbol 2: (2,0) (0,1) (1,0) (0,1); unigram 0:2, 1:2.
    # P(0|<s>) = (1−.5 + .5·1·.5)/1 = .75;  P(1|0) = (2−.5 + .5·1·.5)/2 = .875;
    # P(0|1) = (1−.5 + .5·1·.5)/1 = .75.  (ε = 1e-9 leaves the unigram at .5.)
    model = NGram(order=2, vocab_size=2, discount=0.5, uniform_weight=1e-9).fit(
        as_token_blocks([[0, 1, 0, 1]])
    )
    expected = math.log(0.75 * 0.875 * 0.75 * 0.875)
    assert model.score_samples(as_token_blocks([[0, 1, 0, 1]]))[0] == pytest.approx(expected)
    assert model.length_ == 4


def test_unseen_token_has_only_the_uniform_share():
    model = NGram(order=1, vocab_size=4, uniform_weight=0.01).fit(as_token_blocks([[0, 1, 2]]))
    assert np.exp(model.score_samples(as_token_blocks([[3]])))[0] == pytest.approx(0.01 / 4)
    assert np.exp(model.score_samples(as_token_blocks([[0]])))[0] == pytest.approx(
        0.99 / 3 + 0.01 / 4
    )


def test_sampled_transitions_follow_the_model():
    """Tier 2, seed 0: 40,000 sampled bigrams after token 0 match P(w | 0) within 4 SE.

    Verified to fail when sampling ignores the back-off (stay = c(h) > 0 only).
    """
    # Token 0 is followed only by 1 and 2, three times: back-off carries a third of P(w | 0).
    data = as_token_blocks([[0, 1, 3], [0, 2, 4], [0, 1, 4], [3, 4, 3, 4]])
    model = NGram(order=2, vocab_size=5, discount=0.75).fit(data)
    samples = np.stack(list(model.sample(4000, random_state=np.random.default_rng(0))))
    prev, nxt = samples[:, :-1].ravel(), samples[:, 1:].ravel()
    after_zero = nxt[prev == 0]
    for w in range(5):
        padded = np.array([5, 0, w])  # begin symbol, then 0, then w
        p = model._probabilities(padded, np.array([2]))[0]
        observed = np.mean(after_zero == w)
        se = math.sqrt(p * (1 - p) / len(after_zero))
        assert abs(observed - p) < 4 * se + 1e-12, (w, observed, p)


def test_a_lost_token_stays_lost():
    model = NGram(order=2, vocab_size=6).fit(as_token_blocks([[0, 1, 2, 3, 4] * 4] * 10))
    samples = np.concatenate(list(model.sample(500, random_state=1)))
    assert 5 not in samples and len(samples) == 500 * 20


def test_parameters_and_data_are_checked():
    with pytest.raises(ConfigError, match="order=0"):
        NGram(order=0).fit(as_token_blocks([[1]]))
    with pytest.raises(ConfigError, match="discount"):
        NGram(discount=1.5).fit(as_token_blocks([[1]]))
    with pytest.raises(DataError, match="token id 7 ≥ vocab_size 5"):
        NGram(vocab_size=5).fit(as_token_blocks([[7]]))
    with pytest.raises(DataError, match="negative"):
        NGram().fit(as_token_blocks([[-1]]))
    with pytest.raises(ConfigError, match="overflows"):
        NGram(order=6, vocab_size=100_000).fit(as_token_blocks([[1]]))


def test_batched_scores_equal_block_by_block_scores():
    model = NGram(order=3, vocab_size=6).fit(as_token_blocks([[0, 1, 2, 3, 4, 1, 2]] * 3))
    blocks = as_token_blocks([[0, 1], [], [2, 3, 4], [5], [1]])
    alone = [model.score_samples(as_token_blocks([b]))[0] for b in blocks]
    np.testing.assert_allclose(model.score_samples(blocks), alone)
    assert alone[1] == 0.0
