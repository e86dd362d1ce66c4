"""Metrics for language models and their text: perplexity, diversity, lost rare words.

Pure functions take lists of token blocks (1-D int arrays) or words; the Metric classes
read a :class:`~genloop.metrics.base.MetricContext` whose pool, original and holdout are
object arrays of token blocks, and decode tokens with ``context.source.decode``.

Which text is measured: ``context.pool`` is the data generation g was trained on — for
g ≥ 1 under ``replace``, exactly what generation g − 1's model produced. So "lost rare
words at generation g" counts words that generation g − 1 no longer wrote, as the Nature
paper measures each generation's data.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np

from genloop.core.errors import ConfigError
from genloop.data.tokenize import words
from genloop.metrics.base import Metric, MetricContext

# ---------------------------------------------------------------------------
# Pure functions
# ---------------------------------------------------------------------------


def block_perplexity(loglik, lengths) -> np.ndarray:
    """Per-block perplexity ``exp(−loglik / length)``, shape ``(n_blocks,)``."""
    lengths = np.maximum(np.asarray(lengths, dtype=float), 1.0)
    return np.exp(-np.asarray(loglik, dtype=float) / lengths)


def ngrams(block: np.ndarray, n: int) -> np.ndarray:
    """The n-grams of one block as rows, shape ``(len(block) − n + 1, n)``."""
    block = np.asarray(block)
    if len(block) < n:
        return np.zeros((0, n), dtype=block.dtype)
    return np.lib.stride_tricks.sliding_window_view(block, n)


def distinct_n(blocks, n: int) -> float:
    """Distinct n-grams over all n-grams in ``blocks`` (Li et al. 2016); 0 if none."""
    grams = [ngrams(b, n) for b in blocks]
    grams = np.concatenate(grams) if grams else np.zeros((0, n))
    if not len(grams):
        return 0.0
    return float(len(np.unique(grams, axis=0)) / len(grams))


def repetition_rate(blocks, n: int = 4) -> float:
    """Share of n-grams that repeat an earlier n-gram of the same block (loops, stutter)."""
    repeated = total = 0
    for block in blocks:
        grams = ngrams(block, n)
        if len(grams):
            repeated += len(grams) - len(np.unique(grams, axis=0))
            total += len(grams)
    return float(repeated / total) if total else 0.0


def self_bleu(blocks, max_n: int = 4) -> float:
    """Mean BLEU-``max_n`` of each block against all the others as references (Zhu et al.
    2018): high when samples repeat each other. Add-one smoothing for n > 1; no brevity
    penalty (blocks have the same length). 0 for fewer than two blocks."""
    blocks = [tuple(int(t) for t in b) for b in blocks]
    if len(blocks) < 2:
        return 0.0
    counts = [
        [Counter(zip(*(b[i:] for i in range(n)), strict=False)) for n in range(1, max_n + 1)]
        for b in blocks
    ]
    # The largest count of each n-gram over the *other* blocks is the overall largest
    # count, unless block h holds it: then the second largest. Two passes, no pairs.
    top: list[dict] = [{} for _ in range(max_n)]
    for h, own in enumerate(counts):
        for n in range(max_n):
            for gram, c in own[n].items():
                first, owner, second = top[n].get(gram, (0, -1, 0))
                top[n][gram] = (c, h, first) if c > first else (first, owner, max(second, c))
    scores = []
    for h, own in enumerate(counts):
        log_precision = 0.0
        for n in range(max_n):
            total = sum(own[n].values())
            clipped = 0
            for gram, c in own[n].items():
                first, owner, second = top[n][gram]
                clipped += min(c, second if owner == h else first)
            smooth = 1.0 if n > 0 else 0.0
            if total + smooth == 0 or clipped + smooth == 0:
                log_precision = float("-inf")
                break
            log_precision += np.log((clipped + smooth) / (total + smooth)) / max_n
        scores.append(float(np.exp(log_precision)))
    return float(np.mean(scores))


def rare_words(counts: Counter, quantile: float) -> set[str]:
    """Words whose count is at most the ``quantile`` of the counts of all word types."""
    if not counts:
        return set()
    threshold = np.quantile(np.fromiter(counts.values(), dtype=float), quantile)
    return {w for w, c in counts.items() if c <= threshold}


def lost_share(reference: set[str], present: set[str]) -> float:
    """Share of the ``reference`` words absent from ``present`` (0 if reference is empty)."""
    return float(len(reference - present) / len(reference)) if reference else 0.0


def histogram_shares(values, low: float, high: float, bins: int) -> np.ndarray:
    """Share of ``values`` in ``bins`` log-spaced bins over [low, high]; outliers clipped in."""
    edges = np.geomspace(low, high, bins + 1)
    clipped = np.clip(np.asarray(values, dtype=float), low, high)
    counts, _ = np.histogram(clipped, bins=edges)
    return counts / max(1, len(clipped))


# ---------------------------------------------------------------------------
# Metric classes
# ---------------------------------------------------------------------------


def _lengths(blocks) -> np.ndarray:
    return np.array([len(b) for b in blocks], dtype=float)


def _decoded_words(source, blocks) -> list[str]:
    return [w for b in blocks for w in words(source.decode(b))]


class HeldoutPerplexity(Metric):
    """Perplexity of the model on held-out real text (the paper's main measure).

    ``heldout_ppl_median``: median over held-out blocks of each block's perplexity;
    ``heldout_ppl``: the corpus perplexity exp(total NLL / total tokens).
    """

    name = "heldout_perplexity"
    kinds = ("text",)

    def measure(self, context: MetricContext) -> dict[str, float]:
        if not len(context.holdout):
            raise ConfigError("heldout_perplexity needs held-out blocks: set holdout > 0")
        loglik = context.model.score_samples(context.holdout)
        lengths = _lengths(context.holdout)
        return {
            "heldout_ppl_median": float(np.median(block_perplexity(loglik, lengths))),
            "heldout_ppl": float(np.exp(-loglik.sum() / lengths.sum())),
        }


class SamplePerplexity(Metric):
    """Per-sample perplexity of the generation's data under generation 0's model.

    The Nature paper's histograms: as generations pass, mass piles up at low perplexity
    (text the first model finds very likely) while a tail of unlikely samples grows.
    Logs quantiles and the share of samples in each of ``bins`` log-spaced bins over
    [``low``, ``high``] (``sample_ppl_hist_00`` ...; values outside are counted in the
    end bins), plus ``sample_ppl_hist_low``/``_high`` (log10 of the edges) for figures.
    """

    name = "sample_perplexity"
    kinds = ("text",)

    def __init__(self, low: float = 1.0, high: float = 1000.0, bins: int = 30):
        if not 0 < low < high:
            raise ConfigError(f"sample_perplexity: need 0 < low < high, got {low}, {high}")
        if not isinstance(bins, int) or bins < 1:
            raise ConfigError(f"sample_perplexity: bins={bins!r} must be a positive integer")
        self.low, self.high, self.bins = float(low), float(high), bins

    def measure(self, context: MetricContext) -> dict[str, float]:
        loglik = context.initial_model.score_samples(context.pool)
        ppl = block_perplexity(loglik, _lengths(context.pool))
        values = {
            f"sample_ppl_q{int(q * 100):02d}": float(np.quantile(ppl, q))
            for q in (0.1, 0.5, 0.9, 0.99)
        }
        shares = histogram_shares(ppl, self.low, self.high, self.bins)
        values |= {f"sample_ppl_hist_{i:02d}": float(s) for i, s in enumerate(shares)}
        values |= {
            "sample_ppl_hist_low": np.log10(self.low),
            "sample_ppl_hist_high": np.log10(self.high),
        }
        return values


class TextDiversity(Metric):
    """distinct-1/2/3 over tokens, 4-gram repetition rate, vocabulary of the pool, and
    self-BLEU of ``self_bleu_blocks`` blocks drawn with the metrics stream."""

    name = "text_diversity"
    kinds = ("text",)

    def __init__(self, self_bleu_blocks: int = 50):
        if not isinstance(self_bleu_blocks, int) or self_bleu_blocks < 2:
            raise ConfigError(
                f"text_diversity.self_bleu_blocks={self_bleu_blocks!r} must be an integer ≥ 2"
            )
        self.self_bleu_blocks = self_bleu_blocks

    def measure(self, context: MetricContext) -> dict[str, float]:
        pool = context.pool
        values = {f"distinct_{n}": distinct_n(pool, n) for n in (1, 2, 3)}
        values["repetition_rate"] = repetition_rate(pool, 4)
        values["vocabulary"] = float(len(set(_decoded_words(context.source, pool))))
        chosen = context.rng.choice(len(pool), min(len(pool), self.self_bleu_blocks), replace=False)
        values["self_bleu"] = self_bleu(pool[np.sort(chosen)])
        return values


class LostRareWords(Metric):
    """Share of the original data's rare words that the generation's data no longer holds.

    Rare words: word types of the original data whose count is at most the
    ``quantile`` of all types' counts (0.5: typically words seen once or twice).
    Also ``lost_words``, the share of every original word type that is gone.
    """

    name = "lost_rare_words"
    kinds = ("text",)

    def __init__(self, quantile: float = 0.5):
        if not 0.0 <= quantile <= 1.0:
            raise ConfigError(f"lost_rare_words.quantile={quantile!r} must lie in [0, 1]")
        self.quantile = float(quantile)
        self._reference: tuple[int, set, set] | None = None

    def _original_words(self, context):
        key = id(context.original)
        if self._reference is None or self._reference[0] != key:
            counts = Counter(_decoded_words(context.source, context.original))
            self._reference = (key, set(counts), rare_words(counts, self.quantile))
        return self._reference[1], self._reference[2]

    def measure(self, context: MetricContext) -> dict[str, float]:
        every, rare = self._original_words(context)
        present = set(_decoded_words(context.source, context.pool))
        return {
            "lost_rare_words": lost_share(rare, present),
            "lost_words": lost_share(every, present),
        }


class TextSamples(Metric):
    """Write a few decoded samples of each generation's model to ``samples_gen{g}.txt``.

    The samples continue the first ``n`` held-out blocks (models with ``generate``) or
    are free samples; they go to ``context.extra["artifact_dir"]`` when the engine
    provides it, else to ``directory`` (nothing is written when neither is set). Logs
    ``samples_written``.
    """

    name = "text_samples"
    kinds = ("text",)

    def __init__(self, n: int = 5, directory: str | None = None):
        if not isinstance(n, int) or n < 1:
            raise ConfigError(f"text_samples.n={n!r} must be a positive integer")
        self.n, self.directory = n, directory

    def measure(self, context: MetricContext) -> dict[str, float]:
        target = context.extra.get("artifact_dir") or self.directory
        if target is None:
            return {"samples_written": 0.0}
        prompts = context.holdout[: self.n] if len(context.holdout) else context.original[: self.n]
        decode = context.source.decode
        if hasattr(context.model, "generate"):
            outputs = context.model.generate(prompts, random_state=context.rng)
            texts = [
                f"--- prompt ---\n{decode(p)}\n--- continuation ---\n{decode(o)}"
                for p, o in zip(prompts, outputs, strict=True)
            ]
        else:
            texts = [
                f"--- sample ---\n{decode(o)}"
                for o in context.model.sample(self.n, random_state=context.rng)
            ]
        folder = Path(target)
        if "artifact_dir" not in context.extra:
            # A shared directory: one sub-folder per original data set (i.e. per seed).
            first = np.asarray(context.original[0], dtype=np.int64).tobytes()
            folder = folder / hashlib.sha256(first).hexdigest()[:10]
        path = folder / f"samples_gen{context.generation:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        header = f"# generation {context.generation}: {len(texts)} samples of its model\n"
        path.write_text(header + "\n\n".join(texts) + "\n", encoding="utf-8")
        return {"samples_written": float(len(texts))}
