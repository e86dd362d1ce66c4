"""genloop's local cache of models and corpora, and Hugging Face objects loaded from disk.

:func:`cache_dir` is where fetched corpora, trained tokenizers and pretrained tiny LM
bases are kept. Text sources need a model's tokenizer and LM families need its weights;
both load through :func:`load_hf`, which never runs remote code, takes safetensors
weights only, and turns every failure (offline, unknown id, pickle-only weights) into
one clear line.
"""

from __future__ import annotations

import os
from pathlib import Path

from genloop.core.errors import ConfigError


def cache_dir() -> Path:
    """genloop's download cache: ``$GENLOOP_CACHE`` or ``~/.cache/genloop``."""
    return Path(os.environ.get("GENLOOP_CACHE") or Path.home() / ".cache" / "genloop")


def load_hf(kind: str, path: str):
    """``transformers.<kind>.from_pretrained(path)`` safely, or one clear line on failure."""
    try:
        import transformers
    except ImportError:
        raise ConfigError(
            f"loading {path!r} needs transformers: pip install 'genloop[neural]'"
        ) from None
    local = Path(path).expanduser()
    options = {"trust_remote_code": False, "local_files_only": local.is_dir()}
    if kind != "AutoTokenizer":
        options["use_safetensors"] = True
    try:
        return getattr(transformers, kind).from_pretrained(
            str(local if local.is_dir() else path), **options
        )
    except Exception as exc:  # offline, unknown id, pickle-only weights: all one line
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise ConfigError(
            f"cannot load {path!r} ({reason}); download it where you are online (e.g. "
            f"`huggingface-cli download {path} --local-dir DIR`, safetensors weights) and "
            "set family.model (and source.tokenizer: hf:DIR) to that local DIR"
        ) from None
