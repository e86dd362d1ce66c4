"""The Generator contract, the same tests for every new family (tier 1).

fit returns self; sample takes a numpy Generator and returns rows of the family's kind;
the same Generator seed gives the same samples and another seed other ones; refitting
with the same random_state is deterministic; score_samples gives one finite value per
row; to_arrays is safetensors-compatible and from_arrays restores a model that scores
and samples identically.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from genloop.families.ngram import NGram


def ngram(markov_blocks):
    return NGram(order=2, vocab_size=12), markov_blocks(concentration=0.3)


def causal_lm(markov_blocks):
    pytest.importorskip("torch")
    from genloop.families.causal_lm import CausalLM

    model = CausalLM(
        vocab_size=12,
        n_layer=1,
        n_embd=16,
        n_head=2,
        context=24,
        epochs=1,
        batch_size=8,
        generation_batch=16,
        device="cpu",
        n_threads=1,
        random_state=3,
    )
    return model, markov_blocks(concentration=0.3)


def vae(markov_blocks):
    pytest.importorskip("torch")
    from genloop.families.vae import VAE

    rows = np.random.default_rng(0).normal(size=(40, 5))
    return VAE(latent_dim=2, hidden=16, epochs=2, batch_size=16, device="cpu", random_state=3), rows


FAMILIES = {"ngram": ngram, "causal_lm": causal_lm, "vae": vae}


def same(a, b) -> bool:
    if a.dtype == object:
        return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))
    return np.array_equal(a, b)


@pytest.fixture(params=sorted(FAMILIES))
def family(request, markov_blocks):
    return FAMILIES[request.param](markov_blocks)


def test_fit_sample_score_shapes(family):
    model, data = family
    assert model.fit(data) is model
    samples = model.sample(7, random_state=np.random.default_rng(0))
    assert len(samples) == 7
    if model.kind == "text":
        assert samples.dtype == object and all(s.dtype == np.int64 and s.ndim == 1 for s in samples)
    else:
        assert samples.shape == (7, data.shape[1])
    scores = model.score_samples(data[:5])
    assert scores.shape == (5,) and np.isfinite(scores).all()


def test_sampling_is_determined_by_the_generator(family):
    model, data = family
    model.fit(data)
    a = model.sample(6, random_state=np.random.default_rng(11))
    b = model.sample(6, random_state=np.random.default_rng(11))
    c = model.sample(6, random_state=np.random.default_rng(12))
    assert same(a, b) and not same(a, c)


def test_refit_with_the_same_random_state_is_identical(family):
    model, data = family
    first = clone(model).fit(data).score_samples(data[:5])
    second = clone(model).fit(data).score_samples(data[:5])
    np.testing.assert_array_equal(first, second)


def test_checkpoint_round_trip_through_safetensors(family, tmp_path):
    from safetensors.numpy import load_file, save_file

    model, data = family
    model.fit(data)
    arrays = model.to_arrays()
    assert all(isinstance(v, np.ndarray) and v.dtype != object for v in arrays.values())
    path = tmp_path / "model.safetensors"
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(path))
    restored = type(model).from_arrays(load_file(str(path)))
    np.testing.assert_allclose(
        restored.score_samples(data[:5]), model.score_samples(data[:5]), rtol=1e-6
    )
    assert same(
        restored.sample(4, random_state=np.random.default_rng(5)),
        model.sample(4, random_state=np.random.default_rng(5)),
    )
