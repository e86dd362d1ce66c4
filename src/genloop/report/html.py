"""One self-contained HTML report of a run or a sweep.

Everything is inside the file: figures are PNGs embedded as base64 ``data:`` URIs, the
style is inline, and there is no JavaScript at all (a Content-Security-Policy forbids
scripts and any network load), so the report works offline and from an e-mail. Every
piece of text that comes from a run (config values, names, samples, file names) passes
through :func:`html.escape`: a sample that reads ``<script>`` is shown, never run.
"""

from __future__ import annotations

import base64
import html
import tempfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from genloop.core.config import seeds_label
from genloop.core.errors import DataError
from genloop.core.registry import resolve as resolve_component
from genloop.core.version import __version__
from genloop.report import figures
from genloop.store.summary import describe_change, summarize

# How many of the bench's preferred metrics the reading names per curve: enough to say
# what collapsed, few enough that the first figure is still on the first screen.
READING_METRICS = 3
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1180px;
       color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; font-size: 12px; margin: .5em 0; }
td, th { border: 1px solid #ddd; padding: 2px 8px; text-align: right; }
td:first-child, th:first-child { text-align: left; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; font-size: 12px; }
img { max-width: 100%; display: block; margin: .6em 0; }
.muted { color: #666; } details { margin: .5em 0; }
summary { cursor: pointer; font-weight: 600; }
#reading { background: #f3f7fb; border-left: 4px solid #4a78a8; padding: .4em 1em; }
#reading ul { margin: .3em 0; padding-left: 1.2em; }
.wide { overflow-x: auto; }
"""


def esc(value) -> str:
    """HTML-escape any value (quotes too, so it is safe inside attributes)."""
    return html.escape(str(value), quote=True)


def img(png: bytes | None, alt: str) -> str:
    if not png:
        return ""
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{esc(alt)}">'


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        value = float(value) + 0.0
        if value != 0 and (abs(value) >= 1e4 or abs(value) < 1e-3):
            return f"{value:.3e}"
        return f"{value:.4g}"
    return str(value)


def table(frame: pd.DataFrame) -> str:
    """An escaped HTML table of a small DataFrame."""
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(_fmt(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False, name=None)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def details(summary: str, content: str) -> str:
    """A collapsed ``<details>`` block: there when wanted, not in the way of the reading."""
    return f"<details><summary>{esc(summary)}</summary>{content}</details>"


def key_generations(summary: pd.DataFrame) -> list[int]:
    """The first, middle and last generation of a summary: where the tables look."""
    gens = np.sort(summary["generation"].unique())
    return sorted({int(gens[0]), int(gens[len(gens) // 2]), int(gens[-1])})


def _group_label(values: tuple, group: list[str]) -> str:
    """``point / variant`` without the uninformative ``default`` variant name."""
    shown = [
        str(v)
        for c, v in zip(group, values, strict=True)
        if not (c == "variant" and v == "default")
    ]
    return " / ".join(shown) or "default"


def reading(summary: pd.DataFrame, group: list[str], metrics: list[str], checks: list[str]) -> str:
    """The headline of a report: what moved, and by how much, before any figure.

    Parameters
    ----------
    summary : pandas.DataFrame
        Across-seed summary rows (``*group, metric, generation, seeds, median``) that
        include the first and the last generation.
    group : list of str
        The columns that name one curve (``["variant"]``, or ``["point", "variant"]``).
    metrics : list of str
        The headline metrics, most telling first (the bench's ``preferred_metrics``).
    checks : list of str
        The bench's plain-language findings (:meth:`~genloop.core.bench.Bench.run_checks`).

    Returns
    -------
    str
        An escaped ``<section id="reading">``.
    """
    if summary.empty:
        return "<section id='reading'><p class='muted'>no metrics yet</p></section>"
    first, last = int(summary["generation"].min()), int(summary["generation"].max())
    ends = summary[summary["generation"].isin([first, last]) & summary["metric"].isin(metrics)]
    medians = ends.pivot_table(index=[*group, "metric"], columns="generation", values="median")
    seeds = int(summary["seeds"].max())
    lines, moves = [], {}
    # curves in the order the summary lists them (grid order), not sorted by name
    for key in dict.fromkeys(ends[group].itertuples(index=False, name=None)):
        parts = []
        for metric in metrics:
            row = (*key, metric)
            if row not in medians.index or first not in medians or last not in medians:
                continue
            start, end = medians.loc[row, first], medians.loc[row, last]
            if np.isnan(start) or np.isnan(end):
                continue
            moves.setdefault(metric, {})[key] = (start, end)
            # from 0 the end value is the change: saying it twice adds nothing
            moved = "" if start == 0 else f" ({describe_change(start, end)})"
            parts.append(f"{esc(metric)} {esc(_fmt(start))} → {esc(_fmt(end))}{esc(moved)}")
        if parts:
            name = esc(_group_label(key, group))
            lines.append(f"<li><b>{name}</b>: " + "; ".join(parts) + "</li>")
    lead = (
        f"Medians over {seeds} seed(s), generation {first} → generation {last}."
        if lines
        else "No headline metric was measured at both ends of the run."
    )
    ranked = _largest_move(moves, metrics, group)
    text = f"<p>{esc(lead)}{ranked}</p>"
    if lines:
        text += "<ul>" + "".join(lines) + "</ul>"
    if checks:
        text += "<p>Checks:</p><ul>" + "".join(f"<li>{esc(c)}</li>" for c in checks) + "</ul>"
    return f"<section id='reading'>{text}</section>"


def _largest_move(moves: dict, metrics: list[str], group: list[str]) -> str:
    """`` Largest change in <metric>: <a>; smallest: <b>.`` for the first headline metric
    measured on two or more curves (escaped), else an empty string."""
    for metric in metrics:
        ends = moves.get(metric, {})
        if len(ends) < 2:
            continue
        ratios = all(s > 0 and e > 0 for s, e in ends.values())
        # a factor is compared on a log scale, so that halving and doubling weigh the same
        size = {k: abs(np.log(e / s)) if ratios else abs(e - s) for k, (s, e) in ends.items()}
        ranked = sorted(size, key=size.get)
        small, large = ranked[0], ranked[-1]
        if size[small] == size[large]:
            return ""
        return esc(
            f" Largest change in {metric}: {_group_label(large, group)} "
            f"({describe_change(*ends[large])}); smallest: {_group_label(small, group)} "
            f"({describe_change(*ends[small])})."
        )
    return ""


def pivot_table(summary: pd.DataFrame, group: list[str], metrics: list[str]) -> str:
    """Metric × generation rows, one column per curve, cells ``median [q10, q90]``.

    Only the key generations (:func:`key_generations`) and ``metrics`` in their order:
    the table a reader compares policies with; every statistic is in the long table.
    """
    rows = summary[summary["metric"].isin(metrics)]
    if rows.empty:
        return "<p class='muted'>no metrics yet</p>"
    rows = rows[rows["generation"].isin(key_generations(summary))]
    cells = pd.DataFrame(
        {
            "metric": rows["metric"],
            "generation": rows["generation"].astype(int),
            "curve": [_group_label(tuple(v), group) for v in rows[group].itertuples(index=False)],
            "cell": [
                f"{_fmt(m)} [{_fmt(a)}, {_fmt(b)}]"
                for m, a, b in zip(rows["median"], rows["q10"], rows["q90"], strict=True)
            ],
        }
    )
    curves = list(dict.fromkeys(cells["curve"]))
    wide = cells.pivot_table(
        index=["metric", "generation"], columns="curve", values="cell", aggfunc="first"
    ).reindex(columns=curves)
    order = {m: i for i, m in enumerate(metrics)}
    wide = wide.reset_index().sort_values(
        ["metric", "generation"], key=lambda c: c.map(order) if c.name == "metric" else c
    )
    wide.columns.name = None
    note = "<p class='muted'>median over seeds [10%, 90% quantiles]</p>"
    return f"{note}<div class='wide' id='pivot'>{table(wide.fillna(''))}</div>"


def summary_table(summary: pd.DataFrame, group: list[str], theory=None) -> str:
    """Median, 10–90% band and bootstrap CI of the median at first, middle, last generation."""
    if summary.empty:
        return "<p class='muted'>no metrics yet</p>"
    rows = summary[summary["generation"].isin(key_generations(summary))]
    rows = rows[~rows["metric"].isin(["absorbed"])]
    out = pd.DataFrame({c: rows[c] for c in [*group, "metric", "generation", "seeds"]})
    out["median"] = rows["median"]
    out["10%–90%"] = [
        f"{_fmt(a)} – {_fmt(b)}" for a, b in zip(rows["q10"], rows["q90"], strict=False)
    ]
    out["median 95% CI"] = [
        "" if np.isnan(a) else f"{_fmt(a)} – {_fmt(b)}"
        for a, b in zip(rows["ci_low"], rows["ci_high"], strict=False)
    ]
    if theory is not None:
        out["theory (mean)"] = [theory(r) for r in rows.itertuples()]
    return table(out)


def _bench_figures(run_path: Path, recipe, metrics: pd.DataFrame) -> list[tuple[str, bytes]]:
    """The bench's own figures of one run directory, as (file name, PNG bytes)."""
    from genloop.core.registry import resolve

    bench = resolve("bench", recipe.bench)
    if bench.plot is None or metrics.empty:
        return []
    with tempfile.TemporaryDirectory() as tmp:
        paths = bench.draw(metrics, recipe.config, Path(tmp), run_path=run_path)
        return [(p.name, p.read_bytes()) for p in paths]


def samples_section(run_path: Path, limit: int = 5) -> str:
    """A few saved samples: text sample files, else rows of the last density snapshot."""
    parts = []
    files = sorted(run_path.glob("artifacts/*/samples*.txt")) + sorted(
        run_path.glob("artifacts/*/samples*.jsonl")
    )
    for path in files[:4]:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[:limit]
        shown = "\n".join(line[:300] for line in lines)
        parts.append(f"<h3>{esc(path.parent.name)} / {esc(path.name)}</h3><pre>{esc(shown)}</pre>")
    if not parts:
        from safetensors.numpy import load_file

        seen = set()
        for unit in sorted(run_path.glob("artifacts/*")):
            variant = unit.name.split("__seed")[0]
            snaps = sorted(unit.glob("snapshot_gen*.safetensors"))
            if variant in seen or not snaps:
                continue
            seen.add(variant)
            pool = load_file(str(snaps[-1]))["pool"][:limit]
            frame = (
                pd.DataFrame(pool, columns=[f"x{i}" for i in range(pool.shape[1])])
                if pool.ndim == 2
                else pd.DataFrame({"x": pool})
            )
            parts.append(
                f"<h3>{esc(unit.name)}: first rows of the pool at "
                f"{esc(snaps[-1].stem.replace('snapshot_gen', 'generation '))}</h3>" + table(frame)
            )
    return "".join(parts) or "<p class='muted'>this run saved no samples</p>"


def _page(title: str, sections: list[tuple[str, str]]) -> str:
    stamp = datetime.now().isoformat(timespec="seconds")
    body = "".join(f"<h2>{esc(name)}</h2>{content}" for name, content in sections)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{esc(title)}</h1><p class='muted'>genloop {esc(__version__)}, "
        f"report written {esc(stamp)}</p>{body}</body></html>"
    )


def _theory_of(recipes: dict):
    """``theory(point, variant, metric, generations)`` from each bench's theory hook."""

    def theory(point, variant, metric, generations):
        recipe = recipes.get(point)
        if recipe is None or variant not in recipe.variants:
            return None
        bench = resolve_component("bench", recipe.bench)
        return bench.theory_curve(recipe.variants[variant], metric, generations)

    return theory


def run_report(run_path: Path) -> str:
    """The HTML of one run directory.

    The page reads as a paper does: the reading (what collapsed, by how much, and the
    bench's checks), the figures, a variant-by-metric table at the key generations; the
    long table, the run's facts and its config come last, collapsed.
    """
    from genloop.core.config import resolve
    from genloop.core.run_dir import RunDir

    run_dir = RunDir(run_path)
    raw = run_dir.read_config()
    recipe = resolve(raw)
    metrics = run_dir.metrics()
    meta = run_dir.read_meta()
    summary = summarize(metrics, ["variant", "metric", "generation"])
    theory = _theory_of({None: recipe})
    bench = resolve_component("bench", recipe.bench)
    headline, everything = _metric_order(metrics, bench.preferred_metrics)

    # Conclusions first: the reading, then the figures it summarises.
    sections = [
        (
            "Reading",
            f"<p class='muted'>{esc(recipe.description)}</p>"
            + reading(summary, ["variant"], headline, _checks(recipe, metrics)),
        )
    ]
    figs = "".join(img(png, name) for name, png in _bench_figures(run_path, recipe, metrics))
    sections.append(("Collapse figures", figs or "<p class='muted'>no figures</p>"))
    sections.append(
        (
            "Provenance",
            img(figures.provenance_figure(metrics, ["variant"]), "provenance")
            or "<p class='muted'>no provenance metrics</p>",
        )
    )
    sections.append(("Summary at key generations", pivot_table(summary, ["variant"], everything)))
    sections.append(("Samples", samples_section(run_path)))

    # Then what a reader checks only when in doubt, collapsed.
    def curve(r):
        return _fmt(_first(theory(None, r.variant, r.metric, [r.generation])))

    facts = pd.DataFrame(
        {
            "item": ["directory", "recipe", "bench", "seeds", "variants", "engine", "seconds"],
            "value": [
                run_path.name,
                recipe.name,
                recipe.bench,
                seeds_label(recipe.seeds),
                ", ".join(recipe.variants),
                meta.get("engine", ""),
                meta.get("seconds", ""),
            ],
        }
    )
    sections.append(
        (
            "Details",
            details(
                "Summary across seeds (every statistic, long format)",
                summary_table(summary, ["variant"], curve),
            )
            + details("Run", table(facts))
            + details(
                "Config (config.yaml, exactly what ran)",
                f"<pre>{esc((run_path / 'config.yaml').read_text(encoding='utf-8'))}</pre>",
            ),
        )
    )
    return _page(f"genloop report: {recipe.name}", sections)


def _listed(values) -> str:
    """Grid values as a reader writes them: ``replace, accumulate``, not a Python list."""
    return ", ".join(map(str, values)) if isinstance(values, (list, tuple)) else str(values)


def _metric_order(metrics: pd.DataFrame, preferred) -> tuple[list[str], list[str]]:
    """The reading's few headline metrics, and every summarised metric; preferred first."""
    if metrics.empty:
        return [], []
    everything = figures.comparison_metrics(metrics, preferred, limit=metrics["metric"].nunique())
    return everything[:READING_METRICS], everything


def _first(curve):
    return None if curve is None else float(np.ravel(curve)[0])


def _checks(recipe, metrics) -> list[str]:
    return resolve_component("bench", recipe.bench).run_checks(metrics, recipe.variants)


def sweep_report(sweep_path: Path) -> str:
    """The HTML of one sweep directory: the grid, policy comparisons, per-point figures."""
    from genloop.core.config import resolve
    from genloop.sweep import Sweep

    sweep = Sweep(sweep_path)
    metrics = sweep.metrics
    summary = sweep.summary(generations=None)
    from genloop.core.run_dir import read_parquet

    full = read_parquet(sweep.path / "summary.parquet")
    recipes = {
        pid: resolve(sweep.point_dir(pid).read_config())
        for pid in sweep.points
        if sweep.point_dir(pid).exists()
    }
    theory = _theory_of(recipes)
    spec = sweep.spec
    bench = resolve_component("bench", spec["bench"])
    grid_rows = pd.DataFrame(
        [
            {"point": pid} | {sweep.columns[k]: v for k, v in values.items()}
            for pid, values in sweep.points.items()
        ]
    )
    headline, everything = _metric_order(metrics, bench.preferred_metrics)
    group = ["point", "variant"]
    checks = [
        f"[{pid}] {line}"
        for pid, recipe in recipes.items()
        for line in _checks(recipe, metrics[metrics["point"] == pid])
    ]

    # Conclusions first: the reading, then the figures it summarises.
    sections = [
        (
            "Reading",
            f"<p class='muted'>{esc(spec['recipe'])} over the grid "
            f"{esc('; '.join(f'{k} = {_listed(v)}' for k, v in spec['grid'].items()))}</p>"
            + reading(summary, group, headline, checks),
        )
    ]
    comparison = "".join(
        img(figures.policy_comparison(full, m, theory, list(sweep.points)), f"comparison {m}")
        for m in figures.comparison_metrics(metrics, bench.preferred_metrics)
    )
    sections.append(
        (
            "Policy comparison (all grid points on one figure per metric)",
            comparison or "<p class='muted'>no metrics yet</p>",
        )
    )
    sections.append(
        (
            "Provenance",
            img(figures.provenance_figure(metrics, group), "provenance")
            or "<p class='muted'>no provenance metrics</p>",
        )
    )
    sections.append(("Summary at key generations", pivot_table(summary, group, everything)))
    for pid, recipe in recipes.items():
        point_metrics = metrics[metrics["point"] == pid]
        figs = "".join(
            img(png, f"{pid} {name}")
            for name, png in _bench_figures(sweep.point_dir(pid).path, recipe, point_metrics)
        )
        config = (sweep.point_dir(pid).path / "config.yaml").read_text(encoding="utf-8")
        sections.append(
            (
                f"Point {pid}",
                figs + details("config.yaml", f"<pre>{esc(config)}</pre>"),
            )
        )
    if recipes:
        first = next(iter(recipes))
        sections.append((f"Samples (point {first})", samples_section(sweep.point_dir(first).path)))

    # Then what a reader checks only when in doubt, collapsed.
    def curve(r):
        return _fmt(_first(theory(r.point, r.variant, r.metric, [r.generation])))

    facts = pd.DataFrame(
        {
            "item": ["directory", "recipe", "bench", "seeds", "variants", "overrides", "grid"],
            "value": [
                sweep_path.name,
                spec["recipe"],
                spec["bench"],
                f"{len(spec['seeds'])} ({spec['seeds'][0]}..{spec['seeds'][-1]})",
                ", ".join(spec["variants"]),
                spec["overrides"] or "",
                "; ".join(f"{k} = {v}" for k, v in spec["grid"].items()),
            ],
        }
    )
    sections.append(
        (
            "Details",
            details(
                "Summary across seeds (every statistic, long format)",
                summary_table(summary, group, curve),
            )
            + details("Sweep", table(facts) + table(grid_rows)),
        )
    )
    return _page(f"genloop sweep report: {spec['recipe']}", sections)


def write_report(path: str | Path, out: str | Path | None = None) -> Path:
    """Write the report of a run or sweep directory; returns the HTML path.

    Parameters
    ----------
    path : path
        A run directory or a sweep directory.
    out : path, optional
        The HTML file (default ``<path>/report.html``).
    """
    from genloop.core.run_dir import atomic_write_text
    from genloop.sweep import is_sweep

    path = Path(path)
    if not path.is_dir():
        raise DataError(f"run or sweep directory not found: {path}")
    text = sweep_report(path) if is_sweep(path) else run_report(path)
    out = Path(out) if out is not None else path / "report.html"
    atomic_write_text(out, text)
    return out
