"""What provenance and curation cost: the sample loop with the ledger off, on, and with filters.

    python benchmarks/provenance_overhead.py [--quick]

Protocol: the same collapse runs three ways in one process, one after the other, each
best of ``--repeats``:

* GMM (2-D, 2 components, n = 1,000 rows per pool, 30 generations, 2 seeds, keep 10%):
  ``ledger: off`` (the baseline: what every run paid before provenance existed),
  ``ledger: on`` (per generation: content hashes of every row, the pool and ledger
  Parquet files and the hash-chained manifest), and ``ledger: on`` plus a
  ``dedup`` + ``isolation`` pipeline under ``fresh`` 50% with ``curate: incoming``.
* Word trigram on two Shakespeare plays (n = 300 blocks of 64 words, 5 generations,
  1 seed): ledger off, on, and on with near-duplicate ``dedup`` (MinHash LSH).

Prints seconds and the ratio to the ``ledger: off`` run of the same world.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _common import best_of, machine_summary, report

import genloop

GMM = {
    "name": "bench-provenance-gmm",
    "bench": "collapse",
    "family": {"name": "gmm", "n_components": 2},
    "source": {"name": "gmm"},
    "n": 1000,
    "generations": 30,
    "holdout": 500,
    "engine": "samples",
    "mixing": {"policy": "keep_fraction", "fraction": 0.1},
    "metrics": ["tail_mass"],
}

TEXT = {
    "name": "bench-provenance-text",
    "bench": "collapse",
    "family": {"name": "ngram", "order": 3},
    "source": {"name": "shakespeare", "tokenizer": "word", "block_size": 64,
               "plays": ["macbeth", "othello"]},
    "n": 300,
    "generations": 5,
    "holdout": 50,
    "metrics": ["heldout_perplexity"],
}


def run_once(recipe: dict, seeds: int, root: Path, overrides: dict) -> None:
    out = Path(tempfile.mkdtemp(dir=root))
    genloop.run(recipe, seeds=range(seeds), overrides=overrides, out=out / "run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (seconds)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    gmm_generations, text_generations = (8, 2) if args.quick else (30, 5)
    print(machine_summary())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        worlds = [
            ("GMM", {**GMM, "generations": gmm_generations}, 2, [
                ("ledger off", {"ledger": "off"}),
                ("ledger on", {"ledger": "on"}),
                ("ledger on + dedup, isolation (fresh 50%, incoming)",
                 {"ledger": "on", "mixing.policy": "fresh", "mixing.fraction": 0.5,
                  "curate": "incoming",
                  "curation": [{"name": "dedup"}, {"name": "isolation", "max_share": 0.5}]}),
            ]),
            ("word trigram", {**TEXT, "generations": text_generations}, 1, [
                ("ledger off", {"ledger": "off"}),
                ("ledger on", {"ledger": "on"}),
                ("ledger on + near-duplicate dedup",
                 {"ledger": "on", "curation": [{"name": "dedup", "near": True}]}),
            ]),
        ]
        for title, recipe, seeds, settings in worlds:
            rows, baseline = [], None
            for label, overrides in settings:
                _, seconds = best_of(args.repeats, run_once, recipe, seeds, root, overrides)
                baseline = baseline or seconds
                rows.append((label, f"{seconds:7.2f} s   × {seconds / baseline:.2f}"))
            report(f"{title}: {recipe['generations']} generations, {seeds} seed(s)", rows)


if __name__ == "__main__":
    main()
