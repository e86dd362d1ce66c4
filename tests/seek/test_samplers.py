"""PLR sampler: exact transforms, staleness mixing, replay, scores, archive, mutation."""

from __future__ import annotations

import numpy as np
import pytest

from genloop.core.errors import ConfigError
from genloop.seek.samplers import (
    Archive,
    PrioritizedSampler,
    ScoreTracker,
    mutate,
    program_features,
    replay_distribution,
    staleness_probabilities,
    transform_scores,
    window_slope,
)
from genloop.seek.task_space import build_task_space
from genloop.seek.tasks import noisy, random_targets

SCORES = np.array([0.5, 2.0, 1.0, 0.0])


def test_rank_transform_matches_plr():
    # ranks (1 = highest): 3, 1, 2, 4; h = 1 / rank^(1/β) with β = 0.5 → 1/9, 1, 1/4, 1/16
    weights = np.array([1 / 9, 1.0, 1 / 4, 1 / 16])
    np.testing.assert_allclose(transform_scores(SCORES, "rank", 0.5), weights / weights.sum())


def test_rank_ties_share_their_average_rank():
    probs = transform_scores([1.0, 1.0, 0.0], "rank", 1.0)  # ranks 1.5, 1.5, 3
    weights = np.array([1 / 1.5, 1 / 1.5, 1 / 3])
    np.testing.assert_allclose(probs, weights / weights.sum())


def test_power_softmax_proportional_transforms():
    np.testing.assert_allclose(transform_scores(SCORES, "power", 0.5), SCORES**2 / 5.25)
    soft = np.exp(SCORES / 0.25)
    np.testing.assert_allclose(transform_scores(SCORES, "softmax", 0.25), soft / soft.sum())
    np.testing.assert_allclose(transform_scores(SCORES, "proportional", 7.0), SCORES / 3.5)
    # All-zero weights fall back to uniform instead of dividing by zero.
    np.testing.assert_allclose(transform_scores([0.0, 0.0], "power", 0.1), [0.5, 0.5])


def test_staleness_mixing_matches_plr():
    # P_C(i) = (c − C_i) / Σ (c − C_j) with c = 10, C = [10, 6, 2, 8] → ages 0, 4, 8, 2.
    stale = staleness_probabilities([10, 6, 2, 8], 10)
    np.testing.assert_allclose(stale, [0.0, 4 / 14, 8 / 14, 2 / 14])
    mixed = replay_distribution(SCORES, [10, 6, 2, 8], 10, "proportional", 1.0, staleness=0.3)
    np.testing.assert_allclose(mixed, 0.7 * SCORES / 3.5 + 0.3 * stale)
    np.testing.assert_allclose(staleness_probabilities([3, 3], 3), [0.5, 0.5])


def test_bad_transform_inputs_raise():
    with pytest.raises(ConfigError, match="transform"):
        transform_scores(SCORES, "cubic", 1.0)
    with pytest.raises(ConfigError, match="temperature"):
        transform_scores(SCORES, "rank", 0.0)
    with pytest.raises(ConfigError, match="≥ 0"):
        transform_scores([-1.0, 1.0], "power", 1.0)
    with pytest.raises(ConfigError, match="staleness"):
        replay_distribution(SCORES, [0] * 4, 1, staleness=1.5)


def test_learning_progress_on_a_hand_made_accuracy_series():
    # fast rate 0.5, slow rate 0.1, both start at the first value (0.0):
    # after 0.0: fast 0, slow 0; after 1.0: fast 0.5, slow 0.1 → LP 0.4;
    # after 1.0: fast 0.75, slow 0.19 → LP 0.56.
    tracker = ScoreTracker("learning_progress", fast=0.5, slow=0.1)
    expected = [0.0, 0.4, 0.56]
    for accuracy, progress in zip([0.0, 1.0, 1.0], expected):
        tracker.observe(0, accuracy=accuracy)
        assert tracker.value(0) == pytest.approx(progress)
    # A flat series (an unlearnable program at chance) has no progress.
    for _ in range(10):
        tracker.observe(1, accuracy=0.01)
    assert tracker.value(1) == pytest.approx(0.0)
    # Forgetting counts too: progress is |fast − slow|.
    for accuracy in (1.0, 1.0, 0.0):
        tracker.observe(2, accuracy=accuracy)
    assert tracker.value(2) == pytest.approx(abs(0.5 - 0.9))


def test_tscl_window_slope_and_other_scores():
    assert window_slope([0.1, 0.2, 0.3, 0.4]) == pytest.approx(0.1)
    assert window_slope([5.0]) == 0.0
    tracker = ScoreTracker("tscl_slope", window=3)
    for accuracy in (0.0, 0.9, 0.6, 0.3):  # the window keeps 0.9, 0.6, 0.3
        tracker.observe(0, accuracy=accuracy)
    assert tracker.value(0) == pytest.approx(0.3)
    loss = ScoreTracker("loss")
    loss.observe(3, accuracy=0.5, loss=2.5)
    assert loss.value(3) == 2.5 and loss.value(4) == 0.0
    bald = ScoreTracker("bald")
    bald.observe(0, uncertainty=0.7)
    assert bald.value(0) == 0.7


def test_sampler_explores_unseen_items_then_replays_by_score():
    sampler = PrioritizedSampler("loss", "rank", temperature=0.5, staleness=0.0, replay_prob=0.8)
    sampler.add_items(4)
    np.testing.assert_allclose(sampler.probabilities(), [0.25] * 4)  # nothing seen yet
    for index, loss in enumerate([0.5, 2.0]):
        sampler.observe(index, accuracy=0.0, loss=loss)
    # Seen items share p = 0.8 by rank (weights 1/4 and 1); unseen ones share 0.2.
    np.testing.assert_allclose(sampler.probabilities(), [0.8 * 0.2, 0.8 * 0.8, 0.1, 0.1])
    draws = sampler.sample(1000, np.random.default_rng(0))
    assert draws.shape == (1000,) and set(np.unique(draws)) == {0, 1, 2, 3}
    assert sampler.round == 1 and all(sampler.seen)
    # Everything seen: every draw replays (unseen mass is gone).
    assert sampler.probabilities().sum() == pytest.approx(1.0)


def test_uniform_sampler_ignores_scores():
    sampler = PrioritizedSampler("uniform")
    sampler.add_items(3)
    np.testing.assert_allclose(sampler.probabilities(), [1 / 3] * 3)
    for index in range(3):
        sampler.observe(index, accuracy=float(index), loss=9.0 * index)
    np.testing.assert_allclose(sampler.probabilities(), [1 / 3] * 3)


def test_archive_novelty():
    archive = Archive(capacity=3, k=2)
    assert np.isinf(archive.novelty([0.0, 0.0])).all()
    archive.add([[0.0, 0.0], [3.0, 4.0]])
    np.testing.assert_allclose(archive.novelty([[0.0, 0.0]]), [2.5])  # (0 + 5) / 2
    archive.add([[10.0, 0.0], [20.0, 0.0]])  # capacity 3 drops the oldest entry
    assert len(archive.entries) == 3


def test_mutation_edits_parameters_within_the_layout():
    space = build_task_space({"arithmetic": {"bases": [10], "n_digits": [1, 3]}})
    rng = np.random.default_rng(2)
    children = [mutate(space[0], rng, bases=[2, 10]) for _ in range(40)]
    names = {child.name for child in children}
    assert names <= {"add/b10/d2", "add/b2/d1"} and len(names) == 2
    assert all(child.input_len == space[0].input_len for child in children)
    deep = {mutate(space[1], rng, bases=[10]).name for _ in range(20)}
    assert deep == {"add/b10/d2"}  # d4 would not fit the layout's 3-digit slots
    wrapped = mutate(random_targets(space[0]), rng, bases=[10])
    assert wrapped.name == "random(add/b10/d2)" and not wrapped.learnable
    assert mutate(noisy(space[0], 0.2), rng, bases=[10]).flip_rate == 0.2
    assert program_features(space[0]).shape == (8,)
