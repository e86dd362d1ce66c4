"""A causal language model as a density family, with the Nature paper's LM protocol.

Shumailov et al. (Nature 2024) fine-tune a pretrained OPT-125m on wikitext-2 and, each
generation, use every original 64-token block as a prompt for a 64-token continuation;
the continuations (the original's size) are the next generation's training data, and
every generation fine-tunes a fresh copy of the *same* base model. Here:

* the base is a tiny GPT-2-style model built from its config (pure PyTorch, see
  :mod:`genloop.families.torch_utils`), pretrained once on ``pretrain_corpus`` (e.g.
  plays not used as data) and cached as safetensors keyed by a hash of its config — or,
  with ``model=``, any Hugging Face causal LM from a local directory (or a hub id when
  online; ``trust_remote_code=False``, safetensors only);
* ``fit(X)`` fine-tunes a fresh copy of the base on the token blocks ``X``;
* ``set_reference(original)`` (called by the loop each generation) sets the prompts;
  ``sample(n)`` continues ``n`` of them and returns only the continuations;
* ``score_samples(X)`` is the log-likelihood of each block given a begin-of-sequence
  token, so per-block perplexity is ``exp(−score / length)``.

Training is batched AdamW; generation runs every prompt of a batch at once through a
key/value cache (batch size matters far more than anything else for CPU speed).
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn.utils.validation import check_is_fitted

from genloop.core.errors import ConfigError
from genloop.core.rng import as_generator
from genloop.curation.watermark import DEFAULT_KEY
from genloop.data.tokenize import as_token_blocks, check_blocks
from genloop.families.base import DensityFamily
from genloop.families.lm_base import _BASES, BaseModelMixin, load_hf  # noqa: F401
from genloop.families.lm_generate import GenerationMixin
from genloop.families.torch_utils import import_torch, seed_int, set_threads


class CausalLM(BaseModelMixin, GenerationMixin, DensityFamily):
    """A causal LM fine-tuned each generation from one fixed base (Nature LM protocol).

    Parameters
    ----------
    model : str, optional
        A Hugging Face causal LM (local directory, or hub id when online). ``None``
        builds the tiny GPT below from its config.
    vocab_size : int, default 256
        Token ids lie in ``0..vocab_size-1`` (filled from the source); the built model
        adds one begin-of-sequence token.
    n_layer, n_embd, n_head : int, default 3, 128, 4
        Size of the built model (~0.65M parameters at the defaults).
    context : int, default 160
        Longest sequence the built model sees (prompt + begin token + continuation).
    pretrain_corpus : str, optional
        Text the base is pretrained on once (``shakespeare:play,play``, a local path,
        ``hf:NAME``), byte-tokenized; ``None``: the base is the seeded initialisation.
    pretrain_steps, pretrain_lr : int, float, default 400, 3e-3
        Pretraining length (batches of ``batch_size`` windows of ``context − 1`` bytes).
    epochs, batch_size, lr : int, int, float, default 2, 32, 1e-3
        Fine-tuning of each generation's copy of the base (AdamW).
    max_new_tokens : int, optional
        Length of each continuation (default: the prompt's length).
    temperature, top_k, top_p, repetition_penalty, num_beams
        Decoding; ``num_beams > 1`` (beam search, the paper's 5 beams) needs ``model=``.
    watermark_gamma : float in (0, 1), optional
        Green share γ of the Kirchenbauer et al. watermark embedded in every generated
        token (:mod:`genloop.curation.watermark`); ``None``: no watermark.
    watermark_delta : float, default 2.0
        Bias δ ≥ 0 added to green logits (after temperature/top-k/top-p in the built-in
        loop; before them for Hugging Face models).
    watermark_key : int, default 15485863
        Secret hash key of the green lists.
    generation_batch : int, default 256
        Prompts generated at once.
    device : {"auto", "cpu", "cuda"}, default "auto"
    n_threads : int, default 1
        torch intra-op threads. On a busy 2-core machine two threads trained this model
        at 360 tokens/s and one thread at 2,700 (OpenMP threads wait on each other when
        the cores are oversubscribed); raise it on an idle or larger machine.
    base_seed : int, default 0
        Seed of the base's initialisation and pretraining (the same base for every
        generation and every run seed, like a fixed pretrained checkpoint).
    random_state : None, int or Generator
        Shuffling of fine-tuning batches (the engine passes the generation's fit stream).
    """

    kind = "text"

    def __init__(
        self,
        model=None,
        vocab_size=256,
        n_layer=3,
        n_embd=128,
        n_head=4,
        context=160,
        pretrain_corpus=None,
        pretrain_steps=400,
        pretrain_lr=3e-3,
        epochs=2,
        batch_size=32,
        lr=1e-3,
        max_new_tokens=None,
        temperature=1.0,
        top_k=None,
        top_p=None,
        repetition_penalty=1.0,
        num_beams=1,
        watermark_gamma=None,
        watermark_delta=2.0,
        watermark_key=DEFAULT_KEY,
        generation_batch=256,
        device="auto",
        n_threads=1,
        base_seed=0,
        random_state=None,
    ):
        self.model = model
        self.vocab_size = vocab_size
        self.n_layer = n_layer
        self.n_embd = n_embd
        self.n_head = n_head
        self.context = context
        self.pretrain_corpus = pretrain_corpus
        self.pretrain_steps = pretrain_steps
        self.pretrain_lr = pretrain_lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_k = top_k
        self.top_p = top_p
        self.repetition_penalty = repetition_penalty
        self.num_beams = num_beams
        self.watermark_gamma = watermark_gamma
        self.watermark_delta = watermark_delta
        self.watermark_key = watermark_key
        self.generation_batch = generation_batch
        self.device = device
        self.n_threads = n_threads
        self.base_seed = base_seed
        self.random_state = random_state

    # --- training ---------------------------------------------------------------------------
    def _bos(self, net) -> int:
        if self.model is None:
            return self.vocab_size
        config = net.config
        for name in ("bos_token_id", "eos_token_id"):
            if getattr(config, name, None) is not None:
                return int(getattr(config, name))
        return 0

    def _logits(self, net, idx):
        out = net(idx) if self.model is None else net(input_ids=idx)
        return out[0] if self.model is None else out.logits

    def _step(self, net, optimizer, tokens, mask, torch):
        """One AdamW step of next-token cross-entropy on ``tokens`` (b, t)."""
        from torch.nn import functional as F

        bos = torch.full((tokens.shape[0], 1), self._bos(net), dtype=torch.long)
        inputs = torch.cat([bos, tokens[:, :-1]], dim=1)
        logits = self._logits(net, inputs)
        targets = tokens if mask is None else tokens.masked_fill(~mask, -100)
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        return float(loss.detach())

    @staticmethod
    def _padded(blocks, torch):
        """Right-padded ``(b, t)`` token tensor and its validity mask."""
        width = max(len(b) for b in blocks)
        tokens = np.zeros((len(blocks), width), dtype=np.int64)
        mask = np.zeros((len(blocks), width), dtype=bool)
        for i, block in enumerate(blocks):
            tokens[i, : len(block)], mask[i, : len(block)] = block, True
        return torch.from_numpy(tokens), torch.from_numpy(mask)

    def fit(self, X, y=None):
        """Fine-tune a fresh copy of the base on the token blocks ``X``.

        Parameters
        ----------
        X : sequence of 1-D int arrays, shape (n_blocks,)
            Token blocks; ids in ``0..vocab_size-1``.
        y : None
            Ignored.

        Returns
        -------
        self : CausalLM
        """
        device = self._check_params()
        torch = import_torch()
        set_threads(self.n_threads)
        blocks = check_blocks(X, "CausalLM", self.vocab_size)
        if self.model is None and max(len(b) for b in blocks) + 1 > self.context:
            raise ConfigError(
                f"CausalLM: blocks of {max(len(b) for b in blocks)} tokens need "
                f"context > {max(len(b) for b in blocks)}, got {self.context}"
            )
        net = self._new_net(torch) if self.model is None else copy.deepcopy(self._hf_base())
        if self.model is None:
            net.load_state_dict(self._base_state(torch))
        net.to(device)
        rng = np.random.default_rng(seed_int(self.random_state))
        optimizer = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=0.01)
        net.train()
        losses = []
        for _ in range(self.epochs):
            order = rng.permutation(len(blocks))
            for start in range(0, len(order), self.batch_size):
                tokens, mask = self._padded(
                    [blocks[i] for i in order[start : start + self.batch_size]], torch
                )
                losses.append(self._step(net, optimizer, tokens.to(device), mask.to(device), torch))
        net.eval()
        self.net_ = net
        self.device_ = device
        self.train_loss_ = float(np.mean(losses[-10:])) if losses else float("nan")
        self.reference_ = as_token_blocks(blocks)
        return self

    def _hf_base(self):
        key = f"hf-{self.model}"
        if key not in _BASES:
            _BASES[key] = {"net": load_hf("AutoModelForCausalLM", self.model)}
        return _BASES[key]["net"]

    def set_reference(self, original) -> None:
        """Use the blocks ``original`` (the real data) as prompts for :meth:`sample`."""
        self.reference_ = as_token_blocks(check_blocks(original, "CausalLM", self.vocab_size))

    # --- scoring and generation ------------------------------------------------------------
    def score_samples(self, X):
        """Log-likelihood of each block after a begin-of-sequence token (natural log).

        Parameters
        ----------
        X : sequence of 1-D int arrays, shape (n_blocks,)

        Returns
        -------
        ndarray of shape (n_blocks,)
        """
        check_is_fitted(self, "net_")
        torch = import_torch()
        set_threads(self.n_threads)
        blocks = check_blocks(X, "CausalLM", self.vocab_size)
        out = np.empty(len(blocks))
        with torch.no_grad():
            for start in range(0, len(blocks), self.generation_batch):
                tokens, mask = self._padded(blocks[start : start + self.generation_batch], torch)
                tokens, mask = tokens.to(self.device_), mask.to(self.device_)
                bos = torch.full(
                    (len(tokens), 1), self._bos(self.net_), dtype=torch.long, device=self.device_
                )
                logits = self._logits(self.net_, torch.cat([bos, tokens[:, :-1]], dim=1))
                logp = torch.log_softmax(logits.float(), dim=-1)
                picked = logp.gather(2, tokens.unsqueeze(2)).squeeze(2) * mask
                out[start : start + len(tokens)] = picked.sum(dim=1).cpu().numpy()
        return out

    def sample(self, n_samples=1, random_state=None):
        """Continuations of ``n_samples`` reference prompts (each prompt once while it lasts).

        Parameters
        ----------
        n_samples : int
        random_state : None, int or numpy.random.Generator

        Returns
        -------
        ndarray of object, shape (n_samples,)
            Each a 1-D int64 array of ``max_new_tokens`` tokens (default: prompt length).

        Sets ``sample_parents_``, int array ``(n_samples,)``: the index of each sample's
        prompt among the reference rows (``set_reference``; the training blocks before it).
        """
        check_is_fitted(self, "net_")
        rng = as_generator(random_state)
        prompts = self.reference_
        if n_samples == len(prompts):
            chosen = np.arange(n_samples)
        else:
            chosen = np.sort(rng.choice(len(prompts), n_samples, replace=n_samples > len(prompts)))
        out = self.generate(prompts[chosen], random_state=rng)
        self.sample_parents_ = chosen.astype(np.int64)
        return out

    # --- checkpoints ------------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Weights (``net.*``, float32), the built model's layout, and the prompts."""
        check_is_fitted(self, "net_")
        arrays = {f"net.{k}": v.detach().cpu().numpy() for k, v in self.net_.state_dict().items()}
        arrays["layout"] = np.array(
            [self.vocab_size, self.n_layer, self.n_embd, self.n_head, self.context], dtype=np.int64
        )
        lengths = np.array([len(b) for b in self.reference_], dtype=np.int64)
        arrays["reference.flat"] = np.concatenate(list(self.reference_)).astype(np.int64)
        arrays["reference.offsets"] = np.cumsum(lengths)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], **params) -> CausalLM:
        """Rebuild a fitted CausalLM (pass ``model=`` again for a Hugging Face model)."""
        torch = import_torch()
        vocab, n_layer, n_embd, n_head, context = (int(v) for v in arrays["layout"])
        model = cls(
            **(
                {
                    "vocab_size": vocab,
                    "n_layer": n_layer,
                    "n_embd": n_embd,
                    "n_head": n_head,
                    "context": context,
                }
                | params
            )
        )
        model.device_ = model._check_params()
        net = model._new_net(torch) if model.model is None else copy.deepcopy(model._hf_base())
        state = {
            k[4:]: torch.from_numpy(np.array(v)) for k, v in arrays.items() if k.startswith("net.")
        }
        net.load_state_dict(state)
        model.net_ = net.to(model.device_).eval()
        parts = np.split(arrays["reference.flat"], arrays["reference.offsets"][:-1])
        model.reference_ = as_token_blocks(parts)
        model.train_loss_ = float("nan")
        return model
