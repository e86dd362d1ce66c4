"""The batched Gaussian-mixture path: mixing rules, and equivalence with the sklearn loop.

The statistical test compares the batched path with the per-seed loop the Nature paper's
notebook runs (sklearn ``GaussianMixture(2).fit`` then ``sample``), by two-sample KS at
1% on the final largest weight and log determinant of the wider component (seed 30).
It rejected a batched loop whose sampling ignored the fitted weights (equal weights):
p ~ 1e-34 with 500 seeds (slow variant), p ~ 3e-4 with 60 seeds.
"""

import numpy as np
import pytest
from scipy import stats
from sklearn.mixture import GaussianMixture

from genloop.collapse.fast.batched_gmm import MixturePath
from genloop.collapse.fast.simulator import Batch
from genloop.collapse.fast.threads import limited_threads
from genloop.collapse.policy import MixingPolicy, uniform_subsets
from genloop.core.errors import ConfigError
from genloop.families.gmm import GaussianMixture as MixtureFamily


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
def test_next_rows_takes_each_part_without_replacement(policy, kwargs, expected):
    rng = np.random.default_rng(0)
    plan = MixingPolicy.of(policy, 10, **kwargs)
    original, previous = _labelled(4, 12, -1000), _labelled(4, 12, 1000)
    new = _labelled(4, plan.n_new, 0)
    pool = plan.next_rows(rng, previous, original, new)[..., 0]
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


def _path_runs(original, policy, generations, truth=None, **family):
    """Every generation's (weights, means, full covariances, pool) of a MixturePath."""
    template = MixtureFamily(**family)
    seeds = np.arange(len(original))
    sim = MixturePath(Batch(template, original, seeds, policy, generations, truth))
    runs = [(*sim.parameters().values(), sim.pool)]
    for generation in range(1, generations + 1):
        sim.step(generation)
        runs.append((*sim.parameters().values(), sim.pool))
    return runs


def test_mixture_path_steps_every_generation_and_fresh_needs_truth():
    original = np.random.default_rng(2).normal(size=(3, 40, 2))
    plan = MixingPolicy.of("keep_fraction", 40, gamma=0.25)
    runs = _path_runs(original, plan, 4, n_components=2)
    assert len(runs) == 5
    weights, means, covariances, pool = runs[-1]
    assert means.shape == (3, 2, 2) and covariances.shape == (3, 2, 2, 2)
    assert pool.shape == (3, 40, 2)
    np.testing.assert_array_equal(runs[0][3], original)
    # the pool keeps 10 distinct original rows per seed
    for seed in range(3):
        kept = [row for row in pool[seed] if any(np.array_equal(row, o) for o in original[seed])]
        assert len(kept) == 10
    fresh = MixingPolicy.of("fresh", 40, gamma=0.5)
    with pytest.raises(ConfigError, match="needs the ground truth"):
        _path_runs(original, fresh, 2, n_components=2)
    truth = (np.array([0.5, 0.5]), np.zeros((2, 2)), np.stack([np.eye(2)] * 2))
    assert _path_runs(original, fresh, 2, truth, n_components=2)[-1][3].shape == (3, 40, 2)


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
    plan = MixingPolicy.of("replace", 60)
    with limited_threads(1):
        weights, _, covariances, _ = _path_runs(original, plan, 4, n_components=2)[-1]
        reference = np.array([_sklearn_loop(original[s], 4, s) for s in range(seeds)])
    batched = (weights.max(axis=1), _wider_logdet(covariances))
    for ours, theirs in zip(batched, reference.T, strict=True):
        assert stats.ks_2samp(ours, theirs).pvalue > 0.01
