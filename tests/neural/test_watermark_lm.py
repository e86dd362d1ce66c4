"""The watermark in CausalLM: detection of 64-byte continuations of held-out Shakespeare
prompts (untrained and pretrained byte models), Hugging Face models through the logits
processor, parameter checks, and ``sample_parents_``.

Acceptance (issue 5): watermarked 64-token continuations reach z ≥ 4 in ≥ 95% of 200
samples; real held-out 64-token blocks in ≤ 1%; the same fails with δ = 0 or a wrong key.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from genloop.core.errors import ConfigError  # noqa: E402
from genloop.curation import watermark as wm  # noqa: E402
from genloop.data.hub import cache_dir  # noqa: E402
from genloop.data.text import ShakespeareSource  # noqa: E402
from genloop.data.tokenize import as_token_blocks  # noqa: E402
from genloop.families.causal_lm import CausalLM  # noqa: E402

KEY = wm.DEFAULT_KEY
# The nature-lm recipe's base: pretrained once for 400 steps on six other plays.
NATURE_BASE = dict(
    n_layer=3,
    n_embd=128,
    n_head=4,
    context=160,
    pretrain_corpus="shakespeare:macbeth,tempest,othello,lear,julius_caesar,merchant_of_venice",
    pretrain_steps=400,
    batch_size=32,
)


@pytest.fixture(scope="module")
def hamlet():
    """400 distinct 64-byte blocks of Hamlet (held out by every recipe): 200 prompts and
    200 real blocks, seed 0."""
    source = ShakespeareSource(
        tokenizer="byte", plays=["romeo_and_juliet", "twelfth_night"], holdout_plays=["hamlet"]
    )
    _, held = source.split(8, 400, np.random.default_rng(0))
    return held[:200], held[200:]


def detection_rates(model, prompts, real, gamma=0.25):
    """(watermarked, δ = 0, wrong key, real) shares with z ≥ 4; generation seed 1."""
    out = model.generate(prompts, random_state=np.random.default_rng(1))
    assert all(len(o) == 64 for o in out)
    unbiased = model.set_params(watermark_delta=0.0).generate(
        prompts, random_state=np.random.default_rng(1)
    )
    model.set_params(watermark_delta=2.0)
    return (
        wm.detect(out, 4.0, 256, gamma, KEY).mean(),
        wm.detect(unbiased, 4.0, 256, gamma, KEY).mean(),
        wm.detect(out, 4.0, 256, gamma, KEY + 1).mean(),
        wm.detect(real, 4.0, 256, gamma, KEY).mean(),
    )


def test_untrained_byte_model_continuations_are_detected(hamlet):
    """Seed 0 base, generation seed 1, γ = 0.25, δ = 2: ≥ 95% of 200 continuations
    detected (measured 100%: an untrained model's next-byte distributions are near
    uniform, the easy case); δ = 0, a wrong key and real blocks ≤ 1% (measured 0)."""
    prompts, real = hamlet
    model = CausalLM(n_layer=1, n_embd=32, n_head=2, epochs=0, device="cpu", watermark_gamma=0.25)
    model.fit(prompts[:4])
    watermarked, unbiased, wrong_key, real_rate = detection_rates(model, prompts, real)
    assert watermarked >= 0.95
    assert unbiased <= 0.01 and wrong_key <= 0.01 and real_rate <= 0.01


_cached = (
    any((cache_dir() / "lm-base").glob("tiny-*.safetensors"))
    and (
        cache_dir() / "lm-base" / f"tiny-{CausalLM(**NATURE_BASE)._config_hash()}.safetensors"
    ).is_file()
)


@pytest.mark.parametrize("gamma", [pytest.param(0.25, marks=[] if _cached else [pytest.mark.slow])])
def test_pretrained_byte_model_continuations_are_detected(hamlet, gamma):
    """The nature-lm base (held-out perplexity ≈ 12 bytes, far from uniform), no fine-
    tuning; generation seed 1, γ = 0.25, δ = 2: ≥ 95% of 200 continuations detected
    (measured 191/200 = 95.5%: lower-entropy text carries less watermark per token; see
    docs/watermark.md for γ = 0.5 and shorter lengths); δ = 0, a wrong key and real
    blocks ≤ 1% (measured 0). Runs by default when the base is cached (a few seconds),
    else only with -m slow (pretraining takes minutes)."""
    prompts, real = hamlet
    model = CausalLM(**NATURE_BASE, epochs=0, device="cpu", watermark_gamma=gamma)
    model.fit(prompts[:4])
    watermarked, unbiased, wrong_key, real_rate = detection_rates(model, prompts, real, gamma)
    assert watermarked >= 0.95
    assert unbiased <= 0.01 and wrong_key <= 0.01 and real_rate <= 0.01


def test_hugging_face_model_is_watermarked_through_the_logits_processor(tmp_path):
    """A randomly initialised GPT-2 (300 ids) saved locally; 100 continuations of 48
    tokens, seed 0: all detected with δ = 4 (near-uniform model), none with δ = 0."""
    transformers = pytest.importorskip("transformers")
    config = transformers.GPT2Config(
        vocab_size=300,
        n_positions=128,
        n_embd=16,
        n_layer=1,
        n_head=2,
        bos_token_id=0,
        eos_token_id=0,
    )
    transformers.GPT2LMHeadModel(config).save_pretrained(tmp_path, safe_serialization=True)
    model = CausalLM(model=str(tmp_path), vocab_size=300, epochs=0, device="cpu")
    prompts = as_token_blocks([np.arange(i, i + 8) for i in range(100)])
    model.set_params(watermark_gamma=0.25, watermark_delta=4.0, max_new_tokens=48).fit(prompts)
    out = model.generate(prompts, random_state=0)
    assert wm.detect(out, 4.0, 300, 0.25, KEY).mean() == 1.0
    plain = model.set_params(watermark_delta=0.0).generate(prompts, random_state=0)
    assert wm.detect(plain, 4.0, 300, 0.25, KEY).mean() <= 0.02


def test_watermark_parameters_are_checked_one_line():
    blocks = as_token_blocks([np.arange(8)] * 4)
    for params, match in [
        ({"watermark_gamma": 0.0}, "watermark_gamma=0.0"),
        ({"watermark_gamma": 0.5, "watermark_delta": -1}, "watermark_delta=-1"),
        ({"watermark_gamma": 0.5, "watermark_key": 1.5}, "watermark_key=1.5"),
    ]:
        model = CausalLM(vocab_size=10, n_layer=1, n_embd=16, n_head=2, context=40, epochs=0)
        with pytest.raises(ConfigError, match=match) as error:
            model.set_params(**params).fit(blocks)
        assert "\n" not in str(error.value)
    fitted = CausalLM(vocab_size=10, n_layer=1, n_embd=16, n_head=2, context=40, epochs=0)
    fitted.fit(blocks).set_params(watermark_gamma=1.0)
    with pytest.raises(ConfigError, match="watermark_gamma=1.0"):
        fitted.sample(2, random_state=0)


def test_sample_parents_index_the_reference_prompts():
    """Greedy decoding (top_k=1) makes each continuation a function of its prompt, so
    continuing ``reference[sample_parents_]`` again gives the same rows."""
    rng = np.random.default_rng(0)
    model = CausalLM(vocab_size=10, n_layer=1, n_embd=16, n_head=2, context=40, epochs=0, top_k=1)
    model.fit(as_token_blocks(list(rng.integers(0, 10, (4, 8)))))
    reference = as_token_blocks(list(rng.integers(0, 10, (12, 8))))
    model.set_reference(reference)
    out = model.sample(5, random_state=np.random.default_rng(3))
    parents = model.sample_parents_
    assert parents.shape == (5,) and parents.dtype == np.int64 and parents.max() < 12
    again = model.generate(reference[parents], random_state=0)
    for a, b in zip(out, again, strict=True):
        np.testing.assert_array_equal(a, b)
    model.sample(12, random_state=0)
    np.testing.assert_array_equal(model.sample_parents_, np.arange(12))
