"""Projection: what several rounds of training on data like this would do to the tails.

A cheap proxy family (categorical / Gaussian mixture / word trigram) is fitted to a mix
of real and synthetic rows, and genloop's collapse loop (:func:`genloop.collapse.loop.run_seed`,
the same loop ``genloop run`` uses) refits it generation after generation under the user's
mixing policy (``keep_fraction=0.2``: each pool keeps 20 % of the starting mix). Each
generation's model samples are measured against the *real* data:

* categorical / text: the share of the real data's rare categories / words that the
  starting mix holds and generation g's samples still hold;
* vectors: the mass beyond the real 1 %/99 % quantiles (averaged over columns).

Generation 0 is an equal-size sample of the starting mix itself (the sampling floor). It
is a proxy: the user's own model is not this family, and the numbers say how fast tails
thin for a simple model on this data, not what a large model will do.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from genloop.audit.inputs import AuditData
from genloop.audit.splits import Finding, subsample
from genloop.audit.tails import column_tail_mass, item_counts
from genloop.collapse.policy import parse_mix
from genloop.core.errors import ConfigError
from genloop.metrics.text import rare_words

# The proxy family per kind, and its parameters.
FAMILIES = {
    "categorical": {"name": "categorical"},
    "vectors": {"name": "gmm", "n_components": 5, "reg_covar": 1e-4},
    "text": {"name": "ngram", "order": 3},
}
TEXT_BLOCK_TOKENS = 32


def check_projection(mix, generations, synthetic_share) -> None:
    """Validate the projection's settings (one-line ConfigError naming the bad one)."""
    from pydantic import ValidationError

    from genloop.collapse.policy import MixingConfig
    from genloop.core.config import format_validation_error

    try:
        MixingConfig(**parse_mix(mix))
    except ValidationError as error:
        message = format_validation_error(error, MixingConfig, "mixing.")
        raise ConfigError(f"--mix {mix!r}: {message}") from None
    if not 0.0 <= synthetic_share <= 1.0:
        raise ConfigError(f"synthetic_share must lie in [0, 1], got {synthetic_share!r}")
    if isinstance(generations, bool) or not isinstance(generations, int) or generations < 1:
        raise ConfigError(f"generations must be a positive integer, got {generations!r}")


@dataclass
class Projection:
    """Per seed and generation, the projected tail measure.

    Attributes
    ----------
    table : DataFrame
        ``seed, generation, value``; generation 0 is the starting mix.
    measure : str
        What ``value`` is (e.g. ``rare words kept``).
    config : dict
        The collapse recipe that ran (its ``source.path`` was a temporary file).
    """

    table: pd.DataFrame
    measure: str
    config: dict

    def finding(self) -> Finding:
        last = int(self.table["generation"].max())
        end = self.table[self.table["generation"] == last]["value"]
        start = self.table[self.table["generation"] == 0]["value"]
        spread = float(end.std(ddof=1)) if len(end) > 1 else float("nan")
        family = self.config["family"]["name"]
        policy = self.config["mixing"]["policy"]
        if self.measure.startswith("mass"):
            what = f"the tail mass goes from {start.mean():.1%} to {end.median():.1%}"
        else:
            what = (f"{end.median():.0%} of the real rare items in the starting mix are still "
                    f"written (start: {start.mean():.0%})")
        reading = (f"PROXY, not a forecast for your model: a {family} model refitted "
                   f"{last} times ({policy}) — {what}")
        drop = start.mean() - end.median()
        if self.measure.startswith("mass"):  # lost or inflated tails are both a change
            drop = abs(drop)
        # Relative change of the start's value: under 10 % ok, under 50 % warn.
        status = "ok" if drop < 0.1 * max(start.mean(), 1e-9) else (
            "warn" if drop < 0.5 * start.mean() else "bad")
        return Finding("projection", f"{self.measure} after {last} generations",
                       float(end.median()), float(start.mean()), spread, reading, status)


def project(real: AuditData, synthetic: AuditData, mix="keep_fraction=0.2",
            generations: int = 10, seeds=(0, 1, 2), synthetic_share: float = 0.5,
            max_rows: int = 2000, quantile: float = 0.5, seed: int = 0) -> Projection:
    """Run the proxy loop forward from a real + synthetic mix (see the module docstring).

    Parameters
    ----------
    real, synthetic : AuditData
    mix : str or dict
        The mixing policy of later generations (:func:`parse_mix`).
    generations : int
        Generations after the first fit.
    seeds : sequence of int
    synthetic_share : float
        Share of synthetic rows in the starting mix (0 ≤ share ≤ 1).
    max_rows : int
        Rows in the starting mix (at most).
    quantile : float
        Rare items: count at most this quantile of the real counts.
    seed : int
        Seeds the choice of the starting mix's rows.

    Returns
    -------
    Projection
    """
    check_projection(mix, generations, synthetic_share)
    rng = np.random.default_rng([seed, 7])
    start = _starting_mix(real, synthetic, synthetic_share, max_rows, rng)
    with tempfile.TemporaryDirectory(prefix="genloop-audit-") as folder:
        source, decode_to_rows, n, start_units = _write_source(start, Path(folder))
        config = {"name": "audit-projection", "bench": "collapse", "seeds": list(seeds),
                  "family": FAMILIES[real.kind], "source": source, "n": n,
                  "generations": generations, "holdout": 0, "mixing": parse_mix(mix),
                  "metrics": [], "engine": "samples", "checkpoint_seconds": 0}
        samples = _run(config, Path(folder), decode_to_rows)
        measure, score = _scorer(real, start, quantile)
        rows = []
        for seed_value, per_generation in samples.items():
            # Generation 0: the mix itself, at the size of a generation's samples.
            size = len(per_generation[0])
            floor = np.random.default_rng([seed, seed_value]).permutation(len(start_units))
            rows.append({"seed": seed_value, "generation": 0,
                         "value": score(start_units[np.sort(floor[:size])])})
            rows += [{"seed": seed_value, "generation": g + 1, "value": score(x)}
                     for g, x in sorted(per_generation.items())]
    config["source"] = dict(config["source"], path="<the starting mix>")
    return Projection(pd.DataFrame(rows), measure, config)


def _starting_mix(real, synthetic, share, max_rows, rng) -> AuditData:
    """``max_rows`` rows at most, ``share`` of them synthetic (as many as both sides allow)."""
    limits = [max_rows]
    if share < 1:
        limits.append(len(real) / (1 - share))
    if share > 0:
        limits.append(len(synthetic) / share)
    n = int(min(limits))
    n_synthetic = int(round(share * n))
    parts = [subsample(real, n - n_synthetic, rng).rows,
             subsample(synthetic, n_synthetic, rng).rows]
    rows = np.concatenate([p for p in parts if len(p)])
    return AuditData("starting mix", real.kind, rows[rng.permutation(len(rows))], real.columns)


def _write_source(start: AuditData, folder: Path):
    """The starting mix as a data file: its source spec, a decoder of samples, the pool
    size n, and the mix itself in the units the model samples (text: decoded blocks)."""
    if start.kind == "vectors":
        path = folder / "mix.npy"
        np.save(path, start.rows)
        return {"name": "file", "path": str(path)}, np.asarray, len(start), start.rows
    if start.kind == "categorical":
        # Integer codes, not the values: a CSV reader would turn "007" into 7.
        values, codes = np.unique(start.rows, return_inverse=True)
        path = folder / "mix.csv"
        pd.DataFrame({"code": codes}).to_csv(path, index=False)

        def decode(X):
            # Every code occurs in the file, so the source's states are the codes.
            return values[np.asarray(X, dtype=np.int64).ravel()]

        spec = {"name": "file", "path": str(path), "kind": "categorical"}
        return spec, decode, len(start), start.rows
    from genloop.data.text import TextFileSource

    path = folder / "mix.txt"
    path.write_text("\n".join(" ".join(str(t).split()) for t in start.rows) + "\n",
                    encoding="utf-8")
    spec = {"name": "text", "path": str(path), "tokenizer": "word",
            "block_size": TEXT_BLOCK_TOKENS}
    text_source = TextFileSource(str(path), "word", TEXT_BLOCK_TOKENS)
    n_blocks = len(text_source.blocks)
    if n_blocks < 4:
        raise ConfigError(f"the starting mix holds {n_blocks} blocks of {TEXT_BLOCK_TOKENS} "
                          "tokens; the projection needs more text")

    def decode_text(X):
        return np.array([text_source.decode(block) for block in X], dtype=object)

    return spec, decode_text, n_blocks, decode_text(text_source.blocks)


def _run(config: dict, folder: Path, decode) -> dict[int, dict[int, np.ndarray]]:
    """Each seed's model samples per generation, through the collapse loop's curation hook."""
    from genloop.collapse.loop import run_seed
    from genloop.core.bench import SeedContext
    from genloop.core.config import resolve

    recipe = resolve(config)
    samples: dict[int, dict[int, np.ndarray]] = {}
    for seed_value in recipe.seeds:
        captured: dict[int, np.ndarray] = {}

        def capture(candidates, generation, captured=captured):
            captured[generation] = decode(candidates.X)
            return candidates

        artifacts = folder / f"seed{seed_value}"
        artifacts.mkdir()
        context = SeedContext(seed=seed_value, log=lambda g, values: None, artifact_dir=artifacts)
        # Generations 0..G-1 sample candidates (generation G's model is only fitted), so
        # the captured sets are the training data of generations 1..G.
        run_seed(recipe.config, context, curate=capture)
        samples[seed_value] = captured
    return samples


def _scorer(real: AuditData, start: AuditData, quantile: float):
    """(measure name, score function of sample rows) for the real data's kind."""
    if real.kind == "vectors":
        def score_vectors(rows):
            mass, informative = column_tail_mass(real.rows, np.asarray(rows, dtype=float))
            keep = informative if informative.any() else np.ones_like(informative)
            return float(mass[keep].mean())

        return "mass beyond real 1%/99% quantiles", score_vectors
    rare = rare_words(item_counts(real.rows, real.kind), quantile)
    at_stake = rare & set(item_counts(start.rows, real.kind))
    unit = "categories" if real.kind == "categorical" else "words"

    def score_items(rows):
        present = set(item_counts(np.asarray(rows), real.kind))
        return len(at_stake & present) / len(at_stake) if at_stake else 1.0

    return f"rare {unit} kept", score_items
