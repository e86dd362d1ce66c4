"""The green-list watermark of Kirchenbauer et al. (2023, "A Watermark for Large Language
Models"): embedded at generation time, detected by a one-proportion z-test.

Scheme. At each generated position the previous token ``p`` and a secret integer ``key``
split the vocabulary into a *green* share γ and a *red* rest; the generator adds δ to
the logits of green tokens (multiplies their probabilities by e^δ and renormalises), so
watermarked text holds more green tokens than the γ share that text written without the
key holds on average. Detection needs only the key, never the model::

    z = (|s|_G − γ T) / sqrt(T γ (1 − γ))

over the T scored tokens of a sequence, ``|s|_G`` of them green; ``z ≥ 4`` is the
paper's default threshold (one-sided p ≈ 3·10⁻⁵ for independent tokens).

The green test. Token ``c`` is green after ``p`` when a 64-bit hash of ``(key, p, c)``,
read as a number in [0, 1), is below γ (a splitmix64 finaliser applied twice). This is
the paper's "selection of γ|V| green ids" drawn independently per candidate instead of
as an exact-size permutation: a green list holds γ|V| tokens on average (binomially
spread), but

* testing one token costs one hash (detection never builds a |V|-wide list, which
  matters for word vocabularies of 10–25k and BPE vocabularies of 50k);
* a token's colour does not depend on |V|, so numpy, torch and Hugging Face paths (whose
  output layer may be wider than the tokenizer) agree exactly — torch paths compute the
  mask with the numpy hash.

The first token of a sequence has no previous token *in the sequence*, so it is not
scored (T = length − 1; a continuation's first token was biased by its prompt's last
token, which detection does not see). ``ignore_repeated=True`` scores each distinct
(previous, token) bigram of a sequence once (the paper's remedy for repetitive text,
whose repeated bigrams are not independent draws).
"""

from __future__ import annotations

import numbers

import numpy as np

from genloop.core.errors import ConfigError, DataError

DEFAULT_KEY = 15485863  # the paper's hash key (the millionth prime)
DEFAULT_THRESHOLD = 4.0

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_TO_UNIT = 2.0**-53


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def check_watermark(owner: str, gamma, delta=None, key=None, threshold=None, prefix="") -> None:
    """Raise a one-line ConfigError for γ ∉ (0, 1), δ < 0, a non-integer or negative key,
    or threshold ≤ 0 (``None`` skips a check). ``prefix`` names the keys (``watermark_``)."""
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real) or not 0 < gamma < 1:
        raise ConfigError(f"{owner}: {prefix}gamma={gamma!r} must lie in (0, 1)")
    if delta is not None and (
        isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not delta >= 0
    ):
        raise ConfigError(f"{owner}: {prefix}delta={delta!r} must be a number ≥ 0")
    if key is not None and (
        isinstance(key, bool) or not isinstance(key, numbers.Integral) or not 0 <= key < 2**64
    ):
        raise ConfigError(f"{owner}: {prefix}key={key!r} must be an integer in [0, 2^64)")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not threshold > 0
    ):
        raise ConfigError(f"{owner}: threshold={threshold!r} must be a positive number")


# ---------------------------------------------------------------------------
# The green test
# ---------------------------------------------------------------------------


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on a uint64 array (wraps modulo 2^64 by design)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def _seeds(prev, key: int) -> np.ndarray:
    """h(key, previous token): one uint64 per previous token."""
    prev = np.asarray(prev, dtype=np.int64).astype(np.uint64)
    keyed = _mix(np.array([int(key)], dtype=np.uint64))
    return _mix(prev * _GOLDEN ^ keyed)


def _unit(seeds: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Hash of (seed, candidate) as a float in [0, 1) (broadcasting)."""
    h = _mix(seeds ^ (candidates.astype(np.uint64) * _M2 + _GOLDEN))
    return (h >> np.uint64(11)).astype(np.float64) * _TO_UNIT


def is_green(prev_tokens, tokens, gamma: float, key: int = DEFAULT_KEY) -> np.ndarray:
    """Whether each ``tokens[i]`` is green after ``prev_tokens[i]`` (elementwise).

    Parameters
    ----------
    prev_tokens, tokens : array-like of int, same shape
    gamma : float in (0, 1)
    key : int

    Returns
    -------
    ndarray of bool, the shape of ``tokens``
    """
    check_watermark("watermark", gamma, key=key)
    tokens = np.asarray(tokens, dtype=np.int64)
    return _unit(_seeds(prev_tokens, key), tokens) < gamma


def green_mask(prev_tokens, vocab_size: int, gamma: float, key: int = DEFAULT_KEY) -> np.ndarray:
    """The green list after each previous token, as a boolean matrix.

    Rows are computed once per distinct previous token (a batch of 256 rows rarely holds
    more than a few dozen), so the cost is ``n_distinct · vocab_size`` hashes.

    Parameters
    ----------
    prev_tokens : array-like of int, shape (n,)
    vocab_size : int
        Width V of the mask (candidate ids ``0..V-1``).
    gamma : float in (0, 1)
    key : int

    Returns
    -------
    ndarray of bool, shape (n, V)
    """
    check_watermark("watermark", gamma, key=key)
    prev = np.asarray(prev_tokens, dtype=np.int64).reshape(-1)
    distinct, inverse = np.unique(prev, return_inverse=True)
    candidates = np.arange(int(vocab_size), dtype=np.int64)
    rows = _unit(_seeds(distinct, key)[:, None], candidates[None, :]) < gamma
    return rows[inverse]


def bias_logits(logits, prev_tokens, gamma: float, delta: float, key: int = DEFAULT_KEY):
    """Logits with δ added to every green token (numpy).

    Parameters
    ----------
    logits : ndarray of float, shape (n, V)
    prev_tokens : array-like of int, shape (n,)
    gamma, delta, key
        Green share, bias and hash key.

    Returns
    -------
    ndarray of float, shape (n, V)
    """
    check_watermark("watermark", gamma, delta, key)
    logits = np.asarray(logits)
    return logits + delta * green_mask(prev_tokens, logits.shape[-1], gamma, key)


def bias_logits_torch(logits, prev_tokens, gamma: float, delta: float, key: int = DEFAULT_KEY):
    """:func:`bias_logits` for torch tensors ``(n, V)``; the mask comes from the numpy hash,
    so the green lists are identical to the numpy path's."""
    import torch

    check_watermark("watermark", gamma, delta, key)
    prev = prev_tokens.detach().reshape(-1).cpu().numpy()
    mask = torch.from_numpy(green_mask(prev, logits.shape[-1], gamma, key)).to(logits.device)
    return logits + float(delta) * mask.to(logits.dtype)


def __getattr__(name: str):
    # WatermarkLogitsProcessor subclasses transformers' LogitsProcessor: built on first
    # use so that importing this module never imports transformers.
    if name == "WatermarkLogitsProcessor":
        return _processor_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_PROCESSOR_CLASS = None


def _processor_class():
    global _PROCESSOR_CLASS
    if _PROCESSOR_CLASS is None:
        from transformers import LogitsProcessor

        class WatermarkLogitsProcessor(LogitsProcessor):
            """Hugging Face logits processor adding δ to the green tokens after each
            sequence's last token (pass it in ``generate(logits_processor=[...])``).

            Hugging Face applies custom processors *before* temperature, top-k and top-p,
            so with ``temperature ≠ 1`` the effective bias is δ / temperature.
            """

            def __init__(self, gamma: float, delta: float, key: int = DEFAULT_KEY):
                check_watermark("WatermarkLogitsProcessor", gamma, delta, key)
                self.gamma, self.delta, self.key = float(gamma), float(delta), int(key)

            def __call__(self, input_ids, scores):
                return bias_logits_torch(scores, input_ids[:, -1], self.gamma, self.delta, self.key)

        _PROCESSOR_CLASS = WatermarkLogitsProcessor
    return _PROCESSOR_CLASS


def logits_processor(gamma: float, delta: float, key: int = DEFAULT_KEY):
    """A :class:`WatermarkLogitsProcessor` (imports transformers)."""
    return _processor_class()(gamma, delta, key)


# ---------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------


def _as_sequences(sequences, vocab_size) -> list[np.ndarray]:
    if isinstance(sequences, np.ndarray) and sequences.dtype != object and sequences.ndim == 2:
        sequences = list(sequences)
    try:
        rows = [np.asarray(s).reshape(-1) for s in sequences]
    except TypeError:
        raise DataError(
            f"watermark: expected a sequence of token arrays, got {type(sequences).__name__}"
        ) from None
    for i, row in enumerate(rows):
        if row.size and row.dtype.kind not in "iu":
            raise DataError(f"watermark: sequence {i} holds non-integer tokens ({row.dtype})")
        if row.size and row.min() < 0:
            raise DataError(f"watermark: sequence {i} holds a negative token id {row.min()}")
        if vocab_size is not None and row.size and row.max() >= vocab_size:
            raise DataError(
                f"watermark: sequence {i} holds token id {row.max()} ≥ vocab_size {vocab_size}"
            )
    return [r.astype(np.int64) for r in rows]


def green_counts(
    sequences, vocab_size=None, gamma=0.25, key=DEFAULT_KEY, ignore_repeated=False
) -> tuple[np.ndarray, np.ndarray]:
    """Green tokens and scored tokens of each sequence, all sequences hashed at once.

    Returns
    -------
    green : ndarray of int, shape (n,)
    scored : ndarray of int, shape (n,)
        T: length − 1, or the number of distinct bigrams with ``ignore_repeated``.
    """
    check_watermark("watermark", gamma, key=key)
    rows = _as_sequences(sequences, vocab_size)
    n = len(rows)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    lengths = np.array([len(r) for r in rows])
    flat = np.concatenate(rows) if lengths.sum() else np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(n), lengths)
    # A bigram is (flat[j-1], flat[j]) where both tokens belong to the same sequence.
    same = owner[1:] == owner[:-1]
    prev, token, owner = flat[:-1][same], flat[1:][same], owner[1:][same]
    if ignore_repeated and len(token):
        triples = np.unique(np.stack([owner, prev, token], axis=1), axis=0)
        owner, prev, token = triples[:, 0], triples[:, 1], triples[:, 2]
    green = _unit(_seeds(prev, key), token) < gamma
    return (
        np.bincount(owner, weights=green, minlength=n).astype(np.int64),
        np.bincount(owner, minlength=n).astype(np.int64),
    )


def z_from_counts(green, scored, gamma: float) -> np.ndarray:
    """z = (green − γT) / sqrt(T γ (1 − γ)); NaN where T = 0."""
    green, scored = np.asarray(green, dtype=float), np.asarray(scored, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (green - gamma * scored) / np.sqrt(scored * gamma * (1 - gamma))
    return np.where(scored > 0, z, np.nan)


def z_scores(
    sequences, vocab_size=None, gamma=0.25, key=DEFAULT_KEY, ignore_repeated=False
) -> np.ndarray:
    """The detection statistic of each sequence.

    Parameters
    ----------
    sequences : sequence of 1-D int arrays, or int ndarray of shape (n, L)
        Token sequences (a text pool).
    vocab_size : int, optional
        Only checks that token ids lie below it (green lists do not depend on it).
    gamma : float in (0, 1), default 0.25
    key : int, default 15485863
    ignore_repeated : bool, default False
        Score each distinct (previous, token) bigram of a sequence once.

    Returns
    -------
    ndarray of float, shape (n,)
        NaN for a sequence with no scored token (fewer than two tokens).
    """
    green, scored = green_counts(sequences, vocab_size, gamma, key, ignore_repeated)
    return z_from_counts(green, scored, gamma)


def detect(
    sequences,
    threshold=DEFAULT_THRESHOLD,
    vocab_size=None,
    gamma=0.25,
    key=DEFAULT_KEY,
    ignore_repeated=False,
) -> np.ndarray:
    """Whether each sequence is watermarked: ``z ≥ threshold`` (NaN z: not detected).

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    check_watermark("watermark", gamma, key=key, threshold=threshold)
    z = z_scores(sequences, vocab_size, gamma, key, ignore_repeated)
    return np.nan_to_num(z, nan=-np.inf) >= threshold
