"""Gaussian refitting under replace: the exact path vs the sample-level loop.

    python benchmarks/gaussian_exact.py [--quick] [--dim 1]

Protocol (issue 3): n = 10,000 samples per generation, 1,000 generations, 100 seeds, MLE.
The exact path simulates all seeds and generations at once (``replace_trajectory``, the
whole-run recursion used by ``simulate_gaussian`` for ``replace``) and computes the
log-variance of every generation (best of 3 runs); the per-generation iterator
(``simulate_gaussian``) is timed too.
The sample-level loop is what a researcher writes per seed: draw n points from the
current fit, refit mean and variance. It is timed on a few seeds and generations and
scaled linearly to the full protocol (its cost per seed-generation is constant).
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import best_of, machine_summary, report, timed
from scipy.special import digamma

from genloop.collapse.fast import limited_threads, replace_trajectory, simulate_gaussian
from genloop.collapse.policy import MixingPolicy


def exact_path(original, n, generations):
    """All generations of all seeds at once; log-variance of the first coordinate."""
    trajectory = replace_trajectory(original, n, generations, np.arange(original.shape[0]))
    return trajectory.log_variances[..., 0]


def exact_iterator(original, n, generations):
    """The same through the per-generation iterator the run store consumes."""
    plan = MixingPolicy.of("replace", n)
    seeds = np.arange(original.shape[0])
    log_variance = np.empty((generations + 1, original.shape[0]))
    for fitted in simulate_gaussian(original, plan, seeds, generations):
        log_variance[fitted.generation] = np.log(fitted.covariances[:, 0, 0])
    return log_variance


def sample_level(original, n, generations, seed):
    """One seed, the usual way: sample, refit, repeat."""
    rng = np.random.default_rng(seed)
    d = original.shape[1]
    mean, cov = original.mean(axis=0), np.cov(original.T, bias=True).reshape(d, d)
    log_variance = np.empty(generations + 1)
    log_variance[0] = np.log(cov[0, 0])
    for generation in range(1, generations + 1):
        if d == 1:
            x = rng.normal(mean[0], np.sqrt(cov[0, 0]), size=(n, 1))
        else:
            x = rng.multivariate_normal(mean, cov, size=n)
        mean, cov = x.mean(axis=0), np.cov(x.T, bias=True).reshape(d, d)
        log_variance[generation] = np.log(cov[0, 0])
    return log_variance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller protocol, seconds")
    parser.add_argument("--dim", type=int, default=1, help="dimension d (default 1)")
    args = parser.parse_args()
    seeds, n, generations = (20, 10_000, 100) if args.quick else (100, 10_000, 1_000)
    base_seeds, base_generations = (1, 20) if args.quick else (3, 100)

    print(machine_summary())
    rng = np.random.default_rng(0)
    original = rng.normal(size=(seeds, n, args.dim))
    with limited_threads(1):
        exact, exact_seconds = best_of(3, exact_path, original, n, generations)
        _, iterator_seconds = best_of(3, exact_iterator, original, n, generations)
        _, base_seconds = timed(
            lambda: [sample_level(original[s], n, base_generations, s) for s in range(base_seeds)]
        )
    per_seed_generation = base_seconds / (base_seeds * base_generations)
    scaled = per_seed_generation * seeds * generations
    change = exact[-1] - exact[0]
    report(
        f"Gaussian replace, d={args.dim}, n={n}, {generations} generations, {seeds} seeds",
        [
            ("exact path (all seeds, all generations)", f"{exact_seconds:.3f} s"),
            ("exact path through the per-generation iterator", f"{iterator_seconds:.3f} s"),
            (
                "sample-level loop, measured",
                f"{base_seconds:.3f} s for {base_seeds} seed(s) "
                f"x {base_generations} generations ({per_seed_generation * 1e3:.3f} ms each)",
            ),
            ("sample-level loop, scaled to the protocol", f"{scaled:.1f} s"),
            ("speed-up (scaled sample-level / exact)", f"{scaled / exact_seconds:,.0f}x"),
            ("speed-up through the iterator", f"{scaled / iterator_seconds:,.0f}x"),
            (
                "mean log-variance change, exact",
                f"{change.mean():+.4f} (+-{change.std() / np.sqrt(seeds):.4f})",
            ),
            (
                "theory t*(psi((n-1)/2) + ln(2/n))",
                f"{generations * (digamma((n - 1) / 2) + np.log(2 / n)):+.4f}",
            ),
        ],
    )


if __name__ == "__main__":
    main()
