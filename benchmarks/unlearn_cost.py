"""What unlearning costs: `genloop unlearn` against the full rerun it replaces.

    python benchmarks/unlearn_cost.py [--quick]

Protocol: one finished GMM run on the sample loop with a ledger (2-D, 2 components,
n = 1,000 rows per pool, G = 40 generations, 4 seeds, keep 10%). For a row that first
enters seed 0's pool at generation p (a real record of the original data: p = 0; a
sample of generation p − 1's model), in one process one after the other:

* the peer: a full rerun of the recipe with ``forget: [row]`` — what a user without
  reuse runs (every unit, every generation);
* ``genloop unlearn``: copies the three units the row never reached, resumes seed 0 at
  generation p − 1 (membership scores off, as they are not part of the rerun).

Both give the same bytes (tests/collapse/test_unlearn.py). Prints seconds, the ratio,
and the analytic limit: the share of unit-generations that must be recomputed,
``(G + 2 − p) / (S · (G + 1))`` for p ≥ 1 (``1 / S`` for p = 0), whose inverse bounds the
speed-up when copying costs nothing.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
from _common import machine_summary, timed

import genloop

RECIPE = {
    "name": "bench-unlearn",
    "bench": "collapse",
    "family": {"name": "gmm", "n_components": 2},
    "source": {"name": "gmm"},
    "n": 1000,
    "generations": 40,
    "holdout": 500,
    "engine": "samples",
    "ledger": "on",
    "mixing": {"policy": "keep_fraction", "fraction": 0.1},
    "metrics": ["tail_mass", "component_std"],
}


def row_entering(run: Path, generation: int) -> str:
    """A row of seed 0 that first enters the pool of ``generation``."""
    folder = run / "ledger" / "default__seed000000"
    pool = pd.read_parquet(folder / f"gen{generation:05d}.pool.parquet")
    if generation == 0:
        return str(pool.sample_id.iloc[0])
    made = pool[pool.origin == f"gen:{generation - 1}"]
    return str(made.sample_id.iloc[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="G = 10, n = 300, 2 seeds")
    args = parser.parse_args()
    recipe = dict(RECIPE)
    seeds = 4
    if args.quick:
        recipe |= {"generations": 10, "n": 300, "holdout": 200}
        seeds = 2
    last = recipe["generations"]
    print(machine_summary())
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        old = genloop.run(recipe, seeds=range(seeds), out=root / "old").path
        print(f"{'enters pool':>12} {'full rerun s':>13} {'unlearn s':>10} {'speed-up':>9} "
              f"{'recomputed':>11} {'limit':>7}")
        for enters in (0, last // 2, last):
            row = row_entering(old, enters)
            _, full = timed(genloop.run, recipe, seeds=range(seeds),
                            overrides={"forget": [row]}, out=root / f"full{enters}")
            result, seconds = timed(genloop.unlearn, old, samples=[row],
                                    out=root / f"unlearn{enters}", membership_check=False)
            share = result.generations_rerun / result.generations_total
            print(f"{enters:>12} {full:>13.2f} {seconds:>10.2f} {full / seconds:>8.1f}x "
                  f"{share:>10.1%} {1 / share:>6.1f}x")


if __name__ == "__main__":
    main()
