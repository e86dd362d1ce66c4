"""Generation for genloop's language models, with the green-list watermark.

* :class:`GenerationMixin` — :class:`~genloop.families.causal_lm.CausalLM`'s decoding:
  prompts of one length batched together, the built-in model's key/value-cache loop, or
  Hugging Face ``generate``. With ``watermark_gamma`` set, δ is added to the green
  logits after temperature, top-k and top-p in the built-in loop (so green
  probabilities are multiplied by e^δ and renormalised); Hugging Face models get a
  :class:`~genloop.curation.watermark.WatermarkLogitsProcessor`, which Hugging Face
  applies *before* its temperature/top-k/top-p warpers.
* :class:`WatermarkedNGramMixin` — :class:`~genloop.families.ngram.NGram`'s sampling
  from the green-biased distribution: exact rejection sampling (propose from the
  unbiased sampler; keep a green proposal always, a red one with probability e^−δ),
  then the explicit biased distribution for the rows still open after
  ``REJECTION_ROUNDS`` (low-entropy steps whose likely tokens are all red).

The first generated token's previous token is the prompt's last token (CausalLM; the
begin token for an empty prompt) or the begin-of-block symbol (NGram).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from genloop.core.errors import ConfigError
from genloop.core.rng import as_generator
from genloop.curation.watermark import (
    bias_logits_torch,
    check_watermark,
    green_mask,
    is_green,
    logits_processor,
)
from genloop.data.tokenize import check_blocks
from genloop.families.torch_utils import (
    filter_logits,
    import_torch,
    penalize_repeats,
    set_threads,
    torch_generator,
)

REJECTION_ROUNDS = 16  # then the explicit distribution (P(still open) ≤ (1 − e^−δ)^16)
DENSE_CELLS = 2**22  # rows × vocabulary held at once by the explicit distribution


def check_family_watermark(model, owner: str) -> None:
    """Validate a family's ``watermark_*`` parameters (nothing to check without γ)."""
    if model.watermark_gamma is not None:
        check_watermark(
            owner,
            model.watermark_gamma,
            model.watermark_delta,
            model.watermark_key,
            prefix="watermark_",
        )


class GenerationMixin:
    """Prompt continuation for :class:`CausalLM` (uses its parameters and ``net_``)."""

    def generate(self, prompts, random_state=None):
        """Continue each prompt; returns the continuations only.

        Parameters
        ----------
        prompts : sequence of 1-D int arrays, shape (n,)
        random_state : None, int or numpy.random.Generator

        Returns
        -------
        ndarray of object, shape (n,)
            Each a 1-D int64 array of ``max_new_tokens`` tokens (default: prompt length).
        """
        check_is_fitted(self, "net_")
        check_family_watermark(self, "CausalLM")
        torch = import_torch()
        set_threads(self.n_threads)
        rng = as_generator(random_state)
        blocks = check_blocks(prompts, "CausalLM", self.vocab_size)
        out = np.empty(len(blocks), dtype=object)
        # Prompts of one length go together, so each batch needs no padding.
        lengths = np.array([len(b) for b in blocks])
        for length in np.unique(lengths):
            index = np.flatnonzero(lengths == length)
            for start in range(0, len(index), self.generation_batch):
                part = index[start : start + self.generation_batch]
                batch = torch.from_numpy(np.stack([blocks[i] for i in part]))
                new = self.max_new_tokens or int(length)
                with torch.no_grad():
                    result = self._continue(batch.to(self.device_), new, rng, torch)
                for i, row in zip(part, result.cpu().numpy(), strict=True):
                    out[i] = row.astype(np.int64)
        return out

    def _continue(self, prompts, new_tokens, rng, torch):
        bos = torch.full(
            (len(prompts), 1), self._bos(self.net_), dtype=torch.long, device=prompts.device
        )
        idx = torch.cat([bos, prompts], dim=1)
        if self.model is not None:
            torch.manual_seed(int(rng.integers(2**62)))  # HF generate uses the global RNG
            options = {}
            if self.watermark_gamma is not None:
                options["logits_processor"] = [
                    logits_processor(self.watermark_gamma, self.watermark_delta, self.watermark_key)
                ]
            sampled = self.net_.generate(
                input_ids=idx,
                attention_mask=torch.ones_like(idx),
                do_sample=self.num_beams == 1,
                num_beams=self.num_beams,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                temperature=self.temperature,
                top_k=self.top_k or 0,
                top_p=self.top_p or 1.0,
                repetition_penalty=self.repetition_penalty,
                pad_token_id=self._bos(self.net_),
                **options,
            )
            return sampled[:, idx.shape[1] :]
        if idx.shape[1] + new_tokens - 1 > self.context:
            raise ConfigError(
                f"CausalLM: prompt of {prompts.shape[1]} plus {new_tokens} new "
                f"tokens exceeds context={self.context}"
            )
        generator = torch_generator(rng, prompts.device)
        logits, past = self.net_(idx)
        produced = []
        for _ in range(new_tokens):
            last = logits[:, -1, : self.vocab_size]  # never emit the begin token
            history = torch.cat([prompts, *produced], dim=1) if produced else prompts
            last = penalize_repeats(last, history, float(self.repetition_penalty))
            last = filter_logits(last, self.temperature, self.top_k, self.top_p)
            if self.watermark_gamma is not None:
                previous = produced[-1][:, 0] if produced else idx[:, -1]
                last = bias_logits_torch(
                    last, previous, self.watermark_gamma, self.watermark_delta, self.watermark_key
                )
            token = torch.multinomial(torch.softmax(last, dim=-1), 1, generator=generator)
            produced.append(token)
            if len(produced) < new_tokens:
                logits, past = self.net_(token, past)
        return torch.cat(produced, dim=1)


class WatermarkedNGramMixin:
    """Green-biased next-token sampling for :class:`NGram` (uses its fitted counts)."""

    def _next_watermarked(self, history, t, rng, V, D) -> np.ndarray:
        """Next tokens ``(n,)`` from the green-biased distribution of each row."""
        gamma, delta = float(self.watermark_gamma), float(self.watermark_delta)
        # The first position's previous token is the begin symbol V (for order 1 too:
        # column −1 is still unfilled, i.e. V).
        previous = history[:, t - 1]
        chosen = np.full(len(history), -1, dtype=np.int64)
        open_ = np.arange(len(history))
        for _ in range(REJECTION_ROUNDS):
            if not len(open_):
                break
            proposal = self._next_tokens(history[open_], t, rng, V, D)
            green = is_green(previous[open_], proposal, gamma, self.watermark_key)
            accept = green | (rng.random(len(open_)) < np.exp(-delta))
            chosen[open_[accept]] = proposal[accept]
            open_ = open_[~accept]
        step = max(1, DENSE_CELLS // V)
        for start in range(0, len(open_), step):
            rows = open_[start : start + step]
            p = self._distribution(history[rows], t)
            p *= np.exp(delta * green_mask(previous[rows], V, gamma, self.watermark_key))
            cumulative = np.cumsum(p, axis=1)
            target = rng.random(len(rows)) * cumulative[:, -1]
            chosen[rows] = np.minimum((cumulative <= target[:, None]).sum(axis=1), V - 1)
        return chosen

    def _distribution(self, history, t) -> np.ndarray:
        """P(next token | history[:, :t]) over the whole vocabulary, shape (rows, V)."""
        V, eps, D = self.vocab_size_, float(self.uniform_weight), float(self.discount)
        unigram = np.zeros(V)
        unigram[self.keys_[0]] = self.counts_[0]  # order-1 keys are the tokens themselves
        p = np.tile((1 - eps) * unigram / self._total + eps / V, (len(history), 1))
        for k in range(2, self.order + 1):
            context = np.zeros(len(history), dtype=np.int64)
            for j in range(k - 1, 0, -1):
                context = context * (V + 1) + history[:, t - j]
            lo, hi = self._context_range(k, context)
            c_h = self._cum_counts[k - 1][hi] - self._cum_counts[k - 1][lo]
            p *= np.where(c_h > 0, D * (hi - lo) / np.maximum(c_h, 1), 1.0)[:, None]
            widths = hi - lo  # 0 for unseen contexts
            rows = np.repeat(np.arange(len(history)), widths)
            index = np.repeat(lo - np.cumsum(widths) + widths, widths) + np.arange(widths.sum())
            tokens = self.keys_[k - 1][index] % (V + 1)
            # each (row, token) pair appears once: a context's continuations are distinct
            p[rows, tokens] += (self.counts_[k - 1][index] - D) / c_h[rows]
        return p
