"""WordfreqSource: real word frequencies from wordfreq's bundled tables (offline)."""

from __future__ import annotations

import numpy as np
import pytest

from genloop.core.errors import ConfigError
from genloop.data.wordfreq_source import WordfreqSource


def test_top_words_form_a_sorted_normalised_categorical_truth():
    source = WordfreqSource(language="en", k=200)
    assert source.kind == "categorical" and source.n_states == 200
    assert len(source.labels) == 200 and len(set(source.labels)) == 200
    assert all(isinstance(word, str) and word for word in source.labels)
    assert source.labels[0] == "the"
    assert source.probabilities.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(source.probabilities > 0)
    assert np.all(np.diff(source.probabilities) <= 0)


def test_other_languages_and_wordlists():
    source = WordfreqSource(language="fr", k=50, wordlist="small")
    assert len(source.labels) == 50
    assert source.probabilities.sum() == pytest.approx(1.0, abs=1e-12)


def test_draws_are_states_and_reproducible():
    source = WordfreqSource(k=30)
    rows = source.draw(100, np.random.default_rng(2))
    assert rows.shape == (100, 1) and rows.dtype == np.int64
    assert rows.min() >= 0 and rows.max() < 30
    np.testing.assert_array_equal(rows, source.draw(100, np.random.default_rng(2)))


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"language": "xx"}, "source.language='xx'.*available: .*en"),
        ({"wordlist": "huge"}, "source.wordlist"),
        ({"k": 0}, "source.k"),
        ({"k": 10**9}, "source.k=1000000000 exceeds"),
    ],
)
def test_bad_settings_are_config_errors(params, fragment):
    with pytest.raises(ConfigError, match=fragment):
        WordfreqSource(**params)
