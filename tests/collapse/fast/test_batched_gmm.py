"""The batched Gaussian-mixture loop: mixing rules, and equivalence with the sklearn loop.

The statistical test compares the batched loop with the per-seed loop the Nature paper's
notebook runs (sklearn ``GaussianMixture(2).fit`` then ``sample``), by two-sample KS at
1% on the final largest weight and log determinant of the wider component (seed 30).
It rejected a batched loop whose sampling ignored the fitted weights (equal weights):
p ~ 1e-34 with 500 seeds (slow variant), p ~ 3e-4 with 60 seeds.
"""

import numpy as np
import pytest
from scipy import stats
from sklearn.mixture import GaussianMixture

from genloop.collapse.fast.batched_gmm import mix_batched, simulate_gmm, uniform_subsets
from genloop.collapse.fast.plan import PoolPlan
from genloop.collapse.fast.threads import limited_threads
from genloop.core.errors import ConfigError


def _labelled(seeds, size, offset):
    """Rows whose value names their origin: offset + row index."""
    return np.broadcast_to(offset + np.arange(size)[None, :, None], (seeds, size, 1)).astype(float)


@pytest.mark.parametrize(
    ("policy", "kwargs", "expected"),
    [
        ("replace", {}, {"new": 10}),
        ("keep_fraction", dict(gamma=0.3), {"original": 3, "new": 7}),
        ("mix", dict(alpha=0.5, beta=0.3, gamma=0.2), {"original": 2, "previous": 3, "new": 5}),
        ("accumulate", {}, {"previous": 12, "new": 10}),
        ("accumulate_subsample", dict(budget=15), {"total": 15}),
    ],
)
def test_mix_batched_takes_each_part_without_replacement(policy, kwargs, expected):
    rng = np.random.default_rng(0)
    plan = PoolPlan.from_policy(policy, 10, **kwargs)
    original, previous = _labelled(4, 12, -1000), _labelled(4, 12, 1000)
    new = _labelled(4, plan.n_new, 0)
    pool = mix_batched(rng, plan, previous, original, new)[..., 0]
    for row in pool:
        assert len(set(row.tolist())) == len(row)  # without replacement
        parts = {
            "original": np.sum(row < -500),
            "previous": np.sum(row >= 500),
            "new": np.sum((row >= 0) & (row < 500)),
            "total": len(row),
        }
        for part, count in expected.items():
            assert parts[part] == count


def test_uniform_subsets_are_uniform():
    """Each of 10 rows is kept with probability 3/10 (binomial, 4000 draws, seed 1)."""
    rows = _labelled(4000, 10, 0)
    chosen = uniform_subsets(np.random.default_rng(1), rows, 3)[..., 0].astype(int)
    frequency = np.bincount(chosen.ravel(), minlength=10) / 4000
    np.testing.assert_allclose(frequency, 0.3, atol=0.03)


def test_simulate_gmm_yields_every_generation_and_fresh_needs_truth():
    original = np.random.default_rng(2).normal(size=(3, 40, 2))
    plan = PoolPlan.from_policy("keep_fraction", 40, gamma=0.25)
    fits = list(simulate_gmm(original, plan, range(3), 4, n_components=2))
    assert [f.generation for f in fits] == [0, 1, 2, 3, 4]
    assert fits[-1].means.shape == (3, 2, 2) and fits[-1].pool.shape == (3, 40, 2)
    np.testing.assert_array_equal(fits[0].pool, original)
    with pytest.raises(ConfigError, match="needs the ground truth"):
        next(
            simulate_gmm(
                original, PoolPlan.from_policy("fresh", 40, gamma=0.5), range(3), 2, n_components=2
            )
        )
    truth = (np.array([0.5, 0.5]), np.zeros((2, 2)), np.stack([np.eye(2)] * 2))
    fresh = list(
        simulate_gmm(
            original,
            PoolPlan.from_policy("fresh", 40, gamma=0.5),
            range(3),
            2,
            n_components=2,
            truth=truth,
        )
    )
    assert fresh[-1].pool.shape == (3, 40, 2)


def _wider_logdet(covariances):
    return np.max(np.linalg.slogdet(covariances)[1], axis=-1)


def _sklearn_loop(X, generations, seed):
    rng = np.random.default_rng(seed)
    for _ in range(generations):
        gmm = GaussianMixture(2, random_state=int(rng.integers(2**31 - 1))).fit(X)
        X = gmm.sample(len(X))[0]
    gmm = GaussianMixture(2, random_state=int(rng.integers(2**31 - 1))).fit(X)
    return gmm.weights_.max(), _wider_logdet(gmm.covariances_)


@pytest.mark.parametrize("seeds", [pytest.param(500, marks=pytest.mark.slow), 60])
def test_batched_loop_matches_the_sklearn_loop(seeds):
    """N=60 points in 2-D, 2 components, replace, 4 generations (seed 30); KS at 1%."""
    rng = np.random.default_rng(30)
    labels = rng.random((seeds, 60)) < 0.5
    original = np.where(labels[..., None], -2.0, 2.0) * [1.0, 0.0] + rng.normal(size=(seeds, 60, 2))
    plan = PoolPlan.from_policy("replace", 60)
    *_, last = simulate_gmm(original, plan, range(seeds), 4, n_components=2)
    with limited_threads(1):
        reference = np.array([_sklearn_loop(original[s], 4, s) for s in range(seeds)])
    batched = (last.weights.max(axis=1), _wider_logdet(last.covariances))
    for ours, theirs in zip(batched, reference.T, strict=True):
        assert stats.ks_2samp(ours, theirs).pvalue > 0.01
