"""Real-vs-synthetic detector (genloop.curation.detect): contracts and seeded statistics."""

import numpy as np
import pytest

from genloop.core.errors import ConfigError, DataError
from genloop.curation.detect import (
    SyntheticDetector,
    as_texts,
    balanced,
    make_features,
)
from genloop.curation.detectability import detectability

# ----------------------------------------------------------------------------- contracts


def test_balanced_cuts_the_larger_side_and_keeps_order():
    real, synthetic = balanced(np.arange(10), np.arange(3), np.random.default_rng(0))
    assert len(real) == len(synthetic) == 3
    assert np.all(np.diff(real) > 0)
    texts, other = balanced(["a", "b"], ["c", "d", "e"], np.random.default_rng(0))
    assert texts == ["a", "b"] and len(other) == 2 and isinstance(other, list)


def test_text_rows_need_decode_unless_strings():
    assert as_texts(["a b", "c"]) == ["a b", "c"]
    tokens = np.empty(1, dtype=object)
    tokens[0] = np.array([104, 105])
    assert as_texts(tokens, decode=lambda t: bytes(t.astype(np.uint8)).decode()) == ["hi"]
    with pytest.raises(ConfigError, match="decode="):
        as_texts(tokens)


def test_parameters_are_validated():
    with pytest.raises(ConfigError, match="kind must be one of"):
        SyntheticDetector("images")
    with pytest.raises(ConfigError, match="classifier must be one of"):
        SyntheticDetector("vectors", classifier="forest")
    with pytest.raises(ConfigError, match="applies to vectors"):
        SyntheticDetector("text", classifier="mlp")
    with pytest.raises(ConfigError, match="folds must be"):
        detectability(np.zeros((10, 1)), np.ones((10, 1)), "vectors", folds=1)
    with pytest.raises(DataError, match=">= 2 rows"):
        SyntheticDetector("vectors").fit(np.zeros((1, 2)), np.ones((5, 2)))
    with pytest.raises(DataError, match="NaN"):
        SyntheticDetector("vectors").fit(np.full((3, 1), np.nan), np.ones((3, 1)))


def test_feature_maps_per_kind():
    assert type(make_features("vectors")).__name__ == "StandardScaler"
    assert type(make_features("categorical")).__name__ == "OneHotEncoder"
    tfidf = make_features("text").fit(["free offer now", "thou art"])
    assert "free offer" in tfidf.get_feature_names_out()


def test_categorical_state_only_synthetic_rows_hold_is_the_top_feature():
    real = np.array([[0], [1]] * 20)
    synthetic = np.array([[0], [1], [2], [2]] * 10)
    detector = SyntheticDetector("categorical").fit(real, synthetic)
    name, weight = detector.top_features(1)[0]
    assert name == "state=2" and weight > 0
    p = detector.p_synthetic(np.array([[2], [0], [7]]))
    assert p.shape == (3,) and p[0] > 0.8 and p[1] < 0.5  # unknown state 7: all zeros


# ---------------------------------------------------------------------- seeded statistics


def test_real_vs_real_vectors_is_indistinguishable():
    """Two halves of one seeded N(0, I_3) sample (500 rows each), seed 0: AUC within
    0.07 of 0.5 (the null AUC's spread over 20 seeds was sd ≈ 0.02, range 0.44–0.54)."""
    X = np.random.default_rng(0).standard_normal((1000, 3))
    result = detectability(X[:500], X[500:], "vectors", seed=0)
    assert abs(result.auc - 0.5) < 0.07
    assert result.auc_low < result.auc < result.auc_high
    assert result.n_real == result.n_synthetic == 500


def test_shifted_and_narrowed_vectors_are_detected():
    """Real N(0, I_2) vs synthetic N(1, 0.3² I_2), 400 rows each, seed 1: AUC > 0.9
    (the Bayes-optimal AUC, by Monte Carlo with the true density ratio, is 0.970;
    measured 0.967)."""
    rng = np.random.default_rng(1)
    real = rng.standard_normal((400, 2))
    synthetic = 1.0 + 0.3 * rng.standard_normal((400, 2))
    result = detectability(real, synthetic, "vectors", seed=1)
    assert result.auc > 0.9
    assert result.classifier == "quadratic"


def test_narrowed_vectors_are_given_away_by_their_squares():
    """Real N(0, I_2) vs synthetic N(0, 0.3² I_2) (variance shrunk, mean kept), 400 rows
    each, seed 1: the two top features are the squared columns with negative weights
    (large squares mean real); measured weights -4.5 and -4.3, the next |weight| 0.5."""
    rng = np.random.default_rng(1)
    real = rng.standard_normal((400, 2))
    synthetic = 0.3 * rng.standard_normal((400, 2))
    result = detectability(real, synthetic, "vectors", seed=1, feature_names=["a", "b"])
    assert {name for name, _ in result.top_features[:2]} == {"a^2", "b^2"}
    assert all(weight < 0 for _, weight in result.top_features[:2])


def test_mlp_detector_detects_a_shift_and_ranks_the_shifted_column():
    """Real N(0, I_2) vs the same with column x1 shifted by 3, 300 rows each, seed 2:
    AUC > 0.9 and permutation importance ranks x1 first."""
    rng = np.random.default_rng(2)
    real = rng.standard_normal((300, 2))
    synthetic = rng.standard_normal((300, 2)) + [0.0, 3.0]
    result = detectability(real, synthetic, "vectors", seed=2, classifier="mlp", folds=3)
    assert result.auc > 0.9
    assert result.top_features[0][0] == "x1"


def _shakespeare_blocks():
    from genloop.data.text import ShakespeareSource

    source = ShakespeareSource(tokenizer="word", block_size=32, plays=["macbeth", "othello"])
    return source, source.draw(600, np.random.default_rng(0))


def test_real_vs_real_text_is_indistinguishable():
    """Two seeded halves of 600 32-word Shakespeare blocks, seed 3: AUC within 0.1 of 0.5
    (10 seeds gave 0.43–0.55, sd ≈ 0.035)."""
    source, blocks = _shakespeare_blocks()
    result = detectability(blocks[:300], blocks[300:], "text", seed=3, decode=source.decode)
    assert abs(result.auc - 0.5) < 0.1


def test_planted_word_is_the_top_text_feature():
    """Synthetic blocks are other real blocks with "zounds" planted once at a random word
    position, seed 4: AUC > 0.9 and the top feature is "zounds" with a positive weight."""
    source, blocks = _shakespeare_blocks()
    rng = np.random.default_rng(4)
    real = as_texts(blocks[:300], source.decode)
    synthetic = []
    for text in as_texts(blocks[300:], source.decode):
        words = text.split(" ")
        words.insert(int(rng.integers(len(words) + 1)), "zounds")
        synthetic.append(" ".join(words))
    result = detectability(real, synthetic, "text", seed=4)
    assert result.auc > 0.9
    assert result.top_features[0][0] == "zounds" and result.top_features[0][1] > 0
    detector = SyntheticDetector("text").fit(real, synthetic)
    assert detector.p_synthetic(["zounds zounds", "to be or not"])[0] > 0.5
