"""The base model behind :class:`~genloop.families.causal_lm.CausalLM`: parameter
checks, building, pretraining once and caching (memory and safetensors on disk), and
loading Hugging Face models safely.

Split from ``causal_lm.py`` so that the family module holds fine-tuning, scoring and
generation, and this one everything that happens before the first generation.
"""

from __future__ import annotations

import hashlib
import json
import numbers

import numpy as np

from genloop.core.errors import ConfigError
from genloop.data.hub import load_hf
from genloop.families.lm_generate import check_family_watermark
from genloop.families.torch_utils import gpt_class, resolve_device

# Bases already built in this process (pretraining takes minutes; disk reads are cheap
# but each generation would repeat them).
_BASES: dict[str, dict] = {}
_BASE_VERSION = 1  # bump when pretraining changes, so stale cached bases are not reused


class BaseModelMixin:
    """Validation and the cached base model, for :class:`CausalLM` (uses its parameters
    and its ``_step`` training step)."""

    # --- validation -----------------------------------------------------------------------
    def _check_params(self):
        def integer(name, minimum, optional=False):
            value = getattr(self, name)
            if optional and value is None:
                return
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Integral)
                or value < minimum
            ):
                raise ConfigError(f"CausalLM: {name}={value!r} must be an integer ≥ {minimum}")

        for name in (
            "vocab_size",
            "n_layer",
            "n_embd",
            "n_head",
            "batch_size",
            "generation_batch",
            "n_threads",
            "num_beams",
        ):
            integer(name, 1)
        integer("context", 4)
        integer("epochs", 0)
        integer("pretrain_steps", 0)
        integer("base_seed", 0)
        integer("max_new_tokens", 1, optional=True)
        integer("top_k", 1, optional=True)
        for name in ("lr", "pretrain_lr", "temperature", "repetition_penalty"):
            if not float(getattr(self, name)) > 0:
                raise ConfigError(f"CausalLM: {name}={getattr(self, name)!r} must be positive")
        if self.top_p is not None and not 0 < float(self.top_p) <= 1:
            raise ConfigError(f"CausalLM: top_p={self.top_p!r} must lie in (0, 1]")
        if self.num_beams > 1 and self.model is None:
            raise ConfigError(
                "CausalLM: beam search (num_beams > 1) needs a Hugging Face "
                "model (family.model); the built-in model samples"
            )
        if self.pretrain_corpus is not None and self.model is None and self.vocab_size != 256:
            raise ConfigError(
                "CausalLM: pretrain_corpus is byte-tokenized, so it needs "
                f"vocab_size=256 (a byte source), got {self.vocab_size}"
            )
        check_family_watermark(self, "CausalLM")
        return resolve_device(self.device, "CausalLM")

    # --- the base model -----------------------------------------------------------------
    def _config_hash(self) -> str:
        keys = (
            "vocab_size",
            "n_layer",
            "n_embd",
            "n_head",
            "context",
            "pretrain_corpus",
            "pretrain_steps",
            "pretrain_lr",
            "batch_size",
            "base_seed",
        )
        config = {k: getattr(self, k) for k in keys} | {"version": _BASE_VERSION}
        return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]

    def _new_net(self, torch):
        if self.model is not None:
            return load_hf("AutoModelForCausalLM", self.model)
        with torch.random.fork_rng():
            torch.manual_seed(self.base_seed)
            return gpt_class()(
                self.vocab_size + 1, self.n_layer, self.n_embd, self.n_head, self.context
            )

    def _base_state(self, torch) -> dict:
        """The base's weights: from memory, the safetensors cache, or built now."""
        key = f"{self.model or 'tiny'}-{self._config_hash()}"
        if key in _BASES:
            return _BASES[key]
        net = self._new_net(torch)
        if self.model is None and self.pretrain_corpus is not None:
            from safetensors.torch import load_file, save_file

            from genloop.data.hub import cache_dir

            path = cache_dir() / "lm-base" / f"{key}.safetensors"
            if path.is_file():
                net.load_state_dict(load_file(str(path)))
            else:
                self._pretrain(net, torch)
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp))
                tmp.replace(path)  # atomic: parallel runs never read half a file
        _BASES[key] = {k: v.detach().clone() for k, v in net.state_dict().items()}
        return _BASES[key]

    def _pretrain(self, net, torch) -> None:
        """``pretrain_steps`` AdamW steps on random windows of the byte-encoded corpus."""
        from genloop.data.text import load_documents
        from genloop.data.tokenize import ByteTokenizer

        texts = load_documents(self.pretrain_corpus).values()
        stream = np.concatenate([ByteTokenizer().encode(t) for t in texts])
        window = self.context - 1
        if len(stream) <= window:
            raise ConfigError(
                f"CausalLM: pretrain_corpus {self.pretrain_corpus!r} is shorter "
                f"than one window of {window} bytes"
            )
        rng = np.random.default_rng(self.base_seed)
        optimizer = torch.optim.AdamW(net.parameters(), lr=self.pretrain_lr, weight_decay=0.01)
        net.train()
        for _ in range(self.pretrain_steps):
            starts = rng.integers(0, len(stream) - window, self.batch_size)
            batch = np.stack([stream[s : s + window] for s in starts])
            self._step(net, optimizer, torch.from_numpy(batch), None, torch)
