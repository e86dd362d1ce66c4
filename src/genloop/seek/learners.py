"""Learners for the seek bench: an MLP and a small transformer over token sequences.

Both map an input sequence of ``input_len`` tokens to ``output_len`` independent softmaxes
over the vocabulary, one per answer position (non-autoregressive: the transformer reads
the input plus ``output_len`` learned query slots and predicts every answer token at
once). An ensemble trains ``ensemble`` independently initialised members on the same
batches; their disagreement, or that of Monte-Carlo dropout passes when ``ensemble == 1``
and ``dropout > 0``, measures epistemic uncertainty.

Torch is imported when a learner is built. Every random draw (initialisation, dropout
masks, sampled answers) comes from streams derived from ``seed``, so two learners with the
same seed and the same calls give identical results whatever else the process did.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from genloop.core.errors import ConfigError
from genloop.core.rng import generator

MC_DROPOUT_PASSES = 8  # stochastic passes that stand in for ensemble members


def resolve_device(device: str) -> str:
    """Map ``"auto"`` to ``"cuda"`` when torch sees a GPU, else ``"cpu"``."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"device={device!r}; allowed: auto, cpu, cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device='cuda' but torch sees no CUDA device; use device=auto or cpu")
    return device


def _build_member(kind, vocab_size, input_len, output_len, width, depth, dropout):
    """One network: tokens (n, input_len) → logits (n, output_len, vocab_size)."""
    import torch
    from torch import nn

    class MLP(nn.Module):
        """Flattened one-hot input → ``depth`` ReLU layers → one softmax per position."""

        def __init__(self):
            super().__init__()
            # One-hot @ W equals summing one embedding row per (position, token): same
            # function, without materialising the one-hot matrix.
            self.first = nn.Embedding(input_len * vocab_size, width)
            self.first_bias = nn.Parameter(torch.zeros(width))
            hidden = []
            for _ in range(depth - 1):
                hidden += [nn.ReLU(), nn.Dropout(dropout), nn.Linear(width, width)]
            self.hidden = nn.Sequential(*hidden, nn.ReLU(), nn.Dropout(dropout))
            self.out = nn.Linear(width, output_len * vocab_size)
            self.register_buffer("offsets", torch.arange(input_len) * vocab_size)
            nn.init.normal_(self.first.weight, std=(1.0 / input_len) ** 0.5)

        def forward(self, tokens):
            h = self.first(tokens + self.offsets).sum(dim=1) + self.first_bias
            return self.out(self.hidden(h)).view(-1, output_len, vocab_size)

    class Transformer(nn.Module):
        """Pre-norm encoder over input tokens plus learned answer-query slots."""

        def __init__(self):
            super().__init__()
            heads = 4 if width % 4 == 0 else 1
            self.embed = nn.Embedding(vocab_size, width)
            self.position = nn.Parameter(torch.randn(input_len + output_len, width) * 0.02)
            self.queries = nn.Parameter(torch.randn(output_len, width) * 0.02)
            layer = nn.TransformerEncoderLayer(
                width, heads, 4 * width, dropout, batch_first=True, norm_first=True
            )
            self.encoder = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(width)
            self.out = nn.Linear(width, vocab_size)

        def forward(self, tokens):
            queries = self.queries.expand(tokens.shape[0], -1, -1)
            h = torch.cat([self.embed(tokens), queries], dim=1) + self.position
            h = self.encoder(h)[:, input_len:]
            return self.out(self.norm(h))

    return MLP() if kind == "mlp" else Transformer()


class Learner:
    """A token-sequence predictor (MLP or transformer), optionally an ensemble.

    Parameters
    ----------
    kind : {"mlp", "transformer"}
        The network family.
    vocab_size, input_len, output_len : int
        Token vocabulary and fixed sequence lengths (from the task space).
    width, depth : int
        Hidden width and number of hidden (MLP) or encoder (transformer) layers.
    ensemble : int
        Independently initialised members trained on the same batches.
    dropout : float
        Dropout rate; with ``ensemble == 1`` it enables MC-dropout uncertainty.
    lr : float
        Adam learning rate.
    seed : int
        Seeds initialisation, dropout and sampling streams.
    device : {"auto", "cpu", "cuda"}
        ``auto`` picks CUDA when available.
    """

    def __init__(
        self,
        kind="mlp",
        vocab_size=41,
        input_len=8,
        output_len=4,
        width=128,
        depth=2,
        ensemble=1,
        dropout=0.0,
        lr=1e-3,
        seed=0,
        device="auto",
    ):
        if kind not in ("mlp", "transformer"):
            raise ConfigError(f"learner kind={kind!r}; allowed: mlp, transformer")
        for key, value in dict(vocab_size=vocab_size, input_len=input_len, width=width,
                               output_len=output_len, depth=depth, ensemble=ensemble).items():
            if int(value) < 1:
                raise ConfigError(f"learner {key}={value}; must be ≥ 1")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"learner dropout={dropout}; allowed: [0, 1)")
        if lr <= 0:
            raise ConfigError(f"learner lr={lr}; must be > 0")
        import torch

        self.kind, self.vocab_size = kind, int(vocab_size)
        self.input_len, self.output_len = int(input_len), int(output_len)
        self.ensemble, self.dropout, self.seed = int(ensemble), float(dropout), int(seed)
        self.device = resolve_device(device)
        self._calls = 0  # counts random-consuming calls: each gets its own torch seed
        with self._seeded("init"):
            self.members = torch.nn.ModuleList(
                _build_member(kind, self.vocab_size, self.input_len, self.output_len,
                              int(width), int(depth), self.dropout)
                for _ in range(self.ensemble)
            ).to(self.device)
        self.optimizer = torch.optim.Adam(self.members.parameters(), lr=lr)

    # -- plumbing -------------------------------------------------------------------------
    @contextmanager
    def _seeded(self, purpose: str, needed: bool = True):
        """A context in which torch's global RNG is seeded from (seed, call, purpose).

        Skipped when nothing random happens inside (``needed`` False): reseeding costs
        more than a small forward pass.
        """
        import torch

        if not needed:
            yield
            return
        self._calls += 1
        torch_seed = int(generator(self.seed, self._calls, purpose).integers(0, 2**62))
        devices = [torch.cuda.current_device()] if self.device == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            # The default CPU generator only: torch.manual_seed would also queue lazy
            # seeding of every accelerator backend, at a stack capture per call.
            torch.default_generator.manual_seed(torch_seed)
            if self.device == "cuda":
                torch.cuda.manual_seed(torch_seed)
            yield

    def _tensor(self, array, name):
        import torch

        array = np.asarray(array)
        length = self.input_len if name == "inputs" else self.output_len
        if array.ndim != 2 or array.shape[1] != length:
            raise ConfigError(f"learner {name} of shape {array.shape}; expected (n, {length})")
        if array.size and (array.min() < 0 or array.max() >= self.vocab_size):
            raise ConfigError(f"learner {name} hold tokens outside [0, {self.vocab_size})")
        return torch.as_tensor(array.astype(np.int64), device=self.device)

    def _member_probs(self, inputs, stochastic=False):
        """Per-member probabilities, shape (members, n, output_len, vocab)."""
        import torch

        x = self._tensor(inputs, "inputs")
        self.members.train(stochastic)
        passes = MC_DROPOUT_PASSES if stochastic and self.ensemble == 1 else 1
        with torch.no_grad(), self._seeded("dropout", stochastic and self.dropout > 0):
            probs = [m(x).softmax(-1) for m in self.members for _ in range(passes)]
        self.members.train(False)
        return torch.stack(probs)

    # -- training -------------------------------------------------------------------------
    def train_step(self, inputs, targets) -> float:
        """One Adam step on a batch for every member; returns the mean loss.

        The loss is the answer's negative log-likelihood (cross-entropy summed over answer
        positions), averaged over examples and members.
        """
        import torch.nn.functional as F

        x, y = self._tensor(inputs, "inputs"), self._tensor(targets, "targets")
        if len(x) != len(y):
            raise ConfigError(f"learner got {len(x)} inputs but {len(y)} targets")
        self.members.train(True)
        with self._seeded("train", self.dropout > 0):
            losses = []
            for member in self.members:
                logits = member(x)
                ce = F.cross_entropy(logits.reshape(-1, self.vocab_size), y.reshape(-1),
                                     reduction="sum")
                losses.append(ce / len(x))
            total = sum(losses) / self.ensemble
            self.optimizer.zero_grad(set_to_none=True)
            total.backward()
            self.optimizer.step()
        self.members.train(False)
        return float(total.detach())

    def loss(self, inputs, targets) -> np.ndarray:
        """Per-example loss (answer NLL, averaged over members): shape (n,)."""
        import torch

        probs = self._member_probs(inputs)
        y = self._tensor(targets, "targets")
        if probs.shape[1] != len(y):
            raise ConfigError(f"learner got {probs.shape[1]} inputs but {len(y)} targets")
        picked = probs.gather(-1, y[None, :, :, None].expand(len(probs), -1, -1, 1))[..., 0]
        nll = -torch.log(picked.clamp_min(1e-12)).sum(-1).mean(0)
        return nll.cpu().numpy().astype(np.float64)

    # -- prediction -----------------------------------------------------------------------
    def predict(self, inputs, temperature=0.0, rng=None):
        """Answers and their confidence under the members' mean distribution.

        Parameters
        ----------
        inputs : ndarray of shape (n, input_len)
        temperature : float
            0 for greedy answers; otherwise each position is sampled from the mean
            distribution raised to ``1/temperature`` (renormalised), with ``rng``.
        rng : numpy.random.Generator, optional
            Needed when ``temperature > 0``.

        Returns
        -------
        outputs : ndarray of shape (n, output_len), int64
        confidence : ndarray of shape (n,)
            Product over positions of the (tempered) probability of the returned token.
        """
        if temperature < 0:
            raise ConfigError(f"predict temperature={temperature}; must be ≥ 0")
        probs = self._member_probs(inputs).mean(0).cpu().numpy().astype(np.float64)
        if temperature == 0:
            outputs = probs.argmax(-1)
        else:
            if rng is None:
                raise ConfigError("predict with temperature > 0 needs rng (a numpy Generator)")
            logp = np.log(np.clip(probs, 1e-300, None)) / temperature
            probs = np.exp(logp - logp.max(-1, keepdims=True))
            probs /= probs.sum(-1, keepdims=True)
            cumulative = probs.cumsum(-1)
            draws = rng.random(probs.shape[:-1])[..., None]
            outputs = np.minimum((cumulative < draws).sum(-1), self.vocab_size - 1)
        chosen = np.take_along_axis(probs, outputs[..., None], -1)[..., 0]
        return outputs.astype(np.int64), chosen.prod(-1)

    def uncertainty(self, inputs, method="disagreement") -> np.ndarray:
        """Epistemic uncertainty per example, shape (n,).

        ``disagreement``: mean over answer positions of the average total-variation
        distance between each member's distribution and the members' mean.
        ``bald``: mutual information between answer and member (entropy of the mean minus
        mean entropy), summed over positions (Houlsby et al. 2011). Members are the
        ensemble, or MC-dropout passes when ``ensemble == 1``.
        """
        import torch

        if method not in ("disagreement", "bald"):
            raise ConfigError(f"uncertainty method={method!r}; allowed: disagreement, bald")
        if self.ensemble == 1 and self.dropout == 0.0:
            raise ConfigError("uncertainty needs learner.ensemble > 1 or learner.dropout > 0")
        probs = self._member_probs(inputs, stochastic=self.ensemble == 1)
        mean = probs.mean(0)
        if method == "disagreement":
            tv = 0.5 * (probs - mean).abs().sum(-1)  # (members, n, positions)
            return tv.mean(0).mean(-1).cpu().numpy().astype(np.float64)

        def entropy(p):
            return -(p * torch.log(p.clamp_min(1e-12))).sum(-1)

        mutual = entropy(mean) - entropy(probs).mean(0)
        return mutual.sum(-1).clamp_min(0.0).cpu().numpy().astype(np.float64)

    # -- checkpoints ----------------------------------------------------------------------
    def state_arrays(self) -> dict[str, np.ndarray]:
        """Every member's weights as flat numpy arrays (keys ``"<member>.<param>"``)."""
        return {k: v.detach().cpu().numpy().copy() for k, v in self.members.state_dict().items()}

    def load_arrays(self, arrays) -> None:
        """Load weights saved by :meth:`state_arrays` (same architecture)."""
        import torch

        expected = self.members.state_dict()
        missing = sorted(set(expected) - set(arrays))
        if missing:
            raise ConfigError(f"learner checkpoint lacks {missing[:3]}")
        state = {k: torch.as_tensor(np.asarray(arrays[k])) for k in expected}
        for key, value in state.items():
            if tuple(value.shape) != tuple(expected[key].shape):
                raise ConfigError(f"learner checkpoint {key} has shape {tuple(value.shape)}")
        self.members.load_state_dict(state)
