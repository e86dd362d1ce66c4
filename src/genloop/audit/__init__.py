"""``genloop audit``: one synthetic dataset measured against real data.

>>> import genloop
>>> result = genloop.audit("real.csv", "synthetic.csv", holdout="holdout.csv")  # doctest: +SKIP
>>> result.verdicts          # headline lines, worst first            # doctest: +SKIP
>>> result.to_frame()        # every number, with the real baseline   # doctest: +SKIP
>>> result.to_html("audit.html")                                      # doctest: +SKIP

Five questions, each answered against real data the synthetic data never saw (see
:mod:`genloop.audit.splits`): which tails were lost (:mod:`~genloop.audit.tails`), how
realistic and how varied it is (:mod:`~genloop.audit.fidelity`), whether a classifier
tells it from real data (the curation detector), whether it copies real rows
(:mod:`~genloop.audit.memorisation`), and what several rounds of training on data like it
would do to a proxy model (:mod:`~genloop.audit.projection`).
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from genloop.audit.inputs import AuditData, check_compatible, load_input
from genloop.audit.splits import Finding, make_splits, subsample
from genloop.core.errors import ConfigError

__all__ = ["audit", "AuditResult", "AuditData", "Finding"]

SECTIONS = ("tails", "fidelity", "detectability", "memorisation", "projection")
STATUS_ORDER = {"bad": 0, "warn": 1, "ok": 2, "info": 3}
QUICK = {"splits": 3, "max_rows": 600, "generations": 4, "seeds": (0, 1), "folds": 3}


@dataclass(repr=False)  # the default repr prints every finding: ~900 characters
class AuditResult:
    """What :func:`audit` found.

    Attributes
    ----------
    findings : list of Finding
        Every measure, with the real baseline and its sampling error.
    details : dict
        Tables and arrays behind the figures: ``classes`` (DataFrame), ``columns``
        (DataFrame), ``detectability`` (DetectabilityResult), ``dcr`` (dict of arrays),
        ``projection`` (Projection).
    inputs : dict
        ``real``/``synthetic``/``holdout`` → one-line description.
    parameters : dict
        Every setting that shaped a number (for the report's "how it was made").
    command : str
        The command (or Python call) that reproduces the audit.
    """

    findings: list[Finding]
    details: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)
    command: str = ""

    @property
    def verdicts(self) -> list[str]:
        """One headline per section (its worst finding), worst section first; missing or
        rare classes always get their own line."""
        lines = []
        for section in SECTIONS:
            found = [f for f in self.findings if f.section == section]
            if not found:
                continue
            worst = min(found, key=lambda f: STATUS_ORDER[f.status])
            shown = [worst] + [f for f in found if f.measure == "real classes present"
                               and f.status in ("bad", "warn") and f is not worst]
            lines += [(STATUS_ORDER[f.status], f"[{f.status}] {section}: {f.reading}")
                      for f in shown]
        return [line for _, line in sorted(lines, key=lambda item: item[0])]

    def __repr__(self) -> str:
        counts = {status: sum(f.status == status for f in self.findings)
                  for status in STATUS_ORDER}
        shown = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
        return (f"<AuditResult {self.inputs.get('synthetic', '?')} vs "
                f"{self.inputs.get('real', '?')}: {len(self.findings)} findings ({shown})>")

    def _repr_html_(self) -> str:
        """A notebook's view: the verdicts (worst first), then every finding collapsed."""
        import html

        rows = "".join(
            f"<tr><td><b>{html.escape(status)}</b></td><td>{html.escape(section)}</td>"
            f"<td>{html.escape(reading)}</td></tr>"
            for status, section, reading in self._verdict_rows())
        inputs = "".join(f"<li>{html.escape(role)}: {html.escape(str(text))}</li>"
                         for role, text in self.inputs.items())
        return ("<div><b>genloop audit</b>"
                f"<ul>{inputs}</ul>"
                "<table><thead><tr><th>verdict</th><th>section</th><th>reading</th></tr>"
                f"</thead><tbody>{rows}</tbody></table>"
                "<details><summary>every finding, with its real baseline and error</summary>"
                f"{self.to_frame().to_html(index=False, escape=True, na_rep='')}</details>"
                "</div>")

    def _verdict_rows(self) -> list[tuple[str, str, str]]:
        """``(status, section, reading)`` of :attr:`verdicts`, in its order."""
        rows = []
        for line in self.verdicts:
            status, _, rest = line.partition("] ")
            section, _, reading = rest.partition(": ")
            rows.append((status.lstrip("["), section, reading))
        return rows

    def to_frame(self) -> pd.DataFrame:
        """Every finding: section, measure, synthetic, real, error, status, reading."""
        return pd.DataFrame([
            {"section": f.section, "measure": f.measure, "synthetic": f.synthetic,
             "real": f.real, "error": f.error, "status": f.status, "reading": f.reading}
            for f in self.findings
        ])

    def to_html(self, path: str | Path) -> Path:
        """Write the self-contained HTML report; returns its path."""
        from genloop.audit.report import write_audit_report

        return write_audit_report(self, path)


def audit(real, synthetic, holdout=None, kind: str = "auto", mix="keep_fraction=0.2",
          generations: int = 10, seeds=(0, 1, 2), label_column: str | None = None,
          quick: bool = False, splits: int = 5, max_rows: int = 2000, quantile: float = 0.5,
          k: int = 5, folds: int = 5, seed: int = 0, synthetic_share: float = 0.5,
          projection: bool = True, generation: int | None = None, variant: str | None = None,
          pool_seed: int | None = None, command: str | None = None) -> AuditResult:
    """Audit a synthetic dataset against real data.

    Parameters
    ----------
    real, synthetic, holdout : path, spec, DataFrame, array or list of str
        See :mod:`genloop.audit.inputs` (files, ``hf:``, ``run:RUN_DIR@G``, in memory).
        ``holdout``: real rows the generator never saw (the baseline; default: half of
        the real rows in each split).
    kind : {"auto", "vectors", "categorical", "text"}
    mix : str or dict
        Mixing policy of the projection (``keep_fraction=0.2``, ``replace``, ...).
    generations : int
        Projected generations.
    seeds : sequence of int
        Seeds of the projection.
    label_column : str, optional
        Class labels of real vector rows: a classifier trained on them names the classes
        of synthetic rows, and missing or rare classes are reported by name.
    quick : bool
        Fewer splits, rows, generations and seeds (seconds instead of minutes).
    splits : int
        Seeded real splits; the spread of the baseline over them is the sampling error.
    max_rows : int
        Rows per part (reference, baseline, synthetic) at most.
    quantile : float
        Rare: count at most this quantile of the real counts.
    k : int
        Neighbours of PRDC.
    folds : int
        Cross-validation folds of the detector.
    seed : int
        Seeds the splits, the detector and the starting mix.
    synthetic_share : float
        Share of synthetic rows in the projection's starting mix.
    projection : bool
        Run the projection (the slowest part).
    generation, variant, pool_seed
        Which pool to read when ``synthetic`` is a run directory.
    command : str, optional
        The command line to print in the report (the CLI passes its own).

    Returns
    -------
    AuditResult
    """
    if quick:
        splits, max_rows = min(splits, QUICK["splits"]), min(max_rows, QUICK["max_rows"])
        generations, folds = min(generations, QUICK["generations"]), min(folds, QUICK["folds"])
        seeds = tuple(seeds)[: len(QUICK["seeds"])]
    _check_parameters(splits, max_rows, quantile, k, folds)
    if projection:  # a bad policy should fail before minutes of measuring, not after
        from genloop.audit.projection import check_projection

        check_projection(mix, generations, synthetic_share)
    # A run:DIR@G real or holdout pool comes from the same variant and seed as the
    # synthetic one (generation 0's pool is the same real rows in every variant).
    real_data = load_input(real, kind, label_column, "real", None, variant, pool_seed)
    chosen = real_data.kind if kind == "auto" else kind
    synthetic_data = check_compatible(real_data, load_input(
        synthetic, "auto" if kind == "auto" else kind, label_column, "synthetic",
        generation, variant, pool_seed), "synthetic")
    holdout_data = None
    if holdout is not None:
        holdout_data = check_compatible(real_data, load_input(
            holdout, kind, label_column, "holdout", None, variant, pool_seed), "holdout")
    from genloop.audit.fidelity import fidelity_findings
    from genloop.audit.memorisation import memorisation_findings
    from genloop.audit.tails import overall_finding, tail_findings

    parts = make_splits(real_data, synthetic_data, holdout_data, splits, seed, max_rows)
    details: dict = {}
    # Classes first: when several tail findings are bad, the verdict names the classes.
    findings = _class_findings(real_data, synthetic_data, details, seed, max_rows)
    findings += tail_findings(parts, chosen, quantile)
    if chosen != "vectors":
        findings.append(overall_finding(real_data, synthetic_data, quantile))
    findings += fidelity_findings(parts, chosen, k)
    findings.append(_detectability(real_data, synthetic_data, folds, seed, max_rows, details))
    found, details["dcr"] = memorisation_findings(parts, chosen, holdout_data, synthetic_data)
    findings += found
    if projection:
        from genloop.audit.projection import project

        details["projection"] = project(real_data, synthetic_data, mix, generations, seeds,
                                        synthetic_share, max_rows, quantile, seed)
        findings.append(details["projection"].finding())
    parameters = {"kind": chosen, "splits": splits, "max_rows": max_rows, "quantile": quantile,
                  "k": k, "folds": folds, "seed": seed, "mix": mix, "generations": generations,
                  "seeds": list(seeds), "synthetic_share": synthetic_share, "quick": quick,
                  "label_column": label_column, "baseline": "holdout" if holdout_data
                  else "half of the real rows (random split)"}
    inputs = {"real": real_data.describe(), "synthetic": synthetic_data.describe()}
    if holdout_data is not None:
        inputs["holdout"] = holdout_data.describe()
    command = command or _python_call(real, synthetic, holdout, parameters)
    return AuditResult(findings, details, inputs, parameters, command)


class _CallableModule(types.ModuleType):
    """This package, callable as :func:`audit`.

    ``genloop.audit`` is both this package and the function users call: once any
    ``genloop.audit.*`` module is imported, Python binds the *package* to the
    ``genloop.audit`` attribute, so the package itself must be callable for
    ``genloop.audit(real, synthetic)`` to keep working.
    """

    def __call__(self, *args, **kwargs) -> AuditResult:
        return audit(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule


def _check_parameters(splits, max_rows, quantile, k, folds) -> None:
    for name, value, low in (("splits", splits, 1), ("max_rows", max_rows, 10), ("k", k, 1),
                             ("folds", folds, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")
    if not 0.0 <= quantile <= 1.0:
        raise ConfigError(f"quantile must lie in [0, 1], got {quantile!r}")


def _class_findings(real: AuditData, synthetic: AuditData, details: dict, seed: int,
                    max_rows: int) -> list[Finding]:
    """Rarest real classes: categorical values, or labelled vectors named by a classifier."""
    from genloop.audit.tails import class_finding, class_table, column_table, predict_classes

    if real.kind == "vectors":
        details["columns"] = column_table(real.rows, synthetic.rows, real.columns)
    if real.kind == "categorical":
        details["classes"] = class_table(real.rows, synthetic.rows)
        return [class_finding(details["classes"], "categories as written")]
    if real.kind != "vectors" or real.labels is None:
        return []
    rng = np.random.default_rng([seed, 11])
    labelled = subsample(real, max(max_rows, 2000), rng)
    predicted, accuracy = predict_classes(labelled.rows, labelled.labels, synthetic.rows, seed)
    details["classes"] = class_table(real.labels, predicted)
    how = (f"synthetic rows named by a classifier trained on the labelled real rows; its "
           f"cross-validated accuracy on real rows: {accuracy:.0%}")
    details["classifier_accuracy"] = accuracy
    return [class_finding(details["classes"], how)]


def _detectability(real: AuditData, synthetic: AuditData, folds: int, seed: int,
                   max_rows: int, details: dict) -> Finding:
    from genloop.curation.detectability import detectability

    rng = np.random.default_rng([seed, 13])
    real_rows = subsample(real, max_rows, rng).rows
    synthetic_rows = subsample(synthetic, max_rows, rng).rows
    names = real.columns if real.kind == "vectors" else None
    if real.kind == "categorical":
        values = np.unique(np.concatenate([real_rows, synthetic_rows]))
        real_rows = np.searchsorted(values, real_rows)
        synthetic_rows = np.searchsorted(values, synthetic_rows)
    elif real.kind == "text":
        real_rows, synthetic_rows = list(real_rows), list(synthetic_rows)
    result = detectability(real_rows, synthetic_rows, real.kind, folds=folds, seed=seed,
                           feature_names=names)
    if real.kind == "categorical":
        result.top_features = [(_state_name(name, values), weight)
                               for name, weight in result.top_features]
    details["detectability"] = result
    error = (result.auc_high - result.auc_low) / 2
    tells = ", ".join(f"{name} ({'synthetic' if weight > 0 else 'real'})"
                      for name, weight in result.top_features[:3])
    reading = (f"a classifier tells synthetic from real rows with AUC {result.auc:.2f} "
               f"(95% CI {result.auc_low:.2f}–{result.auc_high:.2f}; 0.5 = cannot tell)"
               + (f"; features weighing most (side they point to): {tells}"
                  if tells and result.auc_low > 0.55 else ""))
    status = "ok" if result.auc_low <= 0.55 else "warn" if result.auc < 0.75 else "bad"
    return Finding("detectability", "real-vs-synthetic AUC", result.auc, 0.5, error, reading,
                   status)


def _state_name(name: str, values: np.ndarray) -> str:
    prefix, _, index = name.partition("=")
    if prefix == "state" and index.isdigit() and int(index) < len(values):
        return f"value={values[int(index)]}"
    return name


def _python_call(real, synthetic, holdout, parameters: dict) -> str:
    def show(value):
        return repr(str(value)) if isinstance(value, (str, Path)) else f"<{type(value).__name__}>"

    keys = ("kind", "mix", "generations", "seeds", "splits", "max_rows", "seed",
            "label_column", "quick")
    args = ", ".join(f"{key}={parameters[key]!r}" for key in keys)
    holdout_text = f", holdout={show(holdout)}" if holdout is not None else ""
    return f"genloop.audit({show(real)}, {show(synthetic)}{holdout_text}, {args})"
