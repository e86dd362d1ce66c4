"""``poison``: another source with a fraction of attacker rows planted in every draw.

The attacker replaces ``round(rate * n)`` rows of each drawn set (never held-out rows):

``attack: shift`` (vectors)
    a tight cluster (``spread`` standard deviations wide) whose centre sits ``shift``
    standard deviations from the data's mean along the diagonal direction (Mahalanobis
    distance ``shift`` for a diagonal covariance).
``attack: triggers`` (text)
    real blocks with ``n_triggers`` trigger words ("free", "win", "offer") planted at
    random positions, one per equal segment of the block so plants never overlap. With a
    labelled base (``spam``), only ham blocks are poisoned and they keep the ham label:
    the seed's backdoor, teaching a spam filter that trigger words mean ham.

Studies and tests read the ground truth with :meth:`PoisonSource.draw_with_truth`
(``(X, is_poison)``). Truth attributes (``mean``, ``probabilities``...) are the *clean*
base's: metrics keep measuring against what the model should have learned.
"""

from __future__ import annotations

import numpy as np

from genloop.core.errors import ConfigError
from genloop.data.base import Source
from genloop.data.synthetic import check_draw_count

ATTACKS = ("auto", "triggers", "shift")


def _check_positive_int(key, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"source.{key} must be an integer >= {minimum}, got {value!r}")
    return value


class PoisonSource(Source):
    """A base source whose drawn sets carry a share ``rate`` of attacker rows.

    Parameters
    ----------
    base : dict or Source
        The clean source's spec, e.g. ``{name: gaussian, dim: 2}`` or ``{name: spam}``
        (or, from Python, a built source).
    rate : float, default 0.05
        Share of each drawn set replaced by poison, in [0, 1].
    attack : {"auto", "triggers", "shift"}, default "auto"
        ``auto``: ``triggers`` for text, ``shift`` for vectors.
    triggers : list of str, default ("free", "win", "offer")
        Words planted by the ``triggers`` attack; each must be in the base's tokenizer.
    n_triggers : int, default 3
        Trigger words planted per poisoned block.
    shift : float, default 6.0
        Distance of the poison cluster's centre, in standard deviations.
    spread : float, default 0.1
        Standard deviation of the poison cluster, in data standard deviations.
    target_label : int, default 0
        With a labelled base: the label of the rows poisoned (0 = ham).
    """

    #: draws are not samples of the truth attributes (those are the clean base's): engines
    #: that simulate fresh rows from the truth must not stand in for :meth:`draw`
    draws_from_truth = False

    def __init__(
        self,
        base,
        rate=0.05,
        attack="auto",
        triggers=("free", "win", "offer"),
        n_triggers=3,
        shift=6.0,
        spread=0.1,
        target_label=0,
    ):
        from genloop.core.registry import ComponentSpec, build_source

        if isinstance(base, Source):  # the Python API may pass a built source
            self.base = base
        elif isinstance(base, dict) and isinstance(base.get("name"), str):
            self.base = build_source(ComponentSpec(**base))
        else:
            raise ConfigError(
                f"source.base must be a source spec like {{name: gaussian}}, got {base!r}"
            )
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ConfigError(f"source.rate must lie in [0, 1], got {rate!r}")
        if attack not in ATTACKS:
            raise ConfigError(f"source.attack must be one of {', '.join(ATTACKS)}, got {attack!r}")
        kind = self.base.kind
        if attack == "auto":
            attack = {"text": "triggers", "vectors": "shift"}.get(kind, "auto")
        wanted = {"triggers": "text", "shift": "vectors"}.get(attack)
        if wanted != kind:
            raise ConfigError(
                f"source.attack={attack!r} does not apply to {kind} data (poison supports "
                "triggers for text and shift for vectors)"
            )
        if isinstance(triggers, str) or not triggers or not all(
            isinstance(t, str) and t.strip() for t in triggers
        ):
            raise ConfigError(f"source.triggers must be a list of words, got {triggers!r}")
        for key, value in (("shift", shift), ("spread", spread)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"source.{key} must be a number >= 0, got {value!r}")
        self.rate = float(rate)
        self.attack = attack
        self.triggers = [t.strip() for t in triggers]
        self.n_triggers = _check_positive_int("n_triggers", n_triggers)
        self.shift = float(shift)
        self.spread = float(spread)
        self.target_label = target_label
        self.kind = kind
        # The clean truth: what a model trained on this data should have learned.
        for attribute in ("probabilities", "mean", "covariance", "mixture"):
            setattr(self, attribute, getattr(self.base, attribute, None))

    # --- what the base knows ---------------------------------------------------------------

    @property
    def labelled(self) -> bool:
        """True when the base draws labels (``draw_labelled``)."""
        return hasattr(self.base, "draw_labelled")

    @property
    def vocab_size(self):
        return getattr(self.base, "vocab_size", None)

    def decode(self, tokens) -> str:
        """The text of one block (text bases only)."""
        return self.base.decode(tokens)

    def describe(self) -> str:
        return f"{self.base.describe()} poisoned ({self.attack}, rate {self.rate:g})"

    # --- draws ------------------------------------------------------------------------------

    def n_poison(self, n: int) -> int:
        """Rows of a drawn set of ``n`` that are poison: ``round(rate * n)``."""
        return int(round(self.rate * n))

    def _poison(self, X, labels, rng):
        """Replace ``n_poison(len(X))`` rows of ``X``; returns ``(X, is_poison)``."""
        n = len(X)
        k = self.n_poison(n)
        eligible = np.arange(n) if labels is None else np.flatnonzero(labels == self.target_label)
        if k > len(eligible):
            raise ConfigError(
                f"source.rate={self.rate:g} asks for {k} poisoned rows but only "
                f"{len(eligible)} of {n} rows have label {self.target_label!r}"
            )
        chosen = np.sort(rng.choice(eligible, size=k, replace=False))
        is_poison = np.zeros(n, dtype=bool)
        is_poison[chosen] = True
        X = X.copy()
        if self.attack == "shift":
            X[chosen] = self._cluster(X[~is_poison], k, rng)
        else:
            for i in chosen:
                X[i] = self.plant(X[i], rng)
        return X, is_poison

    def draw_with_truth(self, n: int, rng: np.random.Generator):
        """``n`` rows with ``round(rate * n)`` poisoned, and which ones.

        Returns
        -------
        X : ndarray
            Rows in the base's layout, ``(n, d)`` or object ``(n,)``.
        is_poison : ndarray of bool, shape (n,)
        """
        X, _, is_poison = self.draw_labelled_with_truth(n, rng)
        return X, is_poison

    def draw_labelled_with_truth(self, n: int, rng: np.random.Generator):
        """``(X, labels, is_poison)``; ``labels`` is None unless the base is labelled.

        Poisoned rows keep their (target) label: the backdoor.
        """
        n = check_draw_count(n)
        if self.labelled:
            X, labels = self.base.draw_labelled(n, rng)
        else:
            X, labels = self.base.draw(n, rng), None
        X, is_poison = self._poison(X, labels, rng)
        return X, labels, is_poison

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` rows, ``round(rate * n)`` of them poison."""
        return self.draw_with_truth(n, rng)[0]

    def split_with_truth(self, n: int, n_holdout: int, rng: np.random.Generator):
        """``(X, is_poison, holdout)``: only the original rows are poisoned."""
        if self.labelled:
            X, labels, holdout, _ = self.base.split_labelled(n, n_holdout, rng)
        else:
            (X, holdout), labels = self.base.split(n, n_holdout, rng), None
        X, is_poison = self._poison(X, labels, rng)
        return X, is_poison, holdout

    def split(self, n: int, n_holdout: int, rng: np.random.Generator):
        """Original rows (poisoned) and clean held-out rows, as the base splits them."""
        X, _, holdout = self.split_with_truth(n, n_holdout, rng)
        return X, holdout

    # --- the attacks -------------------------------------------------------------------------

    def _moments(self, clean: np.ndarray):
        """Mean ``(d,)`` and standard deviations ``(d,)``: the truth's, else the rows'."""
        if self.mean is not None and self.covariance is not None:
            return self.mean, np.sqrt(np.diag(self.covariance))
        if self.mixture is not None and hasattr(self.base, "moments"):
            mean, covariance = self.base.moments()
            return mean, np.sqrt(np.diag(covariance))
        if len(clean) < 2:
            raise ConfigError("source.attack=shift needs >= 2 clean rows to place its cluster")
        return clean.mean(axis=0), clean.std(axis=0) + 1e-12

    def _cluster(self, clean: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
        mean, std = self._moments(np.asarray(clean, dtype=float))
        d = len(mean)
        centre = mean + self.shift * std / np.sqrt(d)
        return centre + self.spread * std * rng.standard_normal((k, d))

    def trigger_spans(self) -> list[np.ndarray]:
        """Token ids of each trigger word in the base's tokenizer (spaced as a word)."""
        if getattr(self, "_spans", None) is None:
            tokenizer = self.base._load()[0]
            spans = []
            for word in self.triggers:
                ids = tokenizer.encode(f" {word} ")
                if word not in tokenizer.decode(ids).split():
                    raise ConfigError(
                        f"source.triggers: {word!r} is not in the {self.base.describe()} "
                        "tokenizer's vocabulary; choose words its corpus contains"
                    )
                spans.append(np.asarray(ids, dtype=np.int64))
            self._spans = spans
        return self._spans

    def plant(self, block: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A copy of ``block`` with ``n_triggers`` trigger words written over its tokens.

        The block is cut into ``n_triggers`` equal segments and one trigger (chosen
        uniformly) lands at a random offset inside each, so plants never overlap.
        """
        spans = self.trigger_spans()
        block = np.array(block, dtype=np.int64)
        segment = len(block) // self.n_triggers
        longest = max(len(s) for s in spans)
        if segment < longest:
            raise ConfigError(
                f"source.n_triggers={self.n_triggers} does not fit {longest}-token triggers "
                f"into {len(block)}-token blocks"
            )
        for j in range(self.n_triggers):
            span = spans[int(rng.integers(len(spans)))]
            start = j * segment + int(rng.integers(segment - len(span) + 1))
            block[start : start + len(span)] = span
        return block
