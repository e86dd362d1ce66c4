"""A small labelled text world for the seed's spam example: ham and spam blocks.

* ham (label 0): blocks of Shakespeare's plays (:mod:`genloop.data.text`, cached locally);
* spam (label 1): template messages genloop writes itself from a seeded generator
  ("Congratulations! You have won a free cruise. Click here to claim your prize now."),
  with the spam vocabulary a filter would learn: free, win, offer, claim, prize, cash...

Both sides share one frozen tokenizer and the same block size, so a block is a pool row
like any text source's. The world is fixed by its parameters (``world_seed`` seeds the
spam text); draws take rows with the rng passed in. Ham held out by play, spam held out
as a separately seeded stream of messages.

Shakespeare itself uses "free", "win" and "offer" (195, 120 and 119 times over the
plays), so trigger words alone do not make a block spam.
"""

from __future__ import annotations

import numpy as np

from genloop.core.errors import ConfigError
from genloop.data.synthetic import check_draw_count
from genloop.data.text import ShakespeareSource, cut_blocks
from genloop.data.tokenize import as_token_blocks, make_tokenizer

HAM, SPAM = 0, 1
LABEL_NAMES = ("ham", "spam")

_TEMPLATES = (
    "Congratulations! You have won a free {prize}. Click here to claim your {prize} now.",
    "Limited time offer: win {amount} cash today. Reply {code} to claim.",
    "Free entry to win a {prize}! Text {code} to {number} now, offer ends soon.",
    "Dear customer, your account has a free {prize} waiting. Call {number} to claim your offer.",
    "URGENT! You are a winner. Claim your {amount} prize, call {number} before midnight.",
    "Exclusive deal: buy one get one free. Win a {prize} with every order, click now.",
    "You have been selected to receive a free {prize}. No purchase needed, just reply {code}.",
    "Last chance to win {amount}! This offer is free for our best customers. Click to claim.",
)
_FILL = {
    "prize": ("cruise", "holiday", "gift card", "laptop", "phone", "voucher", "car", "tablet"),
    "amount": ("500 pounds", "1000 dollars", "2000 pounds", "a million", "cash"),
    "code": ("WIN", "FREE", "CLAIM", "PRIZE", "YES", "STOP"),
    "number": ("08001234", "09061701", "87121", "80082", "0800 555"),
}
# Tokenized worlds by their parameters: sources are rebuilt per seed.
_WORLDS: dict[tuple, tuple] = {}


def spam_messages(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` spam messages from the templates, fills drawn with ``rng``."""
    messages = []
    for _ in range(n):
        template = _TEMPLATES[int(rng.integers(len(_TEMPLATES)))]
        fill = {key: values[int(rng.integers(len(values)))] for key, values in _FILL.items()}
        messages.append(template.format(**fill))
    return messages


class SpamSource(ShakespeareSource):
    """Labelled text: Shakespeare blocks (ham, 0) and template spam blocks (spam, 1).

    Parameters
    ----------
    spam_share : float, default 0.3
        Share of spam blocks on each side (original and held-out), in (0, 1).
    tokenizer : str, default "word"
        As in :class:`~genloop.data.text.ShakespeareSource`; built from ham and spam text.
    block_size : int, default 24
        Tokens per block (short, like messages).
    plays : list of str, default a handful of tragedies
        Plays the ham blocks come from.
    holdout_plays : list of str, default ["hamlet"]
    world_seed : int, default 0
        Seeds the spam text (the world), not the draws.
    cache_dir : str, optional

    Attributes
    ----------
    labels : ndarray of int64, shape (n_blocks,)
        The label of every original-side block (``blocks``).
    """

    label_names = LABEL_NAMES

    def __init__(
        self,
        spam_share=0.3,
        tokenizer="word",
        block_size=24,
        plays=("macbeth", "othello", "lear", "julius_caesar", "tempest"),
        holdout_plays=("hamlet",),
        world_seed=0,
        cache_dir=None,
    ):
        super().__init__(tokenizer, block_size, plays, holdout_plays, cache_dir)
        if isinstance(spam_share, bool) or not 0.0 < float(spam_share) < 1.0:
            raise ConfigError(f"source.spam_share must lie in (0, 1), got {spam_share!r}")
        if isinstance(world_seed, bool) or not isinstance(world_seed, int):
            raise ConfigError(f"source.world_seed must be an integer, got {world_seed!r}")
        self.spam_share = float(spam_share)
        self.world_seed = world_seed

    def _spam_text(self, n_blocks: int, stream: int) -> str:
        # About 18 tokens per message: ask for enough messages to fill n_blocks blocks.
        n_messages = int(n_blocks * self.block_size / 12) + 10
        rng = np.random.default_rng([self.world_seed, stream])
        return "\n".join(spam_messages(n_messages, rng))

    def _n_spam(self, n_ham: int) -> int:
        return int(round(n_ham * self.spam_share / (1.0 - self.spam_share)))

    def _load(self):
        if self._loaded is None:
            key = self.cache_key()
            if key not in _WORLDS:
                ham, held_ham = self.documents()
                # Ham block counts fix how much spam each side needs (spam_share of rows);
                # whitespace words undercount tokens (punctuation), hence twice the spam.
                n_ham = sum(len(t.split()) for t in ham.values()) // self.block_size + 1
                n_held = sum(len(t.split()) for t in held_ham.values()) // self.block_size + 1
                spam = self._spam_text(2 * self._n_spam(n_ham), stream=0)
                held_spam = self._spam_text(2 * self._n_spam(n_held), stream=1)
                tok = make_tokenizer(
                    self.tokenizer, [*ham.values(), *held_ham.values(), spam, held_spam]
                )
                sides = []
                for docs, spam_text in ((ham, spam), (held_ham, held_spam)):
                    ham_blocks = [
                        b for t in docs.values() for b in cut_blocks(tok.encode(t), self.block_size)
                    ]
                    spam_blocks = cut_blocks(tok.encode(spam_text), self.block_size)
                    needed = self._n_spam(len(ham_blocks))
                    if len(spam_blocks) < needed:  # pragma: no cover - the margin is 2x
                        raise RuntimeError(f"spam world: {len(spam_blocks)} < {needed} blocks")
                    spam_blocks = spam_blocks[:needed]
                    labels = np.r_[
                        np.full(len(ham_blocks), HAM), np.full(len(spam_blocks), SPAM)
                    ].astype(np.int64)
                    sides.append((as_token_blocks(ham_blocks + spam_blocks), labels))
                while len(_WORLDS) >= 2:
                    _WORLDS.pop(next(iter(_WORLDS)))
                _WORLDS[key] = (tok, *sides[0], *sides[1])
            tok, blocks, labels, held, held_labels = _WORLDS[key]
            self._loaded = (tok, blocks, held)
            self._labels, self._held_labels = labels, held_labels
        return self._loaded

    @property
    def labels(self) -> np.ndarray:
        self._load()
        return self._labels

    def _take_labelled(self, blocks, labels, n, rng, what):
        n = check_draw_count(n)
        if n > len(blocks):
            raise ConfigError(
                f"{self.describe()} has {len(blocks)} {what} blocks; cannot draw n={n}"
            )
        index = rng.permutation(len(blocks))[:n]
        return blocks[index], labels[index]

    def draw_labelled(self, n: int, rng: np.random.Generator):
        """``n`` distinct original blocks ``(n,)`` (object) and their labels ``(n,)``."""
        _, blocks, _ = self._load()
        return self._take_labelled(blocks, self._labels, n, rng, "original")

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """The blocks of :meth:`draw_labelled` (same rows for the same ``rng`` state)."""
        return self.draw_labelled(n, rng)[0]

    def split_labelled(self, n: int, n_holdout: int, rng: np.random.Generator):
        """``(X, y, X_holdout, y_holdout)``: original and held-out blocks with labels."""
        _, blocks, held = self._load()
        X, y = self._take_labelled(blocks, self._labels, n, rng, "original")
        Xh, yh = self._take_labelled(held, self._held_labels, n_holdout, rng, "held-out")
        return X, y, Xh, yh

    def split(self, n: int, n_holdout: int, rng: np.random.Generator):
        """Original ``(n,)`` and held-out ``(n_holdout,)`` blocks (labels: split_labelled)."""
        X, _, Xh, _ = self.split_labelled(n, n_holdout, rng)
        return X, Xh

    def describe(self) -> str:
        return f"spam world ({self.spam_share:.0%} spam, {self.block_size}-token blocks)"
