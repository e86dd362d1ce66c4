"""ExactCategorical against a sample-level reference loop written here in plain numpy.

The reference draws every sample (inverse-CDF of the fitted probabilities), counts
them, and mixes pools item by item. Seeded two-sample tests at the 1% level compare
absorption times (KS) and absorption states (chi-square contingency), or final support
sizes and state counts under the mixing policies. Each was seen to reject deliberately
broken code: a multinomial of n-1 draws plus one draw of the most frequent state
(p ~ 1e-18 on the absorption time), and original subsets drawn with replacement
(p ~ 1e-34 on the support size in the keep_fraction 0.8 case).
"""

import numpy as np
import pytest
from scipy import stats

from genloop.collapse.fast.exact_categorical import ExactCategorical
from genloop.collapse.policy import MixingPolicy
from genloop.core.errors import ConfigError, DataError

K = 8
ZIPF = 1.0 / np.arange(1, K + 1) / np.sum(1.0 / np.arange(1, K + 1))


def _counts(states, n_states):
    seeds = states.shape[0]
    flat = states + n_states * np.arange(seeds)[:, None]
    return np.bincount(flat.ravel(), minlength=seeds * n_states).reshape(seeds, n_states)


def _items(counts):
    """Each seed's pool as an array of states (all pools of a generation share a size)."""
    return np.stack([np.repeat(np.arange(counts.shape[1]), row) for row in counts])


def _subset(rng, items, size):
    order = np.argsort(rng.random(items.shape), axis=1)[:, :size]
    return np.take_along_axis(items, order, axis=1)


def reference_step(rng, counts, original_items, plan):
    """One sample-level generation: fit by MLE, sample points, mix item by item."""
    probabilities = counts / counts.sum(axis=1, keepdims=True)
    cumulative = np.cumsum(probabilities, axis=1)
    cumulative[:, -1] = np.inf
    parts = [_items(counts)] if plan.name.startswith("accumulate") else []
    if plan.n_previous:
        parts.append(_subset(rng, _items(counts), plan.n_previous))
    if plan.name == "fresh":
        u = rng.random((counts.shape[0], plan.n_original))
        parts.append((u[..., None] >= np.cumsum(ZIPF)[None, None, :-1]).sum(axis=2))
    elif plan.n_original:
        parts.append(_subset(rng, original_items, plan.n_original))
    if plan.n_new:
        u = rng.random((counts.shape[0], plan.n_new))
        parts.append((u[..., None] >= cumulative[:, None, :]).sum(axis=2))
    pool = np.concatenate(parts, axis=1)
    if plan.name == "accumulate_subsample" and pool.shape[1] > plan.budget:
        pool = _subset(rng, pool, plan.budget)
    return _counts(pool, counts.shape[1])


def test_absorption_time_and_state_match_reference():
    """Replace, K=8 Zipf states, n=25, 1000 seeds, to absorption (seed 20).

    KS at 1% on absorption times; chi-square contingency at 1% on absorption states;
    and the absorption states follow each seed's original frequencies (the martingale
    law P(absorb at i) = c_i / n) by a chi-square goodness-of-fit test at 1%.
    """
    rng = np.random.default_rng(20)
    seeds, n = 1000, 25
    original = np.stack([rng.multinomial(n, ZIPF) for _ in range(seeds)])
    plan = MixingPolicy.of("replace", n)
    sim = ExactCategorical(original, plan, np.arange(seeds))
    *_, generation = sim.run(5000, stop_when_absorbed=True)
    assert sim.all_absorbed
    exact_time, exact_state = generation.absorbed_at, generation.absorbed_state

    counts = original.copy()
    ref_time = np.where(np.count_nonzero(counts, axis=1) == 1, 0, -1)
    for step in range(1, 5001):
        counts = reference_step(rng, counts, None, plan)
        ref_time[(ref_time < 0) & (np.count_nonzero(counts, axis=1) == 1)] = step
        if np.all(ref_time >= 0):
            break
    ref_state = np.argmax(counts, axis=1)

    assert stats.ks_2samp(exact_time, ref_time).pvalue > 0.01
    table = np.stack([np.bincount(exact_state, minlength=K), np.bincount(ref_state, minlength=K)])
    table = table[:, table.sum(axis=0) > 0]
    assert stats.chi2_contingency(table).pvalue > 0.01
    expected = (original / n).sum(axis=0)
    observed = np.bincount(exact_state, minlength=K)
    keep = expected >= 5  # pool the rare states so the chi-square approximation holds
    if not keep.all():
        observed = np.append(observed[keep], observed[~keep].sum())
        expected = np.append(expected[keep], expected[~keep].sum())
    assert stats.chisquare(observed, expected).pvalue > 0.01


@pytest.mark.parametrize(
    ("policy", "kwargs"),
    [
        ("keep_fraction", dict(gamma=0.2)),
        ("keep_fraction", dict(gamma=0.8)),  # most of the pool is an original subset
        ("mix", dict(alpha=0.5, beta=0.3, gamma=0.2)),
        ("mix", dict(alpha=0.6, beta=0.4, gamma=0.0)),
        ("fresh", dict(gamma=0.3)),
        ("accumulate", {}),
        ("accumulate_subsample", dict(budget=50)),
    ],
)
def test_mixing_policies_match_reference(policy, kwargs):
    """K=8 Zipf, n=20, 15 generations, 800 seeds (seed 21).

    Chi-square contingency at 1% on the final support size; KS at 1% on the final
    counts of the most and the least likely states.
    """
    rng = np.random.default_rng(21)
    seeds, n, generations = 800, 20, 15
    original = np.stack([rng.multinomial(n, ZIPF) for _ in range(seeds)])
    plan = MixingPolicy.of(policy, n, **kwargs)
    *_, exact = ExactCategorical(original, plan, np.arange(seeds), truth=ZIPF).run(generations)
    counts, original_items = original.copy(), _items(original)
    for _ in range(generations):
        counts = reference_step(rng, counts, original_items, plan)
    exact_counts = exact.dense_counts()
    assert np.array_equal(exact_counts.sum(axis=1), counts.sum(axis=1))
    support = np.stack(
        [
            np.bincount(exact.support_size, minlength=K + 1),
            np.bincount(np.count_nonzero(counts, axis=1), minlength=K + 1),
        ]
    )
    support = support[:, support.sum(axis=0) > 0]
    assert stats.chi2_contingency(support).pvalue > 0.01
    for state in (0, K - 1):
        assert stats.ks_2samp(exact_counts[:, state], counts[:, state]).pvalue > 0.01


def test_lost_states_never_return_and_the_layout_shrinks():
    rng = np.random.default_rng(0)
    original = np.stack([rng.multinomial(500, np.full(200, 1 / 200)) for _ in range(5)])
    sim = ExactCategorical(original, MixingPolicy.of("replace", 50), range(5))
    previous = sim.snapshot().dense_counts() > 0
    for generation in sim.run(30):
        present = generation.dense_counts() > 0
        assert not np.any(present & ~previous)
        previous = present
    assert generation.counts.shape[1] <= 50
    assert np.all(generation.counts[:, -1] > 0)  # the multinomial's remainder column
    np.testing.assert_allclose(generation.probabilities().sum(axis=1), 1.0)


def test_smoothing_keeps_every_state_possible():
    original = np.zeros((2, 4), dtype=int)
    original[:, 0] = 10
    sim = ExactCategorical(original, MixingPolicy.of("replace", 200), [0, 1], smoothing=1.0)
    np.testing.assert_allclose(sim.snapshot().probabilities()[0], [11 / 14, 1 / 14, 1 / 14, 1 / 14])
    generation = sim.step()
    assert np.all(generation.dense_counts()[:, 1:].sum(axis=1) > 0)


def test_runs_are_deterministic_given_seeds_and_config():
    original = np.random.default_rng(0).multinomial(30, ZIPF, size=4)
    plan = MixingPolicy.of("mix", 30, alpha=0.5, beta=0.3, gamma=0.2)

    def final(seeds):
        *_, generation = ExactCategorical(original, plan, seeds).run(5)
        return generation.dense_counts()

    assert np.array_equal(final([0, 1, 2, 3]), final([0, 1, 2, 3]))
    assert not np.array_equal(final([0, 1, 2, 3]), final([9, 1, 2, 3]))


def test_bad_inputs_raise_one_line_errors():
    plan = MixingPolicy.of("replace", 5)
    with pytest.raises(DataError, match="2-D integer array"):
        ExactCategorical(np.ones((2, 3)) / 3, plan, [0, 1])
    with pytest.raises(DataError, match="positive total"):
        ExactCategorical(np.zeros((1, 3), dtype=int), plan, [0])
    with pytest.raises(ConfigError, match="smoothing"):
        ExactCategorical(np.ones((1, 3), dtype=int), plan, [0], smoothing=-1)
    with pytest.raises(ConfigError, match="needs the ground truth"):
        ExactCategorical(
            np.ones((1, 3), dtype=int), MixingPolicy.of("fresh", 3, gamma=0.5), [0]
        )
    with pytest.raises(ConfigError, match="exceed the smallest original data size"):
        ExactCategorical(
            np.ones((1, 3), dtype=int), MixingPolicy.of("keep_fraction", 10, gamma=0.5), [0]
        )
