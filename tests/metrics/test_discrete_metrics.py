"""Discrete metrics on hand-made probability vectors with exact expected values."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from genloop.core.errors import ConfigError, DataError
from genloop.metrics.discrete import (
    Absorbed,
    Entropy,
    KLDivergence,
    StatesLost,
    SupportSize,
    TailMassRetained,
    TotalVariation,
    absorbed,
    entropy,
    kl_divergence,
    reference_probabilities,
    states_lost,
    support_size,
    tail_mass_retained,
    total_variation,
)

TRUTH = np.array([0.4, 0.3, 0.2, 0.1])
TWO_LOST = np.array([0.5, 0.5, 0.0, 0.0])  # a model that lost states 2 and 3


def categorical(probabilities):
    return SimpleNamespace(probabilities_=np.asarray(probabilities, dtype=float))


# ---------------------------------------------------------------- pure functions


def test_half_half_against_uniform():
    p, q = np.array([0.5, 0.5, 0, 0]), np.full(4, 0.25)
    assert support_size(q) == 4
    assert states_lost(p, q) == 0
    assert entropy(q) == pytest.approx(math.log(4), abs=1e-15)
    assert total_variation(p, q) == pytest.approx(0.5, abs=1e-15)
    # KL = 2 * 0.5 * log(0.5 / 0.25) = log 2; the smoothing moves it by ~1e-11.
    assert kl_divergence(p, q) == pytest.approx(math.log(2), abs=1e-10)


def test_model_with_two_states_lost():
    assert support_size(TWO_LOST) == 2
    assert states_lost(TRUTH, TWO_LOST) == 2
    assert total_variation(TRUTH, TWO_LOST) == pytest.approx(0.5 * (0.1 + 0.2 + 0.2 + 0.1))
    assert entropy(TWO_LOST) == pytest.approx(math.log(2))


def test_kl_smoothing_is_the_stated_formula_and_finite():
    eps = 1e-6
    smoothed = (TWO_LOST + eps) / (1 + 4 * eps)
    expected = sum(p * math.log(p / s) for p, s in zip(TRUTH, smoothed, strict=True))
    assert kl_divergence(TRUTH, TWO_LOST, smoothing=eps) == pytest.approx(expected, rel=1e-12)
    value = kl_divergence(TRUTH, np.array([0.0, 0.0, 0.0, 1.0]))
    assert np.isfinite(value) and value > 10
    with pytest.raises(ConfigError, match="smoothing"):
        kl_divergence(TRUTH, TWO_LOST, smoothing=0.0)


def test_entropy_of_a_delta_is_zero():
    assert entropy([0.0, 1.0, 0.0]) == 0.0


def test_tail_mass_retained_hand_cases():
    # quantile 0.1 of [.1, .2, .3, .4] (linear) is 0.13: the tail is state 3 alone.
    assert tail_mass_retained(TRUTH, TWO_LOST, 0.1) == (0.0, 0.0)
    # quantile 0.5 is 0.25: the tail is states 2 and 3 (truth mass 0.3).
    mass, kept = tail_mass_retained(TRUTH, [0.5, 0.3, 0.2, 0.0], 0.5)
    assert mass == pytest.approx(0.2 / 0.3) and kept == 0.5
    mass, kept = tail_mass_retained(TRUTH, TRUTH, 0.5)
    assert mass == pytest.approx(1.0) and kept == 1.0
    # States with p = 0 never count as tail states, whatever the model does there.
    mass, kept = tail_mass_retained([0.7, 0.3, 0.0], [0.7, 0.0, 0.3], 0.0)
    assert (mass, kept) == (0.0, 0.0)


def test_absorbed_flags_and_state():
    flag, state = absorbed([0.0, 1.0, 0.0])
    assert bool(flag) and state == 1
    flag, state = absorbed([0.5, 0.5])
    assert not bool(flag) and state == -1


def test_batch_axis_equals_single_calls():
    rng = np.random.default_rng(7)
    p = rng.dirichlet(np.ones(6), size=5)
    q = rng.dirichlet(np.ones(6), size=5)
    q[q < 0.1] = 0.0  # lose some states so support and tails differ across rows
    q /= q.sum(axis=1, keepdims=True)
    q[2] = np.eye(6)[4]  # one absorbed row
    batched = {
        "support": support_size(q),
        "lost": states_lost(p, q),
        "entropy": entropy(q),
        "tv": total_variation(p, q),
        "kl": kl_divergence(p, q),
        "tail": np.stack(tail_mass_retained(p, q, 0.3), axis=-1),
        "absorbed": np.stack(absorbed(q), axis=-1),
    }
    for name, values in batched.items():
        assert values.shape[0] == 5, name
    for row in range(5):
        assert batched["support"][row] == support_size(q[row])
        assert batched["lost"][row] == states_lost(p[row], q[row])
        assert batched["entropy"][row] == pytest.approx(entropy(q[row]), abs=1e-15)
        assert batched["tv"][row] == pytest.approx(total_variation(p[row], q[row]), abs=1e-15)
        assert batched["kl"][row] == pytest.approx(kl_divergence(p[row], q[row]), rel=1e-14)
        single_tail = tail_mass_retained(p[row], q[row], 0.3)
        np.testing.assert_allclose(batched["tail"][row], single_tail, rtol=1e-14)
        np.testing.assert_array_equal(batched["absorbed"][row], absorbed(q[row]))
    assert tuple(batched["absorbed"][2]) == (1, 4)


# ---------------------------------------------------------------- metric classes


def test_metric_classes_against_the_truth(make_context, truth_source):
    context = make_context(categorical(TWO_LOST), source=truth_source(probabilities=TRUTH))
    assert SupportSize().measure(context) == {"support_size": 2.0}
    assert StatesLost().measure(context) == {"states_lost": 2.0}
    assert Entropy().measure(context) == {"entropy": pytest.approx(math.log(2))}
    assert TotalVariation().measure(context) == {"total_variation": pytest.approx(0.3)}
    kl = KLDivergence(smoothing=1e-6).measure(context)["kl"]
    assert kl == pytest.approx(float(kl_divergence(TRUTH, TWO_LOST, 1e-6)))
    assert TailMassRetained(quantile=0.5).measure(context) == {
        "tail_mass_retained": 0.0,
        "tail_states_kept": 0.0,
    }
    assert Absorbed().measure(context) == {"absorbed": 0.0, "absorbed_state": -1.0}
    delta = make_context(categorical([0, 0, 1, 0]), source=truth_source(probabilities=TRUTH))
    assert Absorbed().measure(delta) == {"absorbed": 1.0, "absorbed_state": 2.0}


def test_reference_falls_back_to_empirical_frequencies(make_context):
    original = np.array([[0], [0], [1], [3]])
    context = make_context(categorical([0.25] * 4), original=original)
    np.testing.assert_array_equal(reference_probabilities(context, 4), [0.5, 0.25, 0, 0.25])
    assert TotalVariation().measure(context) == {"total_variation": pytest.approx(0.25)}


def test_shorter_model_is_padded_with_lost_states(make_context, truth_source):
    # The model only knows states 0..1; states 2 and 3 of the truth count as lost.
    context = make_context(categorical([0.5, 0.5]), source=truth_source(probabilities=TRUTH))
    assert StatesLost().measure(context) == {"states_lost": 2.0}
    assert TotalVariation().measure(context) == {"total_variation": pytest.approx(0.3)}


def test_bad_inputs_raise_one_line_errors(make_context):
    with pytest.raises(ConfigError, match="kl.smoothing"):
        KLDivergence(smoothing=0)
    with pytest.raises(ConfigError, match="tail_mass_retained.quantile"):
        TailMassRetained(quantile=1.5)
    with pytest.raises(DataError, match="probabilities_"):
        SupportSize().measure(make_context(SimpleNamespace()))
    with pytest.raises(DataError, match="non-negative integer"):
        TotalVariation().measure(make_context(categorical([1.0]), original=[[0.5]]))
