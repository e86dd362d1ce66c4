"""A Markov chain of order n over tokens (words or bytes), with absolute discounting.

The model of a token given the previous ``order - 1`` tokens interpolates every order
down to the unigram (interpolated absolute discounting, Ney et al. 1994)::

    P_k(w | h) = (max(c(h w) − D, 0) + D · N1+(h ·) · P_{k−1}(w | h')) / c(h)   if c(h) > 0
               = P_{k−1}(w | h')                                               otherwise
    P_1(w)     = (1 − ε) · c(w) / N + ε / V

``h'`` drops the oldest token of ``h``; ``N1+(h ·)`` is the number of distinct tokens seen
after ``h``. The unigram keeps only a tiny uniform share ε: a token absent from the
training data has (almost) no probability, so a word lost in one generation stays lost
— the tail loss the collapse recipes measure — while held-out perplexity stays finite.

Rows are token blocks (a 1-D object array of int64 arrays); each block starts a new
sequence, its first tokens conditioned on a begin-of-block symbol ``V``. Counts are kept
as sorted integer keys ``context · (V+1) + token``, so fitting, scoring and sampling are
vectorised numpy (sampling advances every block one token at a time).

With ``watermark_gamma`` set, sampling embeds the green-list watermark of
:mod:`genloop.curation.watermark`: at every step the green tokens' probabilities are
multiplied by e^δ and renormalised (drawn exactly, see :mod:`genloop.families.lm_generate`).
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils.validation import check_is_fitted

from genloop.core.errors import ConfigError
from genloop.core.rng import as_generator
from genloop.curation.watermark import DEFAULT_KEY
from genloop.data.tokenize import as_token_blocks, check_blocks
from genloop.families.base import DensityFamily
from genloop.families.lm_generate import WatermarkedNGramMixin, check_family_watermark


class NGram(WatermarkedNGramMixin, DensityFamily):
    """Order-n Markov chain over token blocks with interpolated absolute discounting.

    Parameters
    ----------
    order : int, default 3
        Tokens per n-gram (3: each token depends on the two before it).
    vocab_size : int, optional
        Token ids lie in ``0..vocab_size-1``; filled from the source when it knows it,
        otherwise the largest id seen in ``fit`` plus one.
    discount : float, default 0.75
        Absolute discount D in (0, 1).
    uniform_weight : float, default 1e-6
        Share ε of the unigram spread uniformly over the vocabulary.
    length : int, optional
        Tokens per sampled block (default: the median training block length).
    watermark_gamma : float in (0, 1), optional
        Green share γ of the watermark embedded when sampling; ``None``: no watermark.
    watermark_delta : float, default 2.0
        Bias δ ≥ 0: green-token probabilities are multiplied by e^δ before renormalising.
    watermark_key : int, default 15485863
        Secret hash key of the green lists (detection needs the same key).

    Attributes
    ----------
    keys_ : list of ndarray
        Per order k = 1..n, sorted n-gram keys ``context · (V+1) + token``.
    counts_ : list of ndarray
        Count of each key.
    vocab_size_ : int
        V, the vocabulary size used.
    length_ : int
        Tokens per sampled block.
    """

    kind = "text"

    def __init__(
        self,
        order=3,
        vocab_size=None,
        discount=0.75,
        uniform_weight=1e-6,
        length=None,
        watermark_gamma=None,
        watermark_delta=2.0,
        watermark_key=DEFAULT_KEY,
    ):
        self.order = order
        self.vocab_size = vocab_size
        self.discount = discount
        self.uniform_weight = uniform_weight
        self.length = length
        self.watermark_gamma = watermark_gamma
        self.watermark_delta = watermark_delta
        self.watermark_key = watermark_key

    # --- validation -------------------------------------------------------------------
    def _check_params(self):
        def integer(name, value, minimum):
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Integral)
                or value < minimum
            ):
                raise ConfigError(f"NGram: {name}={value!r} must be an integer ≥ {minimum}")

        integer("order", self.order, 1)
        if self.vocab_size is not None:
            integer("vocab_size", self.vocab_size, 1)
        if self.length is not None:
            integer("length", self.length, 1)
        if not 0.0 < float(self.discount) < 1.0:
            raise ConfigError(f"NGram: discount={self.discount!r} must lie in (0, 1)")
        if not 0.0 < float(self.uniform_weight) <= 1.0:
            raise ConfigError(f"NGram: uniform_weight={self.uniform_weight!r} must lie in (0, 1]")
        check_family_watermark(self, "NGram")

    # --- fitting --------------------------------------------------------------------------
    def _padded(self, block: np.ndarray) -> np.ndarray:
        bos = np.full(self.order - 1, self.vocab_size_, dtype=np.int64)
        return np.concatenate([bos, block])

    def _context_keys(self, padded: np.ndarray, k: int, positions: np.ndarray) -> np.ndarray:
        """Keys of the k−1 tokens before each position (0 for the unigram)."""
        base = self.vocab_size_ + 1
        key = np.zeros(len(positions), dtype=np.int64)
        for j in range(k - 1, 0, -1):
            key = key * base + padded[positions - j]
        return key

    def fit(self, X, y=None):
        """Count every n-gram of every order in the token blocks ``X``.

        Parameters
        ----------
        X : sequence of 1-D int arrays, shape (n_blocks,) of (block_length,)
            Token blocks (a text pool).
        y : None
            Ignored.

        Returns
        -------
        self : NGram
        """
        self._check_params()
        blocks = check_blocks(X, "NGram", self.vocab_size)
        self.vocab_size_ = int(self.vocab_size or max(int(b.max()) for b in blocks if b.size) + 1)
        if (self.vocab_size_ + 1) ** self.order >= 2**62:
            raise ConfigError(
                f"NGram: order={self.order} with vocab_size={self.vocab_size_} "
                "overflows 64-bit n-gram keys; lower the order"
            )
        lengths = [len(b) for b in blocks]
        self.length_ = int(self.length or max(1, int(np.median(lengths))))
        self.keys_, self.counts_ = [], []
        padded = [self._padded(b) for b in blocks]
        for k in range(1, self.order + 1):
            keys = np.concatenate([self._ngram_keys(p, k) for p in padded])
            unique, counts = np.unique(keys, return_counts=True)
            self.keys_.append(unique)
            self.counts_.append(counts.astype(np.int64))
        self._prepare()
        return self

    def _ngram_keys(self, padded: np.ndarray, k: int) -> np.ndarray:
        positions = np.arange(self.order - 1, len(padded))
        return self._context_keys(padded, k, positions) * (self.vocab_size_ + 1) + padded[positions]

    def _prepare(self):
        """Cumulative sums that turn range queries over sorted keys into O(1) lookups."""
        self._cum_counts = [np.concatenate([[0], np.cumsum(c)]) for c in self.counts_]
        self._cum_discounted = [
            np.concatenate([[0.0], np.cumsum(c - self.discount)]) for c in self.counts_
        ]
        self._total = int(self.counts_[0].sum())

    def _context_range(self, k: int, context: np.ndarray):
        """Index range [lo, hi) of keys of order k whose context is ``context``."""
        base = self.vocab_size_ + 1
        lo = np.searchsorted(self.keys_[k - 1], context * base, side="left")
        hi = np.searchsorted(self.keys_[k - 1], context * base + base, side="left")
        return lo, hi

    # --- probabilities ------------------------------------------------------------------
    def _probabilities(self, padded: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """P(token at each position | its context), shape (len(positions),)."""
        V, eps, D = self.vocab_size_, float(self.uniform_weight), float(self.discount)
        tokens = padded[positions]
        keys1 = self.keys_[0]
        at = np.minimum(np.searchsorted(keys1, tokens), len(keys1) - 1)
        unigram = np.where(keys1[at] == tokens, self.counts_[0][at], 0)
        p = (1 - eps) * unigram / self._total + eps / V
        for k in range(2, self.order + 1):
            context = self._context_keys(padded, k, positions)
            lo, hi = self._context_range(k, context)
            c_h = self._cum_counts[k - 1][hi] - self._cum_counts[k - 1][lo]
            keys = self.keys_[k - 1]
            at = np.minimum(np.searchsorted(keys, context * (V + 1) + tokens), len(keys) - 1)
            c_hw = np.where(keys[at] == context * (V + 1) + tokens, self.counts_[k - 1][at], 0)
            seen = c_h > 0
            mixed = (np.maximum(c_hw - D, 0) + D * (hi - lo) * p) / np.maximum(c_h, 1)
            p = np.where(seen, mixed, p)
        return p

    def score_samples(self, X):
        """Log-likelihood of each block (sum over its tokens, natural log).

        Parameters
        ----------
        X : sequence of 1-D int arrays, shape (n_blocks,)

        Returns
        -------
        ndarray of shape (n_blocks,)
        """
        check_is_fitted(self, "keys_")
        blocks = check_blocks(X, "NGram")
        out = np.full(len(blocks), -np.inf)  # -inf: a token the vocabulary cannot produce
        valid = [i for i, b in enumerate(blocks) if not (b >= self.vocab_size_).any()]
        if not valid:
            return out
        # All blocks in one pass: concatenate the padded blocks, score every position that
        # holds a real token, then sum per block.
        padded = [self._padded(blocks[i]) for i in valid]
        lengths = np.array([len(p) for p in padded])
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        positions = np.concatenate(
            [s + np.arange(self.order - 1, n) for s, n in zip(starts, lengths, strict=True)]
        )
        logp = np.log(self._probabilities(np.concatenate(padded), positions))
        per_block = lengths - (self.order - 1)
        offsets = np.concatenate([[0], np.cumsum(per_block)[:-1]])
        # A trailing 0 keeps every offset in range (an empty last block); empty blocks
        # score 0 (reduceat returns the element at a repeated offset, masked below).
        sums = np.add.reduceat(np.append(logp, 0.0), offsets)
        out[valid] = np.where(per_block > 0, sums, 0.0)
        return out

    # --- sampling -------------------------------------------------------------------------
    def sample(self, n_samples=1, random_state=None):
        """Draw ``n_samples`` blocks of ``length_`` tokens, all blocks advanced together.

        Parameters
        ----------
        n_samples : int, default 1
        random_state : None, int or numpy.random.Generator

        Returns
        -------
        ndarray of object, shape (n_samples,)
            Each element a 1-D int64 array of ``length_`` tokens.
        """
        check_is_fitted(self, "keys_")
        if (
            isinstance(n_samples, bool)
            or not isinstance(n_samples, numbers.Integral)
            or n_samples < 0
        ):
            raise ConfigError(f"NGram: n_samples={n_samples!r} must be a non-negative integer")
        check_family_watermark(self, "NGram")
        rng = as_generator(random_state)
        V, D = self.vocab_size_, float(self.discount)
        history = np.full((n_samples, self.order - 1 + self.length_), V, dtype=np.int64)
        for t in range(self.order - 1, history.shape[1]):
            if self.watermark_gamma is None:
                history[:, t] = self._next_tokens(history, t, rng, V, D)
            else:
                history[:, t] = self._next_watermarked(history, t, rng, V, D)
        return as_token_blocks(history[:, self.order - 1 :])

    def _next_tokens(self, history, t, rng, V, D) -> np.ndarray:
        n = len(history)
        chosen = np.full(n, -1, dtype=np.int64)
        # Walk down from the highest order: keep this order's discounted counts with
        # probability 1 − λ(h), else back off; unseen contexts back off for sure.
        for k in range(self.order, 1, -1):
            open_ = chosen < 0
            if not open_.any():
                break
            context = np.zeros(n, dtype=np.int64)
            for j in range(k - 1, 0, -1):
                context = context * (V + 1) + history[:, t - j]
            lo, hi = self._context_range(k, context)
            c_h = self._cum_counts[k - 1][hi] - self._cum_counts[k - 1][lo]
            backoff = D * (hi - lo) / np.maximum(c_h, 1)
            stay = open_ & (c_h > 0) & (rng.random(n) >= backoff)
            if stay.any():
                cum = self._cum_discounted[k - 1]
                target = cum[lo[stay]] + rng.random(stay.sum()) * (cum[hi[stay]] - cum[lo[stay]])
                index = np.clip(
                    np.searchsorted(cum, target, side="right") - 1, lo[stay], hi[stay] - 1
                )
                chosen[stay] = self.keys_[k - 1][index] % (V + 1)
        open_ = chosen < 0
        if open_.any():
            m = int(open_.sum())
            uniform = rng.random(m) < float(self.uniform_weight)
            target = rng.random(m) * self._total
            index = np.searchsorted(self._cum_counts[0], target, side="right") - 1
            unigram = self.keys_[0][np.clip(index, 0, len(self.keys_[0]) - 1)]
            chosen[open_] = np.where(uniform, rng.integers(0, V, m), unigram)
        return chosen

    # --- checkpoints ------------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Counts per order plus the layout (order, V, D, ε, length)."""
        check_is_fitted(self, "keys_")
        arrays = {
            "layout": np.array(
                [self.order, self.vocab_size_, self.discount, self.uniform_weight, self.length_],
                dtype=np.float64,
            )
        }
        for k, (keys, counts) in enumerate(zip(self.keys_, self.counts_, strict=True), 1):
            arrays[f"keys{k}"], arrays[f"counts{k}"] = keys, counts
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], **params) -> NGram:
        """Rebuild a fitted NGram from :meth:`to_arrays` output."""
        order, vocab, discount, eps, length = arrays["layout"]
        model = cls(
            order=int(order),
            vocab_size=int(vocab),
            discount=float(discount),
            uniform_weight=float(eps),
            length=int(length),
            **params,
        )
        model.vocab_size_, model.length_ = int(vocab), int(length)
        model.keys_ = [np.asarray(arrays[f"keys{k}"]) for k in range(1, int(order) + 1)]
        model.counts_ = [np.asarray(arrays[f"counts{k}"]) for k in range(1, int(order) + 1)]
        model._prepare()
        return model
