"""ExactGaussian against a sample-level reference loop written here in plain numpy.

Seeded two-sample Kolmogorov-Smirnov tests at the 1% level compare the final fitted
models of the exact path and of the reference (which draws every point, refits and
mixes). Each was seen to reject deliberately broken code: a Wishart with m instead of
m-1 degrees of freedom (p < 1e-27 on the 1-D and d=3 log-variance tests), the
subset split with k instead of k-1 degrees of freedom (p < 1e-6 in the mix policy
tests), and original subsets drawn with replacement (p ~ 1e-3, keep_fraction 0.8).
"""

import numpy as np
import pytest
from scipy import stats
from scipy.special import digamma

from genloop.collapse.fast.exact_gaussian import ExactGaussian, simulate_gaussian
from genloop.collapse.fast.gaussian_trajectory import replace_trajectory
from genloop.collapse.policy import MixingPolicy
from genloop.core.errors import ConfigError, DataError


def _fit(pool, estimator):
    """Mean (S, d) and covariance (S, d, d) of each seed's pool."""
    mean = pool.mean(axis=1)
    centred = pool - mean[:, None, :]
    divisor = pool.shape[1] - (estimator == "unbiased")
    return mean, np.swapaxes(centred, 1, 2) @ centred / divisor


def _subset(rng, pool, size):
    order = np.argsort(rng.random(pool.shape[:2]), axis=1)[:, :size]
    return np.take_along_axis(pool, order[..., None], axis=1)


def reference_loop(original, plan, generations, estimator, rng, truth=None):
    """Sample-level loop: fit, draw every point, mix per the plan; final (means, covs)."""
    pool = original
    for _ in range(generations):
        mean, cov = _fit(pool, estimator)
        parts = [pool] if plan.name.startswith("accumulate") else []
        if plan.n_previous:
            parts.append(_subset(rng, pool, plan.n_previous))
        if plan.name == "fresh":
            z = rng.standard_normal((pool.shape[0], plan.n_original, pool.shape[2]))
            parts.append(truth[0] + z @ np.linalg.cholesky(truth[1]).T)
        elif plan.n_original:
            parts.append(_subset(rng, original, plan.n_original))
        if plan.n_new:
            z = rng.standard_normal((pool.shape[0], plan.n_new, pool.shape[2]))
            parts.append(mean[:, None, :] + z @ np.swapaxes(np.linalg.cholesky(cov), 1, 2))
        pool = np.concatenate(parts, axis=1)
        if plan.name == "accumulate_subsample" and pool.shape[1] > plan.budget:
            pool = _subset(rng, pool, plan.budget)
    return _fit(pool, estimator)


def _final(sim, generations):
    *_, generation = sim.run(generations)
    assert generation.generation == generations
    return generation


def test_one_dimensional_log_variance_matches_reference_and_theory():
    """1-D, MLE, replace, n=20, 40 generations, 1000 seeds (seed 10).

    KS at 1% on the final log-variance; and the mean change of log-variance lies within
    4 standard errors of the closed form 40 * (psi((n-1)/2) + ln(2/n)).
    """
    rng = np.random.default_rng(10)
    seeds, n, generations = 1000, 20, 40
    original = rng.normal(size=(seeds, n, 1))
    plan = MixingPolicy.of("replace", n)
    exact = _final(ExactGaussian(original, plan, np.arange(seeds)), generations)
    _, ref_cov = reference_loop(original, plan, generations, "mle", rng)
    exact_lv = np.log(exact.covariances[:, 0, 0])
    assert stats.ks_2samp(exact_lv, np.log(ref_cov[:, 0, 0])).pvalue > 0.01
    change = exact_lv - np.log(original.var(axis=1)[:, 0])
    theory = generations * (digamma((n - 1) / 2) + np.log(2 / n))
    assert abs(change.mean() - theory) < 4 * change.std() / np.sqrt(seeds)


def test_three_dimensional_log_variance_matches_reference():
    """d=3, unbiased, replace, n=20, 30 generations, 600 seeds (seed 11).

    KS at 1% on the final log-variance of the first coordinate and on log det. n exceeds
    the simulator's ``max_points`` (16), so new samples go through the Wishart draw.
    """
    rng = np.random.default_rng(11)
    seeds, n, generations = 600, 20, 30
    cov = np.array([[1.0, 0.5, 0.2], [0.5, 2.0, -0.4], [0.2, -0.4, 0.7]])
    original = rng.normal(size=(seeds, n, 3)) @ np.linalg.cholesky(cov).T
    plan = MixingPolicy.of("replace", n)
    exact = _final(ExactGaussian(original, plan, np.arange(seeds), "unbiased"), generations)
    _, ref_cov = reference_loop(original, plan, generations, "unbiased", rng)
    pairs = [
        (np.log(exact.covariances[:, 0, 0]), np.log(ref_cov[:, 0, 0])),
        (np.linalg.slogdet(exact.covariances)[1], np.linalg.slogdet(ref_cov)[1]),
    ]
    for fast, slow in pairs:
        assert stats.ks_2samp(fast, slow).pvalue > 0.01


@pytest.mark.parametrize(
    ("policy", "kwargs", "max_points"),
    [
        ("keep_fraction", dict(gamma=0.2), None),
        ("keep_fraction", dict(gamma=0.8), None),
        ("mix", dict(alpha=0.5, beta=0.3, gamma=0.2), None),
        ("mix", dict(alpha=0.6, beta=0.4, gamma=0.0), 3),  # splits statistics blocks
        ("mix", dict(alpha=0.5, beta=0.3, gamma=0.2), 3),
        ("fresh", dict(gamma=0.3), None),
        ("fresh", dict(gamma=0.9), 3),  # fresh truth draws as statistics
        ("accumulate", {}, None),
        ("accumulate_subsample", dict(budget=45), 3),
    ],
)
def test_mixing_policies_match_reference(policy, kwargs, max_points):
    """d=2, MLE, n=20, 12 generations, 600 seeds (seed 12).

    KS at 1% on the final log det, first mean coordinate and log-variance. A small
    ``max_points`` forces the exact split of statistics blocks.
    """
    rng = np.random.default_rng(12)
    seeds, n, generations = 600, 20, 12
    truth = (np.array([0.0, 5.0]), np.diag([1.0, 9.0]))
    original = rng.normal(size=(seeds, n, 2)) * [1.0, 3.0] + [0.0, 5.0]
    plan = MixingPolicy.of(policy, n, **kwargs)
    simulator = ExactGaussian(original, plan, np.arange(seeds), max_points=max_points, truth=truth)
    exact = _final(simulator, generations)
    ref_mean, ref_cov = reference_loop(original, plan, generations, "mle", rng, truth)
    pairs = [
        (np.linalg.slogdet(exact.covariances)[1], np.linalg.slogdet(ref_cov)[1]),
        (exact.means[:, 0], ref_mean[:, 0]),
        (np.log(exact.covariances[:, 1, 1]), np.log(ref_cov[:, 1, 1])),
    ]
    for fast, slow in pairs:
        assert stats.ks_2samp(fast, slow).pvalue > 0.01
    expected_size = {"accumulate": n * (generations + 1), "accumulate_subsample": 45}
    assert np.all(exact.pool_size == expected_size.get(policy, n))


def test_generation_zero_is_the_fit_of_the_original_data():
    original = np.random.default_rng(0).normal(size=(3, 10, 2))
    sim = ExactGaussian(original, MixingPolicy.of("replace", 10), [0, 1, 2], "unbiased")
    first = sim.snapshot()
    mean, cov = _fit(original, "unbiased")
    assert first.generation == 0
    np.testing.assert_allclose(first.means, mean)
    np.testing.assert_allclose(first.covariances, cov)


def test_runs_are_deterministic_given_seeds_and_config():
    original = np.random.default_rng(0).normal(size=(4, 30, 1))
    plan = MixingPolicy.of("mix", 30, alpha=0.5, beta=0.3, gamma=0.2)

    def final(seeds):
        return _final(ExactGaussian(original, plan, seeds, max_points=3), 5).covariances

    assert np.array_equal(final([0, 1, 2, 3]), final([0, 1, 2, 3]))
    assert not np.array_equal(final([0, 1, 2, 3]), final([0, 1, 2, 4]))


def test_snapshots_are_not_changed_by_later_steps():
    sim = ExactGaussian(
        np.random.default_rng(0).normal(size=(2, 5)), MixingPolicy.of("replace", 5), [0, 1]
    )
    first = sim.snapshot()
    saved = first.covariances.copy()
    sim.step()
    assert np.array_equal(first.covariances, saved)


def test_bad_inputs_raise_one_line_errors():
    plan = MixingPolicy.of("replace", 5)
    with pytest.raises(DataError, match="shape"):
        ExactGaussian(np.zeros(5), plan, [0])
    with pytest.raises(DataError, match="NaN"):
        ExactGaussian(np.full((1, 5), np.nan), plan, [0])
    with pytest.raises(ConfigError, match="estimator"):
        ExactGaussian(np.zeros((1, 5)), plan, [0], estimator="map")
    with pytest.raises(ConfigError, match="one seed per row"):
        ExactGaussian(np.zeros((2, 5)), plan, [0])
    with pytest.raises(ConfigError, match="needs the ground truth"):
        ExactGaussian(np.zeros((1, 5)), MixingPolicy.of("fresh", 5, gamma=0.2), [0])
    with pytest.raises(ConfigError, match="exceed the original data size"):
        ExactGaussian(np.zeros((1, 5)), MixingPolicy.of("keep_fraction", 50, gamma=0.5), [0])


@pytest.mark.parametrize(("d", "estimator"), [(1, "mle"), (3, "unbiased")])
def test_replace_trajectory_matches_reference(d, estimator):
    """Whole-run recursion vs the sample-level loop: n=20, 30 generations, 800 seeds.

    KS at 1% on the final log-variance of the first coordinate and on the final first
    mean coordinate (seed 13). Seen to reject a chi-square with n instead of n-1 degrees
    of freedom (p < 1e-20).
    """
    rng = np.random.default_rng(13)
    seeds, n, generations = 800, 20, 30
    original = 2.0 + rng.normal(size=(seeds, n, d))
    trajectory = replace_trajectory(original, n, generations, np.arange(seeds), estimator)
    plan = MixingPolicy.of("replace", n)
    ref_mean, ref_cov = reference_loop(original, plan, generations, estimator, rng)
    final_cov = trajectory.covariances[-1]
    assert stats.ks_2samp(np.log(final_cov[:, 0, 0]), np.log(ref_cov[:, 0, 0])).pvalue > 0.01
    assert stats.ks_2samp(trajectory.means[-1, :, 0], ref_mean[:, 0]).pvalue > 0.01
    np.testing.assert_allclose(trajectory.log_variances[-1, :, 0], np.log(final_cov[:, 0, 0]))


def test_replace_trajectory_generation_zero_and_prefix():
    original = np.random.default_rng(0).normal(size=(3, 10, 2))
    long = replace_trajectory(original, 10, 8, [0, 1, 2])
    short = replace_trajectory(original, 10, 4, [0, 1, 2])
    mean, cov = _fit(original, "mle")
    np.testing.assert_allclose(long.means[0], mean)
    np.testing.assert_allclose(long.covariances[0], cov)
    # A longer run extends a shorter one: the streams fill generation by generation.
    np.testing.assert_allclose(long.covariances[:5], short.covariances)


def test_simulate_gaussian_uses_the_trajectory_for_replace_only():
    original = np.random.default_rng(0).normal(size=(4, 12, 1))
    replace = list(simulate_gaussian(original, MixingPolicy.of("replace", 12), range(4), 3))
    trajectory = replace_trajectory(original, 12, 3, range(4))
    assert [g.generation for g in replace] == [0, 1, 2, 3]
    np.testing.assert_allclose(replace[3].covariances, trajectory.covariances[3])
    plan = MixingPolicy.of("keep_fraction", 12, gamma=0.25)
    kept = list(simulate_gaussian(original, plan, range(4), 3))
    *_, stepped = ExactGaussian(original, plan, range(4)).run(3)
    np.testing.assert_array_equal(kept[3].covariances, stepped.covariances)
