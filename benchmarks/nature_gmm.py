"""A GMM collapse loop (nature-gmm's ``two-blobs`` variant): batched EM for 100 seeds vs sklearn.

    python benchmarks/nature_gmm.py [--quick] [--generations G]

Protocol (after Shumailov et al., Nature 2024; issue 3): N = 1,000 points, a 2-component
full-covariance Gaussian mixture fitted by EM (k-means initialisation, tol 1e-3,
reg_covar 1e-6), then N points sampled from the fit become the next generation's data,
for 2,050 generations. Truth: the ``nature-gmm`` recipe's ``two-blobs`` variant (weights
0.5/0.5, means (-2, 0) and (2, 0), unit covariances). This is NOT the paper's exact
protocol: the authors' notebook fits one blob N(0, I) with tol=1e-5, max_iter=2000 (the
recipe's ``paper`` variant); timings here are for the two-blob setup.

* batched: ``BatchedGaussianMixture`` fits all 100 seeds at once, ``sample`` draws the
  next data; one random stream per generation. Timed over the whole run.
* sklearn, the notebook's loop with sklearn's default tol: per seed, ``GaussianMixture(2).fit(X)``
  then ``X, _ = gmm.sample(N)``, with the default BLAS/OpenMP threading. Timed on one
  seed for a few generations at the start and again from the batched run's last
  generation (collapsed data), and scaled to 2,050 generations. The same loop with one
  thread (``threadpoolctl``) is timed too, since that is the first fix anyone tries.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from _common import machine_summary, report, timed
from threadpoolctl import threadpool_limits

from genloop.collapse.fast import BatchedGaussianMixture, batch_key, limited_threads
from genloop.collapse.fast.streams import batch_generator

WEIGHTS = np.array([0.5, 0.5])
MEANS = np.array([[-2.0, 0.0], [2.0, 0.0]])


def original_data(seeds: int, n: int, rng) -> np.ndarray:
    labels = rng.random((seeds, n)) >= WEIGHTS[0]
    return MEANS[labels.astype(int)] + rng.standard_normal((seeds, n, 2))


def batched_run(X, generations):
    """All seeds: fit, sample, repeat. Returns the last data and the component std."""
    key = batch_key(np.arange(X.shape[0]))
    model = BatchedGaussianMixture(2, covariance_type="full")
    for generation in range(generations):
        rng = batch_generator(key, generation, "gmm")
        model.fit(X, random_state=rng)
        X, _ = model.sample(X.shape[1], rng)
    std = np.sqrt(np.linalg.eigvalsh(model.covariances_)).mean(axis=(1, 2))
    return X, std


def sklearn_loop(X, generations):
    """One seed, the notebook's way."""
    from sklearn.mixture import GaussianMixture

    for _ in range(generations):
        gmm = GaussianMixture(n_components=2, covariance_type="full").fit(X)
        X, _ = gmm.sample(len(X))
    return X


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 generations, seconds")
    parser.add_argument("--generations", type=int, default=None)
    args = parser.parse_args()
    seeds, n = 100, 1000
    generations = args.generations or (50 if args.quick else 2050)
    base_generations = 4 if args.quick else 12

    print(machine_summary())
    X0 = original_data(seeds, n, np.random.default_rng(0))
    with limited_threads(1):
        (last, std), batched_seconds = timed(batched_run, X0, generations)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning on collapsed data
        _, start_default = timed(sklearn_loop, X0[0], base_generations)
        _, late_default = timed(sklearn_loop, last[0], base_generations)
        with threadpool_limits(1):
            _, start_one = timed(sklearn_loop, X0[0], base_generations)
            _, late_one = timed(sklearn_loop, last[0], base_generations)
    per_gen_default = (start_default + late_default) / (2 * base_generations)
    per_gen_one = (start_one + late_one) / (2 * base_generations)
    sklearn_default = per_gen_default * generations
    sklearn_one = per_gen_one * generations
    batched_rate = seeds * generations / batched_seconds
    report(
        f"Nature GMM, N={n}, 2 components, full covariance, {generations} generations",
        [
            (
                f"batched EM, {seeds} seeds (whole run)",
                f"{batched_seconds:.1f} s "
                f"({batched_seconds / generations * 1e3:.1f} ms per generation)",
            ),
            (
                "sklearn, 1 seed, default threads",
                f"{per_gen_default * 1e3:.1f} ms per generation "
                f"(start {start_default / base_generations * 1e3:.1f}, "
                f"collapsed {late_default / base_generations * 1e3:.1f}) "
                f"-> {sklearn_default:.1f} s",
            ),
            (
                "sklearn, 1 seed, 1 thread",
                f"{per_gen_one * 1e3:.1f} ms per generation -> {sklearn_one:.1f} s",
            ),
            (
                f"wall time: {seeds} seeds batched / 1 seed sklearn (default threads)",
                f"{batched_seconds / sklearn_default:.3f}",
            ),
            (
                "throughput ratio (seed-generations/s), vs default threads",
                f"{batched_rate * per_gen_default:,.0f}x",
            ),
            (
                "throughput ratio (seed-generations/s), vs 1 thread",
                f"{batched_rate * per_gen_one:,.1f}x",
            ),
            ("median component std, generation 0 -> last", f"1.00 -> {np.median(std):.3g}"),
        ],
    )


if __name__ == "__main__":
    main()
