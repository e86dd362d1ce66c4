"""PyTorch helpers for the neural families: device, threads, seeding, a tiny GPT.

torch is imported inside functions only, so ``import genloop`` never needs it. Every
random torch call takes a :class:`torch.Generator` seeded from the numpy Generator the
engine passes, so a neural family is deterministic given the run seed (on CPU).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from genloop.core.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")


def import_torch():
    """``torch``, or a one-line ConfigError saying how to install it."""
    try:
        import torch
    except ImportError:
        raise ConfigError("neural families need PyTorch: pip install 'genloop[neural]'") from None
    return torch


def resolve_device(device: str, owner: str):
    """``auto`` → CUDA when available, else CPU; ``cuda`` without a GPU is an error."""
    torch = import_torch()
    if device not in DEVICES:
        raise ConfigError(f"{owner}: device={device!r} must be one of {', '.join(DEVICES)}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{owner}: device='cuda' but no CUDA GPU is visible; use auto or cpu")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def set_threads(n_threads: int) -> None:
    """At most ``n_threads`` intra-op threads (this machine has 2 cores, shared)."""
    torch = import_torch()
    if torch.get_num_threads() != n_threads:
        torch.set_num_threads(int(n_threads))


def torch_generator(rng: np.random.Generator, device):
    """A torch Generator on ``device`` seeded by one draw from ``rng``."""
    torch = import_torch()
    generator = torch.Generator(device=device)
    generator.manual_seed(int(rng.integers(2**62)))
    return generator


def seed_int(random_state) -> int:
    """An int seed from None / int / numpy Generator (for shuffles and initialisation)."""
    from genloop.core.rng import as_generator

    return int(as_generator(random_state).integers(2**31 - 1))


@lru_cache(maxsize=1)
def gpt_class():
    """The tiny GPT-2-style model class (defined on first use, so torch stays lazy)."""
    torch = import_torch()
    from torch import nn
    from torch.nn import functional as F

    class Block(nn.Module):
        """Pre-norm transformer block: causal self-attention, then a 4× GELU MLP."""

        def __init__(self, n_embd: int, n_head: int):
            super().__init__()
            self.n_head = n_head
            self.ln1, self.ln2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)
            self.qkv, self.proj = nn.Linear(n_embd, 3 * n_embd), nn.Linear(n_embd, n_embd)
            self.mlp = nn.Sequential(
                nn.Linear(n_embd, 4 * n_embd), nn.GELU(), nn.Linear(4 * n_embd, n_embd)
            )

        def forward(self, x, past=None):
            b, t, c = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
            q, k, v = (
                z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v)
            )
            if past is not None:
                k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
            # With a cache the new queries see every cached key: no mask is needed for
            # one new token; a multi-token prompt (no cache yet) uses the causal mask.
            y = F.scaled_dot_product_attention(q, k, v, is_causal=past is None and t > 1)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
            return x + self.mlp(self.ln2(x)), (k, v)

    class TinyGPT(nn.Module):
        """Token + position embeddings, ``n_layer`` blocks, a head tied to the embedding."""

        def __init__(self, vocab_size, n_layer, n_embd, n_head, context):
            super().__init__()
            if n_embd % n_head:
                raise ConfigError(f"CausalLM: n_embd={n_embd} is not divisible by n_head={n_head}")
            self.context = context
            self.tok = nn.Embedding(vocab_size, n_embd)
            self.pos = nn.Embedding(context, n_embd)
            self.blocks = nn.ModuleList(Block(n_embd, n_head) for _ in range(n_layer))
            self.ln = nn.LayerNorm(n_embd)
            self.apply(self._init)

        @staticmethod
        def _init(module):
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

        def forward(self, idx, past=None):
            """Logits ``(b, t, vocab)`` and the new key/value cache (one pair per block)."""
            start = 0 if past is None else past[0][0].shape[2]
            if start + idx.shape[1] > self.context:
                raise ValueError(
                    f"sequence of {start + idx.shape[1]} tokens exceeds the "
                    f"model context {self.context}"
                )
            positions = torch.arange(start, start + idx.shape[1], device=idx.device)
            x = self.tok(idx) + self.pos(positions)
            present = []
            for i, block in enumerate(self.blocks):
                x, kv = block(x, None if past is None else past[i])
                present.append(kv)
            return self.ln(x) @ self.tok.weight.T, present

    return TinyGPT


def filter_logits(logits, temperature=1.0, top_k=None, top_p=None):
    """Temperature, then top-k, then nucleus (top-p) filtering of ``(b, vocab)`` logits."""
    torch = import_torch()
    logits = logits / max(float(temperature), 1e-6)
    if top_k:
        kth = torch.topk(logits, min(int(top_k), logits.shape[-1]), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        ordered, index = torch.sort(logits, descending=True, dim=-1)
        cumulative = torch.softmax(ordered, dim=-1).cumsum(dim=-1)
        # Drop tokens once the mass before them already reaches top_p (keep at least one).
        drop = cumulative - torch.softmax(ordered, dim=-1) >= top_p
        logits = logits.masked_fill(drop.scatter(1, index, drop), float("-inf"))
    return logits


def penalize_repeats(logits, history, penalty: float):
    """CTRL-style repetition penalty on tokens already in ``history`` ``(b, t)``."""
    if penalty == 1.0:
        return logits
    seen = logits.gather(1, history)
    seen = seen.where(seen < 0, seen / penalty).where(seen >= 0, seen * penalty)
    return logits.scatter(1, history, seen)
