"""Memorisation: synthetic rows that copy (or nearly copy) real rows.

* exact copies — content hashes (:mod:`genloop.provenance.hashing`) of synthetic rows found
  among the reference real rows; the baseline is the rate at which other real rows repeat
  reference rows (real data has its own duplicates);
* near copies (text) — MinHash-LSH pairs with estimated Jaccard ≥ 0.8 over word 3-shingles
  (:func:`genloop.curation.near_duplicates.near_duplicate_pairs`);
* distance to closest record (DCR) — in the fidelity feature space, the distance of each
  synthetic row to its nearest reference row, against the same for baseline real rows. A
  generator that copies puts many rows closer to the real data than real rows are to each
  other: "too close" is the share of synthetic rows nearer than the baseline's 5 % DCR
  quantile (5 % expected; binomial sampling error).

A single categorical column repeats by nature, so categorical data gets no memorisation
measures.
"""

from __future__ import annotations

import numpy as np

from genloop.audit.fidelity import FeatureSpace, split_space
from genloop.audit.inputs import AuditData
from genloop.audit.splits import Finding, Split, status_of, summarise

TOO_CLOSE_QUANTILE = 0.05
NEAR_DUPLICATE_THRESHOLD = 0.8


def copied_share(query: np.ndarray, reference: np.ndarray) -> float:
    """Share of ``query`` rows whose content hash occurs among ``reference`` rows."""
    from genloop.curation.near_duplicates import exact_matches
    from genloop.provenance.hashing import content_hashes

    if not len(query):
        return 0.0
    return float(np.mean(exact_matches(content_hashes(query), content_hashes(reference))))


def near_copied_share(query: np.ndarray, reference: np.ndarray, seed: int = 1) -> float:
    """Share of ``query`` texts with a near duplicate (Jaccard ≥ 0.8) among ``reference``."""
    from genloop.curation.near_duplicates import near_duplicate_pairs

    if not len(query):
        return 0.0
    pairs = near_duplicate_pairs(list(query), list(reference),
                                 threshold=NEAR_DUPLICATE_THRESHOLD, seed=seed)
    return len({q for q, _, _ in pairs}) / len(query)


def closest_distances(space: FeatureSpace, reference: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Distance of each row to its nearest reference row in ``space``, shape ``(m,)``."""
    from sklearn.neighbors import NearestNeighbors

    index = NearestNeighbors(n_neighbors=1).fit(space.transform(reference))
    return index.kneighbors(space.transform(rows))[0][:, 0]


def memorisation_findings(splits: list[Split], kind: str,
                          holdout: AuditData | None, synthetic: AuditData
                          ) -> tuple[list[Finding], dict]:
    """Exact copies, near copies (text) and DCR over the splits; the first split's DCRs."""
    if kind == "categorical":
        reading = "not measured: one categorical column repeats by nature"
        return [Finding("memorisation", "copies", np.nan, np.nan, np.nan, reading)], {}
    exact, near, too_close, median_ratio = [], [], [], []
    details: dict = {}
    for split in splits:
        reference = split.reference.rows
        exact.append((copied_share(split.synthetic.rows, reference),
                      copied_share(split.baseline.rows, reference)))
        if kind == "text":
            near.append((near_copied_share(split.synthetic.rows, reference),
                         near_copied_share(split.baseline.rows, reference)))
        space = split_space(split, kind)
        synthetic_dcr = closest_distances(space, reference, split.synthetic.rows)
        baseline_dcr = closest_distances(space, reference, split.baseline.rows)
        cut = np.quantile(baseline_dcr, TOO_CLOSE_QUANTILE)
        too_close.append((float(np.mean(synthetic_dcr < cut)), TOO_CLOSE_QUANTILE))
        median_ratio.append((float(np.median(synthetic_dcr)), float(np.median(baseline_dcr))))
        if not details:
            details = {"synthetic_dcr": synthetic_dcr, "baseline_dcr": baseline_dcr}
    found = []
    s, r, e = summarise(exact)
    found.append(Finding(
        "memorisation", "exact copies of real rows", s, r, e,
        f"{s:.1%} of synthetic rows are exact copies of real rows (real rows repeat each "
        f"other at {r:.1%})", status_of(s, r, e, higher_is_better=False, floor=0.005)))
    if near:
        s, r, e = summarise(near)
        found.append(Finding(
            "memorisation", "near copies of real texts", s, r, e,
            f"{s:.1%} of synthetic texts nearly copy a real text (word-shingle Jaccard ≥ "
            f"{NEAR_DUPLICATE_THRESHOLD}); real texts: {r:.1%}",
            status_of(s, r, e, higher_is_better=False, floor=0.005)))
    s = float(np.mean([a for a, _ in too_close]))
    n = len(splits[0].synthetic)
    e = float(np.sqrt(TOO_CLOSE_QUANTILE * (1 - TOO_CLOSE_QUANTILE) / max(1, n)))
    found.append(Finding(
        "memorisation", "rows closer to real than real rows are", s, TOO_CLOSE_QUANTILE, e,
        f"{s:.1%} of synthetic rows sit closer to a real row than 95% of real rows do "
        f"(5% expected; copying, or rows crowding the densest real regions)",
        status_of(s, TOO_CLOSE_QUANTILE, e, higher_is_better=False)))
    s, r, e = summarise(median_ratio)
    found.append(Finding(
        "memorisation", "median distance to closest real row", s, r, e,
        f"median distance to the closest real row: {s:.3g} for synthetic rows, {r:.3g} for "
        f"real rows"))
    if holdout is not None:
        share = copied_share(synthetic.rows, holdout.rows)
        found.append(Finding(
            "memorisation", "exact copies of holdout rows", share, np.nan, np.nan,
            f"{share:.1%} of synthetic rows exactly equal a holdout row (the generator "
            f"never saw these: copies mean leakage or natural repeats)",
            "warn" if share > 0.01 else "ok"))
        if kind == "text":
            share = near_copied_share(synthetic.rows, holdout.rows)
            found.append(Finding(
                "memorisation", "near copies of holdout texts", share, np.nan, np.nan,
                f"{share:.1%} of synthetic texts nearly copy a holdout text (leakage, or "
                f"texts that repeat in real data)", "warn" if share > 0.01 else "ok"))
    return found, details
