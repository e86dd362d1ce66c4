"""Tails: which rare things of the real data the synthetic data still holds.

* categorical: rare categories (count at most the ``quantile`` of the category counts);
* text: rare words and rare word pairs (the same rule on word and bigram counts; words as
  :func:`genloop.data.tokenize.words` splits them);
* vectors: the mass beyond the real 1 % and 99 % quantiles of each column;
* labelled rows (categorical values, or vectors with a label column): the rarest real
  classes and how often each appears in the synthetic data.

Rare items are found in the reference real rows; the same share is measured on real
baseline rows of the same size (see :mod:`genloop.audit.splits`).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from genloop.audit.splits import Finding, Split, status_of, summarise
from genloop.data.tokenize import words
from genloop.metrics.empirical import empirical_tail_mass
from genloop.metrics.text import lost_share, rare_words

# Quantiles outside of which a value is "in the tail" of its column.
TAIL_QUANTILES = (0.01, 0.99)


def kept_share(rare: set, present: set) -> float:
    """Share of the ``rare`` items that occur in ``present`` (1 if there are none)."""
    return 1.0 - lost_share(rare, present)


def item_counts(rows: np.ndarray, kind: str, n: int = 1) -> Counter:
    """Counts of categories (categorical) or of word ``n``-grams (text) over the rows."""
    if kind == "categorical":
        return Counter(rows.tolist())
    counts: Counter = Counter()
    for text in rows:
        tokens = words(str(text))
        counts.update(tokens if n == 1 else zip(*(tokens[i:] for i in range(n)), strict=False))
    return counts


def rare_kept(reference: np.ndarray, sample: np.ndarray, kind: str, quantile: float,
              n: int = 1) -> float:
    """Share of the reference's rare items (``n``-grams for text) present in ``sample``."""
    rare = rare_words(item_counts(reference, kind, n), quantile)
    return kept_share(rare, set(item_counts(sample, kind, n)))


def column_tail_mass(reference: np.ndarray, sample: np.ndarray,
                     quantiles=TAIL_QUANTILES) -> tuple[np.ndarray, np.ndarray]:
    """Per column, the share of ``sample`` rows beyond the reference's quantiles.

    Parameters
    ----------
    reference : ndarray of shape (n, d)
    sample : ndarray of shape (m, d)
    quantiles : (float, float)

    Returns
    -------
    mass : ndarray of shape (d,)
    informative : ndarray of bool, shape (d,)
        Columns whose two quantiles differ (a constant column has no tails).
    """
    lower, upper = np.quantile(reference, quantiles, axis=0)
    # One "dimension" per column: empirical_tail_mass averages over the last axis.
    mass = empirical_tail_mass(sample.T[:, :, None], lower[:, None], upper[:, None])
    return mass, upper > lower


def tail_findings(splits: list[Split], kind: str, quantile: float = 0.5) -> list[Finding]:
    """The tail measures over all splits (see the module docstring)."""
    if kind == "vectors":
        return [_vector_tails(splits)]
    pairs = [(rare_kept(s.reference.rows, s.synthetic.rows, kind, quantile),
              rare_kept(s.reference.rows, s.baseline.rows, kind, quantile)) for s in splits]
    unit = "categories" if kind == "categorical" else "words"
    found = [_kept_finding(f"rare {unit} kept", pairs, unit)]
    if kind == "text":
        pairs = [(rare_kept(s.reference.rows, s.synthetic.rows, kind, quantile, 2),
                  rare_kept(s.reference.rows, s.baseline.rows, kind, quantile, 2))
                 for s in splits]
        found.append(_kept_finding("rare word pairs kept", pairs, "word pairs"))
    return found


def overall_finding(real, synthetic, quantile: float = 0.5) -> Finding:
    """Rare items of all real rows found anywhere in all synthetic rows (no size matching:
    the number users of genloop's ``lost_rare_words`` metric know, shown for reference)."""
    kept = rare_kept(real.rows, synthetic.rows, real.kind, quantile)
    unit = "categories" if real.kind == "categorical" else "words"
    reading = (f"{kept:.0%} of the rare {unit} of all {len(real)} real rows appear somewhere "
               f"in the {len(synthetic)} synthetic rows (grows with the sizes; the equal-size "
               f"comparison is the line above)")
    return Finding("tails", f"rare {unit} found anywhere", kept, np.nan, np.nan, reading)


def _kept_finding(measure: str, pairs, unit: str) -> Finding:
    synthetic, real, error = summarise(pairs)
    reading = (f"the synthetic data still holds {synthetic:.0%} of the real data's rare {unit}; "
               f"another real sample of the same size holds {real:.0%}")
    return Finding("tails", measure, synthetic, real, error, reading,
                   status_of(synthetic, real, error))


def _vector_tails(splits: list[Split]) -> Finding:
    pairs = []
    for s in splits:
        mass, informative = column_tail_mass(s.reference.rows, s.synthetic.rows)
        base, _ = column_tail_mass(s.reference.rows, s.baseline.rows)
        keep = informative if informative.any() else np.ones_like(informative)
        pairs.append((float(mass[keep].mean()), float(base[keep].mean())))
    synthetic, real, error = summarise(pairs)
    reading = (f"{synthetic:.1%} of synthetic values lie beyond the real 1%/99% quantiles of "
               f"their column, against {real:.1%} for another real sample (less: lost "
               f"tails; more: values real data rarely has)")
    return Finding("tails", "mass beyond real 1%/99% quantiles", synthetic, real, error,
                   reading, status_of(synthetic, real, error, None, floor=0.002))


def column_table(real: np.ndarray, synthetic: np.ndarray, columns: list[str],
                 limit: int = 10) -> pd.DataFrame:
    """The columns whose tails the synthetic data fills least (lowest share first)."""
    mass, informative = column_tail_mass(real, synthetic)
    lower, upper = np.quantile(real, TAIL_QUANTILES, axis=0)
    frame = pd.DataFrame({"column": columns, "real 1%": lower, "real 99%": upper,
                          "synthetic beyond": mass})
    return frame[informative].sort_values("synthetic beyond").head(limit).reset_index(drop=True)


# --- classes -------------------------------------------------------------------------------


def class_table(real_labels: np.ndarray, synthetic_labels: np.ndarray,
                rare_ratio: float = 0.5, alpha: float = 0.01) -> pd.DataFrame:
    """Every real class, rarest first: its real and synthetic counts and shares, and status.

    ``expected`` is the synthetic count the class would have at its real share. A count
    is judged only when a faithful sampler would be this far off with probability below
    ``alpha`` divided by the number of classes (a Poisson tail with mean ``expected``,
    Bonferroni over classes): then the class is ``missing`` (no synthetic row), ``rare``
    (fewer than ``rare_ratio`` times expected) or ``over-represented`` (more than
    ``1 / rare_ratio`` times). A class with no synthetic row that too few rows were
    expected for is ``absent``; the rest are ``present``.
    """
    from scipy.stats import poisson

    real_counts = Counter(np.asarray(real_labels).tolist())
    synthetic_counts = Counter(np.asarray(synthetic_labels).tolist())
    n_real, n_synthetic = max(1, len(real_labels)), max(1, len(synthetic_labels))
    level = alpha / max(1, len(real_counts))
    rows = []
    for label, count in sorted(real_counts.items(), key=lambda item: (item[1], str(item[0]))):
        real_share = count / n_real
        observed = synthetic_counts.get(label, 0)
        expected = real_share * n_synthetic
        low = poisson.cdf(observed, expected) < level  # this few: improbable
        high = poisson.sf(observed - 1, expected) < level  # this many: improbable
        if observed == 0:
            status = "missing" if low else "absent"
        elif low and observed < rare_ratio * expected:
            status = "rare"
        elif high and observed > expected / rare_ratio:
            status = "over-represented"
        else:
            status = "present"
        rows.append({"class": str(label), "real rows": count, "real share": real_share,
                     "synthetic rows": observed, "expected": expected,
                     "synthetic share": observed / n_synthetic, "status": status})
    return pd.DataFrame(rows)


def class_finding(table: pd.DataFrame, how: str) -> Finding:
    """One line naming the missing and rare classes (``how`` says where labels came from)."""
    missing = table.loc[table["status"] == "missing", "class"].tolist()
    rare = table.loc[table["status"] == "rare", "class"].tolist()
    absent = int((table["status"] == "absent").sum())
    kept = 1.0 - len(missing) / max(1, len(table))
    parts = []
    if missing:
        parts.append(f"missing: {_names(missing)}")
    if rare:
        parts.append(f"much rarer than in real data: {_names(rare)}")
    over = table.loc[table["status"] == "over-represented", "class"].tolist()
    if over:
        parts.append(f"over-represented: {_names(over)}")
    reading = "; ".join(parts) if parts else "every real class that could be judged appears"
    if absent:
        reading += (f"; {absent} classes too rare in real data to expect them here are "
                    f"absent")
    reading += f" ({how})"
    status = "bad" if missing else "warn" if rare or over else "ok"
    return Finding("tails", "real classes present", kept, 1.0, 0.0, reading, status)


def _names(labels: list[str], limit: int = 8) -> str:
    shown = ", ".join(labels[:limit])
    return shown if len(labels) <= limit else f"{shown} and {len(labels) - limit} more"


def predict_classes(real_rows: np.ndarray, real_labels: np.ndarray, rows: np.ndarray,
                    seed: int = 0) -> tuple[np.ndarray, float]:
    """Classes of ``rows`` by a classifier trained on the labelled real rows.

    Returns the predicted labels ``(m,)`` and the classifier's 3-fold cross-validated
    accuracy on the real rows (how far to trust the names).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    folds = min(3, int(min(Counter(real_labels.tolist()).values())))
    accuracy = float("nan")
    if folds >= 2:
        splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
        accuracy = float(cross_val_score(model, real_rows, real_labels, cv=splitter).mean())
    model.fit(real_rows, real_labels)
    return model.predict(rows), accuracy
