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
import inspect
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
from genloop.store.summary import summarize

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


def summary_table(summary: pd.DataFrame, group: list[str], theory=None) -> str:
    """Median, 10–90% band and bootstrap CI of the median at first, middle, last generation."""
    if summary.empty:
        return "<p class='muted'>no metrics yet</p>"
    gens = np.sort(summary["generation"].unique())
    picked = sorted({int(gens[0]), int(gens[len(gens) // 2]), int(gens[-1])})
    rows = summary[summary["generation"].isin(picked)]
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
        kwargs = {}
        if "run_path" in inspect.signature(bench.plot).parameters:
            kwargs["run_path"] = run_path
        paths = bench.plot(metrics, recipe.config, Path(tmp), **kwargs)
        return [(Path(p).name, Path(p).read_bytes()) for p in paths]


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
    """The HTML of one run directory."""
    from genloop.core.config import resolve
    from genloop.core.run_dir import RunDir

    run_dir = RunDir(run_path)
    raw = run_dir.read_config()
    recipe = resolve(raw)
    metrics = run_dir.metrics()
    meta = run_dir.read_meta()
    summary = summarize(metrics, ["variant", "metric", "generation"])
    theory = _theory_of({None: recipe})
    sections = [
        (
            "Run",
            table(
                pd.DataFrame(
                    {
                        "item": [
                            "directory",
                            "recipe",
                            "bench",
                            "seeds",
                            "variants",
                            "engine",
                            "seconds",
                        ],
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
            )
            + f"<p>{esc(recipe.description)}</p>",
        )
    ]
    sections.append(
        (
            "Config (config.yaml, exactly what ran)",
            f"<pre>{esc((run_path / 'config.yaml').read_text(encoding='utf-8'))}</pre>",
        )
    )

    def curve(r):
        return _fmt(_first(theory(None, r.variant, r.metric, [r.generation])))

    sections.append(("Summary across seeds", summary_table(summary, ["variant"], curve)))
    checks = _checks(recipe, metrics)
    if checks:
        sections.append(
            ("Theory checks", "<ul>" + "".join(f"<li>{esc(c)}</li>" for c in checks) + "</ul>")
        )
    figs = "".join(img(png, name) for name, png in _bench_figures(run_path, recipe, metrics))
    sections.append(("Collapse figures", figs or "<p class='muted'>no figures</p>"))
    sections.append(
        (
            "Provenance",
            img(figures.provenance_figure(metrics, ["variant"]), "provenance")
            or "<p class='muted'>no provenance metrics</p>",
        )
    )
    sections.append(("Samples", samples_section(run_path)))
    return _page(f"genloop report: {recipe.name}", sections)


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
    sections = [
        (
            "Sweep",
            table(
                pd.DataFrame(
                    {
                        "item": [
                            "directory",
                            "recipe",
                            "bench",
                            "seeds",
                            "variants",
                            "overrides",
                            "grid",
                        ],
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
            )
            + table(grid_rows),
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

    def curve(r):
        return _fmt(_first(theory(r.point, r.variant, r.metric, [r.generation])))

    sections.append(("Summary across seeds", summary_table(summary, ["point", "variant"], curve)))
    sections.append(
        (
            "Provenance",
            img(figures.provenance_figure(metrics, ["point", "variant"]), "provenance")
            or "<p class='muted'>no provenance metrics</p>",
        )
    )
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
                figs + f"<details><summary>config.yaml</summary><pre>{esc(config)}</pre></details>",
            )
        )
    if recipes:
        first = next(iter(recipes))
        sections.append((f"Samples (point {first})", samples_section(sweep.point_dir(first).path)))
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
