"""Hugging Face models and tokenizers from local directories (skipped without transformers).

Nothing is downloaded: a tiny GPT-2 is built from its config and saved (safetensors) in
tmp_path; a byte-level BPE is trained with ``tokenizers`` on the stand-in corpus.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")
pytest.importorskip("torch")

from genloop.data.text import TextFileSource  # noqa: E402
from genloop.families.causal_lm import CausalLM  # noqa: E402

CORPUS = Path(__file__).parents[1] / "data" / "fixtures" / "corpus.txt"


@pytest.fixture(scope="module")
def local_model(tmp_path_factory):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    directory = tmp_path_factory.mktemp("tiny-gpt2")
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.train([str(CORPUS)], trainers.BpeTrainer(vocab_size=300, special_tokens=["<|end|>"]))
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|end|>")
    tokenizer.save_pretrained(directory)
    config = transformers.GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=64,
        n_embd=16,
        n_layer=1,
        n_head=2,
        eos_token_id=0,
        bos_token_id=0,
    )
    transformers.GPT2LMHeadModel(config).save_pretrained(directory, safe_serialization=True)
    return directory


def test_fine_tunes_samples_and_beam_searches_a_local_hf_model(local_model):
    source = TextFileSource(str(CORPUS), tokenizer=f"hf:{local_model}", block_size=12)
    original, holdout = source.split(16, 4, np.random.default_rng(0))
    assert source.vocab_size == len(transformers.AutoTokenizer.from_pretrained(local_model))
    model = CausalLM(
        model=str(local_model),
        vocab_size=source.vocab_size,
        epochs=1,
        batch_size=8,
        max_new_tokens=6,
        device="cpu",
        random_state=0,
    )
    model.fit(original)
    out = model.sample(4, random_state=np.random.default_rng(1))
    assert [len(o) for o in out] == [6] * 4
    again = model.sample(4, random_state=np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(out, again))
    assert np.isfinite(model.score_samples(holdout)).all()
    assert isinstance(source.decode(out[0]), str)
    beams = model.set_params(num_beams=2).generate(original[:2], random_state=0)
    assert [len(o) for o in beams] == [6, 6]
