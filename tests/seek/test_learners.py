"""Learners: shapes, a tiny copy task, uncertainty, checkpoints, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from genloop.core.errors import ConfigError
from genloop.seek.learners import Learner
from genloop.seek.tasks import VOCAB_SIZE, sequence

torch = pytest.importorskip("torch")


def _learner(kind="mlp", **kwargs):
    program = sequence("copy", 3)
    params = dict(width=64, depth=2, lr=3e-3, seed=0, device="cpu") | kwargs
    return program, Learner(kind, VOCAB_SIZE, program.input_len, program.output_len, **params)


def _train(program, learner, steps, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        learner.train_step(*program.sample(64, rng))


def test_mlp_learns_a_tiny_copy_task():
    # Seeded (seed 0): 1000 distinct inputs; 300 Adam steps on batches of 64 reach ~100%
    # exact-match accuracy on fresh inputs; the tolerance (≥ 0.95) leaves room for torch
    # versions. An untrained MLP is at chance (10⁻³).
    program, learner = _learner()
    x, _ = program.sample(300, np.random.default_rng(99))
    before = program.verify(x, learner.predict(x)[0]).mean()
    _train(program, learner, 300)
    after = program.verify(x, learner.predict(x)[0]).mean()
    assert before < 0.05 and after >= 0.95


@pytest.mark.parametrize("kind", ["mlp", "transformer"])
def test_shapes_and_confidence(kind):
    program, learner = _learner(kind, ensemble=2)
    x, y = program.sample(7, np.random.default_rng(1))
    loss = learner.train_step(x, y)
    assert np.isfinite(loss) and loss > 0
    outputs, confidence = learner.predict(x)
    assert outputs.shape == (7, 3) and outputs.dtype == np.int64
    assert confidence.shape == (7,) and ((confidence > 0) & (confidence <= 1)).all()
    assert learner.loss(x, y).shape == (7,)
    sampled, _ = learner.predict(x, temperature=1.0, rng=np.random.default_rng(2))
    assert sampled.shape == (7, 3) and sampled.min() >= 0 and sampled.max() < VOCAB_SIZE
    for method in ("disagreement", "bald"):
        assert learner.uncertainty(x, method).shape == (7,)


def test_ensemble_and_mc_dropout_uncertainty_is_positive():
    program, ensemble = _learner(ensemble=3)
    x, _ = program.sample(50, np.random.default_rng(3))
    assert (ensemble.uncertainty(x, "disagreement") > 0).all()
    assert (ensemble.uncertainty(x, "bald") > 0).all()
    _, mc = _learner(dropout=0.3)
    assert (mc.uncertainty(x, "bald") > 0).all()
    _, single = _learner()
    with pytest.raises(ConfigError, match="ensemble"):
        single.uncertainty(x)


def test_greedy_confidence_is_the_product_of_position_probabilities():
    program, learner = _learner()
    x, _ = program.sample(5, np.random.default_rng(4))
    outputs, confidence = learner.predict(x)
    # The NLL of the greedy answer is −log(confidence) for a single member.
    np.testing.assert_allclose(learner.loss(x, outputs), -np.log(confidence), rtol=1e-4)


def test_same_seed_same_results_and_checkpoints_round_trip():
    program, first = _learner(dropout=0.2)
    _, second = _learner(dropout=0.2)
    torch.manual_seed(123)  # global torch state must not matter
    _train(program, first, 5)
    torch.manual_seed(456)
    _train(program, second, 5)
    x, _ = program.sample(20, np.random.default_rng(5))
    np.testing.assert_array_equal(first.predict(x)[0], second.predict(x)[0])
    _, other = _learner(dropout=0.2, seed=7)
    other.load_arrays(first.state_arrays())
    np.testing.assert_allclose(other.predict(x)[1], first.predict(x)[1], rtol=1e-6)


def test_bad_parameters_raise_config_errors():
    with pytest.raises(ConfigError, match="kind"):
        Learner("rnn", VOCAB_SIZE, 5, 3)
    with pytest.raises(ConfigError, match="dropout"):
        Learner("mlp", VOCAB_SIZE, 5, 3, dropout=1.5)
    _, learner = _learner()
    with pytest.raises(ConfigError, match="shape"):
        learner.predict(np.zeros((2, 4), dtype=int))
    with pytest.raises(ConfigError, match="outside"):
        learner.predict(np.full((2, 5), 99))
