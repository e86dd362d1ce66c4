"""Recursive categorical fitting (replace): the exact path vs the sample-level loop.

    python benchmarks/categorical_exact.py [--quick]

Protocol (issue 3): K = 10,000 Zipf states (p_i proportional to 1/(i+1)), M = 100,000
samples per generation, 100 seeds, until absorption or 1,000 generations; every
generation computes each seed's support size and entropy.

The exact path (``ExactCategorical``) draws next counts ~ Multinomial(M, counts / M) for
all seeds in one call, over each seed's live states only. The sample-level loop is what
a researcher writes per seed: ``rng.choice(K, M, p=p_hat)`` then ``np.bincount``. Its
cost per seed-generation barely depends on the live support (it always draws M samples
over K states), so it is timed on a few seeds at the start of the run and again from the
exact path's last generation, and the mean is scaled to the protocol.
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import machine_summary, report, timed

from genloop.collapse.fast import ExactCategorical, limited_threads
from genloop.collapse.policy import MixingPolicy


def entropy_of_counts(counts, total):
    p = counts / total[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=1)


def exact_path(original_counts, m, generations):
    seeds = original_counts.shape[0]
    simulator = ExactCategorical(
        original_counts, MixingPolicy.of("replace", m), np.arange(seeds)
    )
    support, entropy, width = [], [], []
    for fitted in simulator.run(generations, stop_when_absorbed=True):
        support.append(fitted.support_size)
        entropy.append(entropy_of_counts(fitted.counts, fitted.pool_size))
        width.append(fitted.counts.shape[1])
    return np.array(support), np.array(entropy), np.array(width), fitted


def sample_level(counts, m, generations, seed):
    """One seed, the usual way: sample M states from the fit, count, repeat."""
    rng = np.random.default_rng(seed)
    k = counts.shape[0]
    support, entropy = [], []
    for _ in range(generations):
        p_hat = counts / counts.sum()
        counts = np.bincount(rng.choice(k, size=m, p=p_hat), minlength=k)
        support.append(np.count_nonzero(counts))
        entropy.append(entropy_of_counts(counts[None], np.array([m]))[0])
        if support[-1] == 1:
            break
    return support, entropy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller protocol, seconds")
    args = parser.parse_args()
    k, m = 10_000, 100_000
    seeds, generations = (10, 100) if args.quick else (100, 1_000)
    base_seeds, base_generations = (1, 5) if args.quick else (2, 25)

    print(machine_summary())
    rng = np.random.default_rng(0)
    truth = 1.0 / np.arange(1, k + 1)
    truth /= truth.sum()
    original = rng.multinomial(m, truth, size=seeds)
    with limited_threads(1):
        (support, _, width, last), exact_seconds = timed(exact_path, original, m, generations)
        _, start_seconds = timed(
            lambda: [sample_level(original[s], m, base_generations, s) for s in range(base_seeds)]
        )
        late = last.dense_counts()
        _, late_seconds = timed(
            lambda: [sample_level(late[s], m, base_generations, s) for s in range(base_seeds)]
        )
    ran = len(support) - 1
    per_seed_generation = (start_seconds + late_seconds) / (2 * base_seeds * base_generations)
    scaled = per_seed_generation * seeds * ran
    marks = sorted({1, min(10, ran), ran // 2, ran})
    report(
        f"Categorical replace, K={k} Zipf, M={m}, {seeds} seeds, {ran} generations",
        [
            ("exact path (all seeds, whole run)", f"{exact_seconds:.2f} s"),
            (
                "sample-level loop, measured",
                f"{start_seconds:.2f} s at the start + "
                f"{late_seconds:.2f} s at the end, {base_seeds} seed(s) x {base_generations} "
                f"generations each ({per_seed_generation * 1e3:.2f} ms per seed-generation)",
            ),
            ("sample-level loop, scaled to the protocol", f"{scaled:.1f} s"),
            ("speed-up (scaled sample-level / exact)", f"{scaled / exact_seconds:,.1f}x"),
            ("exact cost per seed-generation", f"{exact_seconds / (seeds * ran) * 1e3:.3f} ms"),
            (
                "mean live states at generations " + ", ".join(map(str, marks)),
                ", ".join(f"{support[g].mean():.0f}" for g in marks),
            ),
            (
                "packed width (max live states) at the same generations",
                ", ".join(str(width[g]) for g in marks),
            ),
            ("absorbed seeds", f"{int(np.sum(last.absorbed_at >= 0))} of {seeds}"),
        ],
    )


if __name__ == "__main__":
    main()
