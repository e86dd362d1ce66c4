"""The audit's yardstick: every measure is also taken on real data the synthetic set never saw.

A measure such as "rare words kept" or "recall" is not 1 even for a second sample of real
data (a word seen once in one sample is often absent from another). So each measure is
taken twice per split and compared:

* ``reference``: real rows that define what counts (rare items, quantiles, k-NN radii);
* ``baseline``: other real rows, never in the reference (the holdout when given, else the
  other half of a random split of the real data);
* ``synthetic``: synthetic rows, subsampled to the baseline's size (or the baseline cut
  to the synthetic size) so both are measured at the same sample size.

The spread of the baseline's value over several seeded splits is the stated sampling
error of a measure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genloop.audit.inputs import AuditData
from genloop.core.errors import DataError


@dataclass
class Split:
    """One seeded split: reference and baseline real rows, equal-sized synthetic rows."""

    reference: AuditData
    baseline: AuditData
    synthetic: AuditData
    seed: int


def subsample(data: AuditData, n: int, rng: np.random.Generator) -> AuditData:
    """``n`` rows drawn without replacement, in their original order."""
    if n >= len(data):
        return data
    return data.take(np.sort(rng.choice(len(data), n, replace=False)))


def make_splits(real: AuditData, synthetic: AuditData, holdout: AuditData | None,
                n_splits: int, seed: int, max_rows: int) -> list[Split]:
    """``n_splits`` seeded splits (see the module docstring).

    Parameters
    ----------
    real, synthetic : AuditData
    holdout : AuditData or None
        Real rows kept out of the synthetic generator's training; the baseline when given.
    n_splits : int
    seed : int
    max_rows : int
        Cap on the rows of each part (the k-NN and classifier costs grow with it).

    Returns
    -------
    list of Split
    """
    if holdout is None and len(real) < 4:
        raise DataError(f"real data {real.name} has {len(real)} rows; the audit needs >= 4")
    splits = []
    for index in range(n_splits):
        rng = np.random.default_rng([seed, index])
        if holdout is not None:
            reference, baseline = subsample(real, max_rows, rng), holdout
        else:
            order = rng.permutation(len(real))
            half = len(real) // 2
            reference = real.take(np.sort(order[:half]))
            baseline = real.take(np.sort(order[half:2 * half]))
            reference = subsample(reference, max_rows, rng)
        size = min(len(baseline), len(synthetic), max_rows)
        splits.append(Split(reference, subsample(baseline, size, rng),
                            subsample(synthetic, size, rng), seed * 1000 + index))
    return splits


@dataclass
class Finding:
    """One measured quantity, on synthetic data and on the real baseline.

    Attributes
    ----------
    section : str
        ``tails``, ``fidelity``, ``detectability``, ``memorisation`` or ``projection``.
    measure : str
    synthetic : float
        Mean over splits of the value on synthetic rows.
    real : float
        Mean over splits of the value on the real baseline (what "no loss" looks like).
    error : float
        Sampling error: standard deviation over splits of the baseline value (or the
        half-width of a stated interval, e.g. the detector's bootstrap).
    reading : str
        One line for a non-specialist.
    status : {"ok", "warn", "bad", "info"}
    """

    section: str
    measure: str
    synthetic: float
    real: float
    error: float
    reading: str
    status: str = "info"


def summarise(values: list[tuple[float, float]]) -> tuple[float, float, float]:
    """(mean synthetic, mean baseline, sd of the baseline) over splits' value pairs."""
    array = np.asarray(values, dtype=float)
    spread = float(array[:, 1].std(ddof=1)) if len(array) > 1 else float("nan")
    return float(array[:, 0].mean()), float(array[:, 1].mean()), spread


def status_of(synthetic: float, real: float, error: float, higher_is_better: bool | None = True,
              tolerance: float = 3.0, floor: float = 0.01) -> str:
    """``ok`` within ``tolerance`` sampling errors (at least ``floor``) of the baseline,
    ``warn`` up to twice that far on the bad side, ``bad`` beyond; better is ``ok``.
    ``higher_is_better=None``: both sides are bad (a tail mass can be lost or inflated)."""
    margin = max(tolerance * (error if np.isfinite(error) else 0.0), floor)
    if higher_is_better is None:
        shortfall = abs(real - synthetic)
    else:
        shortfall = (real - synthetic) if higher_is_better else (synthetic - real)
    if shortfall <= margin:
        return "ok"
    return "warn" if shortfall <= 2 * margin else "bad"
