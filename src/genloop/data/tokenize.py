"""Tokenizers shared by text sources and language-model families.

A tokenizer is frozen once generation 0's corpus is known, so token ids mean the same
thing in every generation:

* :class:`ByteTokenizer` — UTF-8 bytes, ``vocab_size = 256``; needs no corpus.
* :class:`WordTokenizer` — words, punctuation and newlines, with a vocabulary built from
  the corpus (most frequent first, id 0 = ``<unk>``); what word-level n-grams use.
* :class:`BPETokenizer` — byte-level BPE trained with ``tokenizers`` on the corpus and
  cached (``bpe:N`` for a vocabulary of N);
* :class:`HFTokenizer` — a Hugging Face tokenizer from a local directory (or a hub id
  when online), for fine-tuning a model that brings its own vocabulary.

:func:`words` splits decoded text into lower-case words, the unit of the lost-rare-words
and vocabulary metrics whatever the tokenizer.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import numpy as np

from genloop.core.errors import ConfigError, DataError

# Newlines are kept as tokens: verse lines and speaker turns are structure a model learns.
TOKEN_PATTERN = re.compile(r"\n|[A-Za-z]+(?:'[A-Za-z]+)*|[^\sA-Za-z]")
WORD_PATTERN = re.compile(r"[a-z]+(?:'[a-z]+)*")
UNKNOWN = "<unk>"


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` (letters and inner apostrophes), in order."""
    return WORD_PATTERN.findall(text.lower())


class ByteTokenizer:
    """UTF-8 bytes as tokens (``vocab_size = 256``)."""

    name = "byte"
    vocab_size = 256

    def encode(self, text: str) -> np.ndarray:
        """Token ids of ``text``, shape ``(n_bytes,)``, dtype int64."""
        return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int64)

    def decode(self, tokens) -> str:
        """Text of token ids; ids outside 0..255 and broken UTF-8 become U+FFFD."""
        tokens = np.asarray(tokens, dtype=np.int64)
        tokens = np.where((tokens >= 0) & (tokens < 256), tokens, ord("?"))
        return tokens.astype(np.uint8).tobytes().decode("utf-8", errors="replace")


class WordTokenizer:
    """Words, punctuation and newlines, with a vocabulary frozen from a corpus.

    Parameters
    ----------
    vocabulary : list of str
        Token strings by id; id 0 must be ``"<unk>"`` (words not in the corpus).
    """

    name = "word"

    def __init__(self, vocabulary: list[str]):
        if not vocabulary or vocabulary[0] != UNKNOWN:
            raise ValueError("a word vocabulary starts with '<unk>'")
        self.vocabulary = list(vocabulary)
        self.index = {token: i for i, token in enumerate(self.vocabulary)}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> WordTokenizer:
        """Vocabulary of every token in ``texts``, most frequent first (ties by spelling)."""
        counts = Counter()
        for text in texts:
            counts.update(TOKEN_PATTERN.findall(text))
        ordered = sorted(counts, key=lambda token: (-counts[token], token))
        return cls([UNKNOWN, *ordered])

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary)

    def encode(self, text: str) -> np.ndarray:
        """Token ids of ``text``, shape ``(n_tokens,)``; unknown tokens map to 0."""
        return np.fromiter(
            (self.index.get(t, 0) for t in TOKEN_PATTERN.findall(text)), dtype=np.int64
        )

    def decode(self, tokens) -> str:
        """Tokens joined by spaces (no space around newlines); unknown ids read ``<unk>``."""
        size = len(self.vocabulary)
        parts = [self.vocabulary[t] if 0 <= t < size else UNKNOWN for t in np.asarray(tokens)]
        return " ".join(parts).replace(" \n ", "\n").replace(" \n", "\n").replace("\n ", "\n")


class HFTokenizer:
    """A Hugging Face tokenizer (``transformers.AutoTokenizer``), no special tokens added.

    Parameters
    ----------
    path : str
        A local directory, or a hub id when online.
    """

    name = "hf"

    def __init__(self, path: str):
        from genloop.data.hub import load_hf

        self.path = path
        self.tokenizer = load_hf("AutoTokenizer", path)

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    def encode(self, text: str) -> np.ndarray:
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return np.asarray(ids, dtype=np.int64)

    def decode(self, tokens) -> str:
        return self.tokenizer.decode([int(t) for t in np.asarray(tokens)])


class BPETokenizer:
    """Byte-level BPE trained with ``tokenizers`` on the corpus, cached by content hash.

    Parameters
    ----------
    texts : list of str
        The generation-0 corpus the merges are learned from (then frozen).
    vocab_size : int
        Target vocabulary (256 byte symbols plus merges).
    """

    name = "bpe"

    def __init__(self, texts: list[str], vocab_size: int):
        import hashlib

        from genloop.data.hub import cache_dir

        try:
            from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
        except ImportError:
            raise ConfigError(
                "source.tokenizer=bpe needs the tokenizers package: pip install 'genloop[neural]'"
            ) from None
        digest = hashlib.sha256()
        for text in texts:
            digest.update(hashlib.sha256(text.encode("utf-8")).digest())
        path = cache_dir() / "tokenizers" / f"bpe{vocab_size}-{digest.hexdigest()[:16]}.json"
        if path.is_file():
            self.tokenizer = Tokenizer.from_file(str(path))
        else:
            self.tokenizer = Tokenizer(models.BPE())
            self.tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
            self.tokenizer.decoder = decoders.ByteLevel()
            trainer = trainers.BpeTrainer(
                vocab_size=vocab_size,
                show_progress=False,
                initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            )
            self.tokenizer.train_from_iterator(texts, trainer)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            self.tokenizer.save(str(tmp))
            tmp.replace(path)

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def encode(self, text: str) -> np.ndarray:
        return np.asarray(self.tokenizer.encode(text).ids, dtype=np.int64)

    def decode(self, tokens) -> str:
        return self.tokenizer.decode([int(t) for t in np.asarray(tokens)])


def make_tokenizer(spec: str, texts: Iterable[str] | None = None):
    """The tokenizer named by ``spec``: ``byte``, ``word`` or ``bpe[:N]`` (built from
    ``texts``), or ``hf:PATH``."""
    if spec == "byte":
        return ByteTokenizer()
    if isinstance(spec, str) and (spec == "bpe" or spec.startswith("bpe:")):
        check_tokenizer_spec(spec)
        return BPETokenizer(list(texts or []), int(spec.partition(":")[2] or 1024))
    if spec == "word":
        if texts is None:
            raise ValueError("a word tokenizer needs the corpus texts")
        return WordTokenizer.from_texts(texts)
    if isinstance(spec, str) and spec.startswith("hf:") and len(spec) > 3:
        return HFTokenizer(spec[3:])
    raise ConfigError(
        f"source.tokenizer={spec!r} is unknown; use byte, word, bpe[:N ≥ 257] or hf:<path>"
    )


def check_tokenizer_spec(spec) -> None:
    """Raise a ConfigError unless ``spec`` names a tokenizer :func:`make_tokenizer` knows."""
    ok = spec in ("byte", "word", "bpe") or (isinstance(spec, str) and spec.startswith("hf:"))
    if isinstance(spec, str) and spec.startswith("bpe:"):
        size = spec.partition(":")[2]
        ok = size.isdigit() and int(size) >= 257
    if not ok or spec == "hf:":
        raise ConfigError(
            f"source.tokenizer={spec!r} is unknown; use byte, word, bpe[:N ≥ 257] or hf:<path>"
        )


def as_token_blocks(blocks) -> np.ndarray:
    """A 1-D object array of 1-D int64 token arrays (the text pool layout)."""
    out = np.empty(len(blocks), dtype=object)
    for i, block in enumerate(blocks):
        out[i] = np.asarray(block, dtype=np.int64).reshape(-1)
    return out


def check_blocks(X, owner: str, vocab_size: int | None = None) -> list[np.ndarray]:
    """Token blocks of a text pool as int64 arrays, validated (non-empty, ids in range)."""
    if isinstance(X, np.ndarray) and X.dtype != object and X.ndim == 2:
        X = list(X)  # a rectangular int array of blocks is accepted too
    try:
        blocks = [np.asarray(b).reshape(-1) for b in X]
    except TypeError:
        raise DataError(
            f"{owner}: expected a sequence of token blocks, got {type(X).__name__}"
        ) from None
    if not blocks:
        raise DataError(f"{owner}: no token blocks to fit")
    for i, block in enumerate(blocks):
        if block.dtype.kind not in "iu" and not (
            block.size == 0 or block.dtype.kind == "f" and np.all(block == np.round(block))
        ):
            raise DataError(f"{owner}: block {i} holds non-integer tokens ({block.dtype})")
        if block.size and block.min() < 0:
            raise DataError(f"{owner}: block {i} holds a negative token id {block.min()}")
        if vocab_size is not None and block.size and block.max() >= vocab_size:
            raise DataError(
                f"{owner}: block {i} holds token id {block.max()} ≥ vocab_size {vocab_size}"
            )
    return [b.astype(np.int64) for b in blocks]
