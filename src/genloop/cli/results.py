"""CLI commands for results: ``sweep``, ``query``, ``compare`` and ``report``.

Registered on the main app by the last line of :mod:`genloop.cli`; each command is a thin
layer over :mod:`genloop.sweep`, :mod:`genloop.store` and :mod:`genloop.report`.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from genloop.cli.output import RUN_HELP, console, fmt, friendly, int_list, run_path
from genloop.core.errors import ConfigError


def _ci(low, high) -> str:
    return "" if low != low else f"[{fmt(low)}, {fmt(high)}]"  # NaN != NaN: no CI


def print_sweep_summary(sweep, generations=None, metrics=None) -> None:
    """Per variant: one row per metric × generation, one column per grid point."""
    table_data = sweep.summary(generations=generations, metrics=metrics)
    if table_data.empty:
        console.print("no finished units yet")
        return
    points = list(sweep.points)
    for variant, part in table_data.groupby("variant", sort=False):
        title = f"{sweep.path.name}" + ("" if variant == "default" else f" — {variant}")
        table = Table(
            title=escape(title) + ": median [95% bootstrap CI] across seeds",
            title_justify="left",
        )
        table.add_column("metric", overflow="fold")
        table.add_column("gen", justify="right")
        for point in points:
            table.add_column(escape(point), justify="right", overflow="fold")
        for (metric, generation), rows in part.groupby(["metric", "generation"], sort=True):
            cells = {
                r.point: f"{fmt(r.median)} {_ci(r.ci_low, r.ci_high)}" for r in rows.itertuples()
            }
            table.add_row(escape(str(metric)), str(generation),
                          *(cells.get(p, "") for p in points))
        console.print(table)


def _log_mlflow(path: Path, enabled: bool, uri: str | None) -> None:
    if enabled or uri:
        from genloop.report.tracking import log_to_mlflow

        run_id = log_to_mlflow(path, uri)
        console.print(f"logged to MLflow run {run_id} ({uri or 'mlruns/'})")


@friendly
def sweep(
    recipe: str = typer.Argument(None, help="Recipe name or YAML path."),
    grid: list[str] = typer.Option(
        None, "--grid", help="key=v1,v2,... (repeatable; default: the recipe's grid)."
    ),
    seeds: str = typer.Option(None, help="Seeds: 0..19, 0,3,5 or one int."),
    set_: list[str] = typer.Option(None, "--set", help="Override for every point: key=value."),
    quick: bool = typer.Option(False, "--quick", metavar="", help="The recipe's small variant."),
    variant: list[str] = typer.Option(None, "--variant", help="Only this variant (repeatable)."),
    backend: str = typer.Option("local", help="local (process pool) or ray."),
    workers: int = typer.Option(None, help="Units at once (default: number of cores)."),
    retries: int = typer.Option(1, help="Extra attempts for a failed unit."),
    ray_address: str = typer.Option(None, help="An existing Ray cluster (default: local Ray)."),
    out: Path = typer.Option(
        None, help="Sweep directory; an existing one of the same sweep is continued."
    ),
    resume: Path = typer.Option(None, help="Continue this sweep directory."),
    report: bool = typer.Option(False, "--report", metavar="",
                                help="Also write <sweep>/report.html."),
    mlflow: bool = typer.Option(False, "--mlflow", metavar="", help="Log to MLflow (./mlruns)."),
    mlflow_uri: str = typer.Option(None, help="MLflow tracking URI (implies --mlflow)."),
    quiet: bool = typer.Option(False, "--quiet", metavar="", help="No progress bar or summary."),
):
    """Run a recipe over a grid of config values × seeds, resumably, in parallel."""
    from genloop.sweep import run_sweep

    if recipe is None and resume is None:
        raise ConfigError("name a recipe (see `genloop recipes`) or pass --resume SWEEP_DIR")
    if resume is not None and (recipe or grid or set_ or quick or seeds or variant):
        raise ConfigError(
            "--resume continues a sweep with its saved configs; drop the "
            "recipe and --grid/--set/--quick/--seeds/--variant"
        )
    result = run_sweep(
        recipe,
        grid=grid or None,
        seeds=seeds,
        overrides=set_ or None,
        quick=quick,
        variants=variant or None,
        out=out,
        resume=resume,
        backend=backend,
        workers=workers,
        retries=retries,
        ray_address=ray_address,
        progress=not quiet,
    )
    if report:
        from genloop.report.html import write_report

        path = write_report(result.path)
        if not quiet:
            console.print(f"report: {path}", markup=False, highlight=False)
    _log_mlflow(result.path, mlflow, mlflow_uri)
    if not quiet:
        last = int(result.metrics["generation"].max()) if len(result.metrics) else None
        print_sweep_summary(result, generations=None if last is None else [0, last])
        console.print(f"sweep directory: {result.path}", markup=False, highlight=False)


@friendly
def query(
    sql: str = typer.Argument(
        ..., help="SQL over the views metrics, configs, runs, summaries, ledgers."
    ),
    runs: Path = typer.Option(Path("runs"), help="Folder searched for runs and sweeps."),
    csv: bool = typer.Option(False, "--csv", metavar="", help="Print CSV instead of a table."),
    max_rows: int = typer.Option(200, help="Rows shown in the table (CSV prints all)."),
):
    """DuckDB SQL across every run and sweep under --runs (default ./runs)."""
    from genloop.store.query import query as run_query

    frame = run_query(sql, runs)
    if csv:
        console.file.write(frame.to_csv(index=False))
        return
    table = Table(title=f"{len(frame)} rows", title_justify="left")
    for column in frame.columns:
        table.add_column(
            escape(str(column)), justify="right" if frame[column].dtype.kind in "fiu" else "left",
            overflow="fold",  # a number folds onto a second line rather than lose digits
        )
    for row in frame.head(max_rows).itertuples(index=False, name=None):
        # Query results hold user text (variant names, config values): never markup.
        table.add_row(*(fmt(v) if isinstance(v, float) else escape(str(v)) for v in row))
    console.print(table)
    if len(frame) > max_rows:
        console.print(f"… {len(frame) - max_rows} more rows (--max-rows, or --csv)")


def _compare_inputs(paths: list[Path]) -> list[tuple[str, object]]:
    """``(label, metrics frame)`` per compared run; a sweep stands for its points."""
    from genloop.core.run_dir import RunDir
    from genloop.sweep import Sweep, is_sweep

    inputs = []
    for reference in paths:
        path = run_path(reference)
        if is_sweep(path):
            metrics = Sweep(path).metrics
            inputs += [
                (point, part.drop(columns="point"))
                for point, part in metrics.groupby("point", sort=False)
            ]
        else:
            inputs.append((path.name, RunDir(path).metrics()))
    if len(inputs) < 2:
        raise ConfigError("compare needs at least two runs (or a sweep with two points)")
    return inputs


@friendly
def compare(
    runs: list[str] = typer.Argument(
        ..., help="Run or sweep directories, `latest` or recipe names (a sweep: each point)."),
    metric: list[str] = typer.Option(None, "--metric", help="Metric (repeatable)."),
    generations: str = typer.Option(
        None, help="Comma-separated generations (default: first and last)."
    ),
    variant: list[str] = typer.Option(None, "--variant", help="Only this variant."),
):
    """Side by side: medians across seeds, and each run's difference from the first with CI."""
    import numpy as np

    from genloop.store.summary import bootstrap_median_difference

    inputs = _compare_inputs(runs)
    frames = [f for _, f in inputs]
    common_metrics = set.intersection(*(set(f["metric"]) for f in frames))
    metrics = (
        metric
        or [
            m
            for m in ("log_variance_change", "w2", "tail_mass", "gmm_l2", "support_size", "entropy")
            if m in common_metrics
        ][:3]
    )
    if not metrics:
        metrics = sorted(common_metrics)[:3]
    missing = [m for m in metrics if m not in common_metrics]
    if missing:
        raise ConfigError(
            f"metric {missing[0]!r} is not in every run; common metrics: "
            f"{', '.join(sorted(common_metrics))}"
        )
    variants = [
        v
        for v in dict.fromkeys(frames[0]["variant"])
        if all(v in set(f["variant"]) for f in frames)
    ]
    if variant:
        variants = [v for v in variants if v in variant]
    if not variants:
        raise ConfigError(
            "the runs share no variant name; compare runs of the same recipe "
            "or pass runs with matching --variant"
        )
    gens = int_list(generations)
    if gens is None:
        last = min(int(f["generation"].max()) for f in frames)
        gens = sorted({0, last})
    labels = [label for label, _ in inputs]
    table = Table(
        title=f"median across seeds; {escape(labels[0])} is the baseline; "
        "difference = run − baseline [95% bootstrap CI]",
        title_justify="left",
    )
    for column in ("variant", "metric", "gen"):
        table.add_column(column)
    for label in labels:
        table.add_column(escape(label), justify="right", overflow="fold")
    for label in labels[1:]:
        table.add_column(escape(f"{label} − {labels[0]}"), justify="right", overflow="fold")
    paired_any = False
    for var in variants:
        for name in metrics:
            for gen in gens:
                values = []
                for frame in frames:
                    rows = frame[
                        (frame["variant"] == var)
                        & (frame["metric"] == name)
                        & (frame["generation"] == gen)
                    ]
                    values.append(dict(zip(rows["seed"], rows["value"], strict=True)))
                if not all(values):
                    continue
                cells = [fmt(float(np.median(list(v.values())))) for v in values]
                diffs = []
                for other in values[1:]:
                    diff, low, high, paired = bootstrap_median_difference(values[0], other)
                    paired_any |= paired
                    diffs.append(f"{fmt(diff)} {_ci(low, high)}")
                table.add_row(escape(str(var)), escape(str(name)), str(gen), *cells, *diffs)
    console.print(table)
    if paired_any:
        console.print(
            "runs with the same seeds are resampled paired by seed (shared real data and streams)",
            style="dim",
        )


@friendly
def report(
    path: str = typer.Argument(..., help=RUN_HELP),
    out: Path = typer.Option(None, "-o", "--out", help="HTML file (default <path>/report.html)."),
    check: bool = typer.Option(
        False,
        "--check",
        metavar="", help="Render it in headless Chromium: "
        "console errors, image sizes, <path>/report_screenshot.png.",
    ),
    mlflow: bool = typer.Option(False, "--mlflow", metavar="",
                                help="Also log it to MLflow (./mlruns)."),
    mlflow_uri: str = typer.Option(None, help="MLflow tracking URI (implies --mlflow)."),
):
    """Write one self-contained HTML report (figures embedded; works offline)."""
    from genloop.report.html import write_report

    path = run_path(path)
    html_path = write_report(path, out)
    console.print(f"wrote {html_path}")
    if check:
        from genloop.core.errors import GenloopError
        from genloop.report.browser import check_page

        shot = path / "report_screenshot.png"
        result = check_page(html_path, shot)
        empty = [alt for w, h, alt in result.images if not (w and h)]
        console.print(
            f"chromium: {len(result.images)} images, {len(empty)} empty, "
            f"{len(result.errors)} console errors; screenshot {shot}"
        )
        if result.errors or empty:
            raise GenloopError(f"report check failed: {(result.errors + empty)[0]}")
    _log_mlflow(path, mlflow, mlflow_uri)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command()(sweep)
    app.command()(query)
    app.command()(compare)
    app.command()(report)
