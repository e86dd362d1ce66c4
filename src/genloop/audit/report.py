"""The audit as one self-contained HTML page: verdicts first, then evidence and figures.

Built with the run report's helpers (:mod:`genloop.report.html`): inline style, figures as
embedded PNGs, no script, a Content-Security-Policy, and every piece of text from the
inputs (file names, column names, words, class names) HTML-escaped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from genloop.report.figures import _pyplot, png_bytes
from genloop.report.html import _page, esc, img, table

COLOURS = {"bad": "#b00020", "warn": "#a15c00", "ok": "#1b7a2e", "info": "#555"}
SECTION_TITLES = {
    "tails": "Tails: which rare things survived",
    "fidelity": "Fidelity and diversity",
    "detectability": "Detectability: can it be told from real data?",
    "memorisation": "Memorisation: does it copy real rows?",
    "projection": "Projection: several rounds of training on data like this (proxy)",
}


def _status(status: str) -> str:
    return f"<b style='color:{COLOURS.get(status, '#555')}'>{esc(status.upper())}</b>"


def _findings_table(findings) -> str:
    frame = pd.DataFrame([
        {"measure": f.measure, "synthetic": f.synthetic, "real baseline": f.real,
         "sampling error": f.error, "status": f.status, "reading": f.reading}
        for f in findings
    ])
    return table(frame) if len(frame) else ""


def _bars(findings, title: str) -> bytes | None:
    """Synthetic vs real baseline for each finding, with the sampling error."""
    shown = [f for f in findings if np.isfinite(f.synthetic) and np.isfinite(f.real)]
    if not shown:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(5, 1.3 * len(shown)), 3.2))
    x = np.arange(len(shown))
    errors = [f.error if np.isfinite(f.error) else 0.0 for f in shown]
    ax.bar(x - 0.2, [f.real for f in shown], 0.4, yerr=errors, label="real baseline",
           color="#8da0cb")
    ax.bar(x + 0.2, [f.synthetic for f in shown], 0.4, label="synthetic", color="#fc8d62")
    ax.set_xticks(x, [f.measure for f in shown], rotation=15, ha="right", fontsize=8)
    ax.set_title(title)
    ax.legend(fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")  # never over a bar
    fig.tight_layout()
    return png_bytes(fig)


def _dcr_figure(dcr: dict) -> bytes | None:
    if not dcr:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    top = float(np.quantile(np.concatenate([dcr["synthetic_dcr"], dcr["baseline_dcr"]]), 0.99))
    bins = np.linspace(0.0, max(top, 1e-9), 40)
    ax.hist(dcr["baseline_dcr"], bins, alpha=0.6, label="real rows", color="#8da0cb")
    ax.hist(dcr["synthetic_dcr"], bins, alpha=0.6, label="synthetic rows", color="#fc8d62")
    ax.set_xlabel("distance to the closest real (reference) row")
    ax.set_ylabel("rows")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return png_bytes(fig)


def _projection_figure(projection) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    frame = projection.table
    for _, part in frame.groupby("seed"):
        ax.plot(part["generation"], part["value"], color="#999", lw=1, alpha=0.8)
    median = frame.groupby("generation")["value"].median()
    ax.plot(median.index, median.to_numpy(), color="#d95f02", lw=2.5, label="median over seeds")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("generation (0 = the starting mix)")
    ax.set_ylabel(projection.measure)
    ax.set_title(f"proxy: {projection.config['family']['name']}, "
                 f"{projection.config['mixing']['policy']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return png_bytes(fig)


def _classes_figure(classes: pd.DataFrame) -> bytes:
    plt = _pyplot()
    shown = classes.head(20)
    fig, ax = plt.subplots(figsize=(max(5, 0.45 * len(shown)), 3.2))
    x = np.arange(len(shown))
    ax.bar(x - 0.2, shown["real share"], 0.4, label="real", color="#8da0cb")
    ax.bar(x + 0.2, shown["synthetic share"], 0.4, label="synthetic", color="#fc8d62")
    ax.set_xticks(x, [str(c)[:12] for c in shown["class"]], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("share of rows")
    ax.set_title("rarest real classes")
    ax.legend(fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.tight_layout()
    return png_bytes(fig)


def audit_html(result) -> str:
    """The HTML page of an :class:`~genloop.audit.AuditResult`."""
    verdicts = "".join(
        f"<li>{_status(line[1:line.index(']')])} {esc(line[line.index(']') + 2:])}</li>"
        for line in result.verdicts
    )
    made = (
        f"<pre>{esc(result.command)}</pre>"
        + table(pd.DataFrame({"input": list(result.inputs), "data": list(result.inputs.values())}))
        + table(pd.DataFrame({"setting": list(result.parameters),
                              "value": [str(v) for v in result.parameters.values()]}))
        + "<p class='muted'>Every measure is taken on the synthetic rows and on real rows "
          "that the reference never contained (the baseline), at the same sample size; the "
          "sampling error is the spread of the baseline over the seeded splits (detector: "
          "half the bootstrap interval; too-close share: binomial).</p>"
    )
    # Readings are sentences: left-aligned (the shared style right-aligns numbers).
    left = "<style>td:last-child { text-align: left; }</style>"
    sections = [("Verdicts", f"{left}<ul>{verdicts}</ul>"), ("How these numbers were made", made)]
    details = result.details
    for section, title in SECTION_TITLES.items():
        found = [f for f in result.findings if f.section == section]
        if not found:
            continue
        body = _findings_table(found)
        if section == "tails":
            body += img(_bars([f for f in found if f.measure != "real classes present"],
                              "tails: synthetic vs real baseline"), "tails")
            if "classes" in details:
                body += img(_classes_figure(details["classes"]), "classes")
                body += "<h3>Real classes, rarest first</h3>" + table(details["classes"])
            if "columns" in details and len(details["columns"]):
                body += ("<h3>Columns whose tails the synthetic data fills least</h3>"
                         + table(details["columns"]))
        elif section == "fidelity":
            body += img(_bars(found[:4], "precision / recall / density / coverage"), "prdc")
        elif section == "detectability" and "detectability" in details:
            result_d = details["detectability"]
            body += ("<h3>Features that weigh most (positive: typical of synthetic rows)</h3>"
                     + table(pd.DataFrame(result_d.top_features, columns=["feature", "weight"])))
            body += (f"<p class='muted'>classifier: {esc(result_d.classifier)}, "
                     f"{result_d.n_real} real and {result_d.n_synthetic} synthetic rows</p>")
        elif section == "memorisation":
            body += img(_dcr_figure(details.get("dcr") or {}), "distance to closest record")
        elif section == "projection" and "projection" in details:
            projection = details["projection"]
            summary = projection.table.groupby("generation")["value"].agg(
                ["median", "min", "max"]).reset_index()
            body += img(_projection_figure(projection), "projection")
            body += table(summary)
            body += ("<details><summary>the collapse recipe that ran (genloop run with this "
                     "config over the starting mix reproduces it)</summary>"
                     f"<pre>{esc(yaml.safe_dump(projection.config, sort_keys=False))}</pre>"
                     "</details>")
        sections.append((title, body))
    return _page("genloop audit", sections)


def write_audit_report(result, path: str | Path) -> Path:
    """Write :func:`audit_html` to ``path`` (atomically); returns the path."""
    from genloop.core.run_dir import atomic_write_text

    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, audit_html(result))
    return path
