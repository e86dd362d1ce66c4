"""Small torch models for the grokking tasks.

This module imports torch at the top: the rest of the bench imports it only inside the
functions that train, so that ``import genloop`` never pulls torch in.

Both models map a batch of operand pairs, shape ``(batch, 2)`` with values in
``[0, p)``, to logits over the ``p`` answers, shape ``(batch, p)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class EmbeddingMLP(nn.Module):
    """An MLP over the concatenated learned embeddings of ``a`` and ``b``.

    ``logits = W₂ · relu(W₁ · [E(a); E(b)] + b₁) + b₂`` — the model used by most CPU
    reproductions of grokking (e.g. Liu et al. 2022, Omnigrok).

    Parameters
    ----------
    p : int
        Number of symbols and of classes.
    width : int
        Embedding and hidden width.
    """

    def __init__(self, p: int, width: int):
        super().__init__()
        self.embed = nn.Embedding(p, width)
        self.hidden = nn.Linear(2 * width, width)
        self.out = nn.Linear(width, p)

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        x = self.embed(pairs).flatten(1)  # (batch, 2·width)
        return self.out(torch.relu(self.hidden(x)))


class OneLayerTransformer(nn.Module):
    """A one-layer transformer over the three tokens ``a b =``, read at ``=``.

    Pre-norm attention and MLP blocks with residual connections, no dropout (as in
    Nanda et al. 2023, who drop the norms; we keep them because the full-batch AdamW
    settings of this bench train more stably with them).

    Parameters
    ----------
    p : int
        Number of symbols and of classes; token ``p`` is ``=``.
    width : int
        Model width (embedding and residual stream).
    heads : int
        Attention heads; ``width`` must be divisible by ``heads``.
    """

    def __init__(self, p: int, width: int, heads: int):
        super().__init__()
        self.p = p
        self.heads = heads
        self.token_embed = nn.Embedding(p + 1, width)
        self.position_embed = nn.Parameter(torch.randn(3, width) / math.sqrt(width))
        self.norm_attention = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.attention_out = nn.Linear(width, width)
        self.norm_mlp = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.ReLU(), nn.Linear(4 * width, width)
        )
        self.norm_final = nn.LayerNorm(width)
        self.unembed = nn.Linear(width, p)

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        batch = pairs.shape[0]
        equals = torch.full((batch, 1), self.p, dtype=pairs.dtype, device=pairs.device)
        tokens = torch.cat([pairs, equals], dim=1)  # (batch, 3)
        x = self.token_embed(tokens) + self.position_embed  # (batch, 3, width)
        q, k, v = self.qkv(self.norm_attention(x)).chunk(3, dim=-1)
        # (batch, heads, 3, head_width); three tokens need no causal mask to be useful,
        # and the answer is read at the last position only.
        q, k, v = (t.unflatten(-1, (self.heads, -1)).transpose(1, 2) for t in (q, k, v))
        attended = nn.functional.scaled_dot_product_attention(q, k, v)
        x = x + self.attention_out(attended.transpose(1, 2).flatten(2))
        x = x + self.mlp(self.norm_mlp(x))
        return self.unembed(self.norm_final(x[:, -1]))


def build_model(kind: str, p: int, width: int, heads: int) -> nn.Module:
    """Build ``"mlp"`` (:class:`EmbeddingMLP`) or ``"transformer"`` (a one-layer transformer)."""
    if kind == "mlp":
        return EmbeddingMLP(p, width)
    return OneLayerTransformer(p, width, heads)


def weight_norm(model: nn.Module) -> float:
    """The L2 norm of all parameters together, ``sqrt(Σ θ²)``."""
    with torch.no_grad():
        return float(torch.sqrt(sum((q.double() ** 2).sum() for q in model.parameters())))
