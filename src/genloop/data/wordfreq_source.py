"""A real long-tailed categorical truth: word frequencies bundled with ``wordfreq``.

The top ``k`` words of a language, with their frequencies renormalised over those
``k`` words, form a categorical distribution whose tail is real language rather than
a formula. ``wordfreq`` ships its tables inside the package, so this works offline.
"""

from __future__ import annotations

import numpy as np

from genloop.core.errors import ConfigError
from genloop.data.synthetic import CategoricalSource

WORDLISTS = ("best", "large", "small")


class WordfreqSource(CategoricalSource):
    """The ``k`` most frequent words of a language as a categorical truth.

    State ``i`` is the ``i``-th most frequent word; ``labels[i]`` is that word, so
    reports can say which words a model lost.

    Parameters
    ----------
    language : str, default "en"
        A language code ``wordfreq`` has a table for (``wordfreq.available_languages``).
    k : int, default 1000
        Number of words (states), >= 1.
    wordlist : {"best", "large", "small"}, default "best"
        Which of ``wordfreq``'s tables to read (``best``: the largest available).

    Attributes
    ----------
    probabilities : ndarray of shape (k,)
        Word frequencies renormalised over the ``k`` words, non-increasing.
    labels : list of str
        The ``k`` words, most frequent first.
    """

    def __init__(self, language: str = "en", k: int = 1000, wordlist: str = "best"):
        import wordfreq

        if wordlist not in WORDLISTS:
            raise ConfigError(
                f"source.wordlist must be one of {', '.join(WORDLISTS)}, got {wordlist!r}"
            )
        available = wordfreq.available_languages(wordlist)
        if language not in available:
            raise ConfigError(
                f"source.language={language!r} has no wordfreq {wordlist!r} list; "
                f"available: {', '.join(sorted(available))}"
            )
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ConfigError(f"source.k must be an integer >= 1, got {k!r}")

        words = wordfreq.top_n_list(language, int(k), wordlist=wordlist)
        if len(words) < k:
            raise ConfigError(
                f"source.k={k} exceeds the {len(words)} words of wordfreq's {wordlist!r} "
                f"list for {language!r}"
            )
        # The raw table rather than word_frequency(): that one re-tokenises each word
        # (needing optional tokenizers for zh/ja) and rounds to 3 significant digits.
        table = wordfreq.get_frequency_dict(language, wordlist)
        frequencies = np.array([table[word] for word in words], dtype=float)
        super().__init__(frequencies / frequencies.sum(), labels=words)
        self.language, self.k, self.wordlist = language, int(k), wordlist

    def describe(self) -> str:
        return f"wordfreq {self.language} top {self.k} words (real frequencies, renormalised)"
