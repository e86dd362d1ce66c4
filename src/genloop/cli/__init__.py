"""The command line: a thin typer layer over :mod:`genloop.api`.

Every user mistake surfaces as one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from genloop.cli import audit as audit_commands
from genloop.cli import provenance as provenance_commands
from genloop.cli import results as results_commands
from genloop.cli.output import RUN_HELP, console, fmt, friendly, int_list, run_path
from genloop.core.errors import GenloopError
from genloop.metrics.continuous import FLAG_METRICS, flag_lines

app = typer.Typer(
    help="genloop: multi-generation training loops (model collapse, curation, dynamics).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from genloop.core.version import __version__

        console.print(f"genloop {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", metavar="",
                                 help="Print genloop's version and exit.",
                                 callback=_print_version, is_eager=True),
):
    """genloop: multi-generation training loops (model collapse, curation, dynamics)."""


def print_summary(run, generations=None, metrics=None) -> None:
    """The summary table and theory checks of a run, on the console."""
    table_data = run.summary(generations=generations, metrics=metrics)
    if not metrics:
        # Histogram bins (e.g. sample_ppl_hist_07) belong in figures, not in the table;
        # flags (w2_exact) are not values: they become one line below the table.
        table_data = table_data[~table_data["metric"].astype(str).str.contains("_hist_")
                                & ~table_data["metric"].isin(list(FLAG_METRICS))]
    for variant, part in table_data.groupby("variant", sort=False):
        title = f"{run.path.name}" + ("" if variant == "default" else f" — {variant}")
        table = Table(title=escape(title), title_justify="left")  # names are user text
        for col in ("metric", "gen", "median [95% CI]", "10%–90%", "mean ± SE",
                    "theory (mean)"):
            # A number is never cut to "7.583e+0…": it folds onto a second line instead.
            table.add_column(col, justify="left" if col == "metric" else "right",
                             overflow="fold")
        for r in part.itertuples():
            # The CI is a bootstrap over seeds of the median (genloop.store.summary).
            ci = f" [{fmt(r.ci_low)}, {fmt(r.ci_high)}]" if r.seeds > 1 else ""
            table.add_row(
                escape(str(r.metric)), str(r.generation), fmt(r.median) + ci,
                f"{fmt(r.q10)} – {fmt(r.q90)}",
                f"{fmt(r.mean)} ± {fmt(r.sem)}" if r.seeds > 1 else fmt(r.mean),
                fmt(r.theory),
            )
        console.print(table)
    engines = (run.meta or {}).get("engine") or {}
    for variant, engine in engines.items():
        # Which simulator ran (exact / batched fast path, or the sample loop and why).
        label = "engine" if variant == "default" else f"engine [{variant}]"
        console.print(f"{label}: {engine}", highlight=False, markup=False)
    for line in flag_lines(run.metrics, shown=set(table_data["metric"])):
        console.print(line, highlight=False, markup=False)
    for line in run.checks():
        console.print(f"• {line}", highlight=False, markup=False)


@app.command()
@friendly
def run(
    recipe: str = typer.Argument(None, help="Recipe name (see `genloop recipes`) or YAML path."),
    seeds: str = typer.Option(None, help="Seeds: inclusive range 0..99, list 0,3,5, or one int."),
    set_: list[str] = typer.Option(None, "--set", help="Override a config key: key=value."),
    quick: bool = typer.Option(False, "--quick", metavar="",
                               help="Run the recipe's small variant."),
    variant: list[str] = typer.Option(None, "--variant", help="Only this variant (repeatable)."),
    out: Path = typer.Option(None, help="Run directory (default runs/<recipe>__<seeds>__<time>)."),
    resume: Path = typer.Option(None, help="Continue an interrupted run directory."),
    force_new_config: bool = typer.Option(
        False, "--force-new-config", metavar="",
        help="With --resume of a run whose config.yaml was edited: rerun the changed units "
             "afresh (else an edited config is an error)."),
    quiet: bool = typer.Option(False, "--quiet", metavar="", help="No progress bar or summary."),
    mlflow: bool = typer.Option(False, "--mlflow", metavar="", help="Log to MLflow (./mlruns)."),
    mlflow_uri: str = typer.Option(None, help="MLflow tracking URI (implies --mlflow)."),
):
    """Run a recipe (every seed and variant) into a run directory."""
    from genloop import api

    if recipe is None and resume is None:
        raise GenloopError("name a recipe (see `genloop recipes`) or pass --resume RUN_DIR")
    if resume is not None and (set_ or quick or seeds or variant):
        raise GenloopError(
            "--resume continues a run with its saved config; drop --set/--quick/--seeds/--variant"
        )
    if force_new_config and resume is None:
        raise GenloopError("--force-new-config goes with --resume RUN_DIR")
    result = api.run(recipe, seeds=seeds, overrides=set_ or None, quick=quick, out=out,
                     resume=resume, progress=not quiet, variants=variant or None,
                     force_new_config=force_new_config)
    if not quiet:
        print_summary(result)
        console.print(f"run directory: {result.path}", markup=False, highlight=False)
    _print_ledger_hash(result.path)
    if mlflow or mlflow_uri:
        from genloop.report.tracking import log_to_mlflow

        run_id = log_to_mlflow(result.path, mlflow_uri)
        if not quiet:
            console.print(f"logged to MLflow run {run_id} ({mlflow_uri or 'mlruns/'})")


def _print_ledger_hash(path: Path) -> None:
    """The run manifest's sha256, to keep outside the run (printed even with --quiet)."""
    from genloop.provenance.manifest import file_sha256, run_manifest_path

    manifest = run_manifest_path(path)
    if manifest.is_file():
        digest = file_sha256(manifest)
        console.print(f"ledger sha256 {digest}; keep it to check the run later with: genloop "
                      f"ledger verify {path} --expect {digest}", highlight=False, markup=False,
                      soft_wrap=True)


@app.command()
@friendly
def recipes():
    """List the shipped recipes with their one-line descriptions."""
    from genloop.core.config import known_recipes, recipe_description

    table = Table(title="recipes (genloop run NAME [--quick])", title_justify="left")
    table.add_column("name")
    table.add_column("description")
    for name, path in known_recipes().items():
        table.add_row(name, recipe_description(path))
    console.print(table)


@app.command("runs")
@friendly
def list_runs(
    root: Path = typer.Option(None, help="The runs folder (default runs/)."),
    limit: int = typer.Option(20, help="Show the newest N (0: all)."),
):
    """The runs and sweeps under runs/, newest first: recipe, seeds, variants, status, time."""
    from genloop.store.catalog import list_runs as catalog

    runs = catalog(root)
    if runs.empty:
        console.print(f"no runs under {root or 'runs'}/ yet; start one with `genloop run NAME`",
                      highlight=False, markup=False)
        return
    shown = runs if limit <= 0 else runs.head(limit)
    table = Table(title=f"{len(runs)} run(s) under {escape(str(root or 'runs'))}/, newest first "
                        "(`genloop show latest` or `genloop show RECIPE` opens the newest)",
                  title_justify="left")
    for column in ("run", "recipe", "seeds", "variants", "status", "started", "seconds"):
        table.add_column(column, overflow="fold")
    for row in shown.itertuples():
        seconds = "" if row.seconds is None or row.seconds != row.seconds else f"{row.seconds:.1f}"
        table.add_row(*(escape(str(v or "")) for v in (row.run, row.recipe, row.seeds,
                                                        row.variants, row.status, row.started)),
                      seconds)
    console.print(table)
    if len(runs) > len(shown):
        console.print(f"… {len(runs) - len(shown)} older (--limit 0 shows all)")


@app.command()
@friendly
def show(
    run_dir: str = typer.Argument(..., help=RUN_HELP),
    generations: str = typer.Option(None, help="Comma-separated generations to show."),
    metric: list[str] = typer.Option(None, "--metric", help="Only these metrics (repeatable)."),
):
    """Summary table: medians with bootstrap CI, 10–90% quantiles, mean ± SE and theory."""
    from genloop import api
    from genloop.sweep import Sweep, is_sweep

    run_dir = run_path(run_dir)
    if is_sweep(run_dir):
        from genloop.cli.results import print_sweep_summary

        print_sweep_summary(Sweep(run_dir), int_list(generations), metric or None)
        return
    print_summary(api.load(run_dir), generations=int_list(generations), metrics=metric or None)


@app.command()
@friendly
def plot(
    run_dir: str = typer.Argument(..., help=RUN_HELP),
    out: Path = typer.Option(None, help="Folder for the PNGs (default <run>/figures)."),
):
    """Write the run's figures as PNG files."""
    from genloop import api

    for path in api.load(run_path(run_dir)).plot(out):
        console.print(f"wrote {path}", markup=False, highlight=False)


@app.command()
@friendly
def demo(
    out: Path = typer.Option(None, help="Run directory (default runs/demo__...)."),
):
    """Run a ten-second collapse study on built-in data and say what collapsed."""
    from genloop.demo import run_demo

    run_demo(out=out, console=console)


# The subcommand modules define commands; the root registers them (they never import it).
audit_commands.register(app)  # audit
provenance_commands.register(app)  # ledger verify, lineage, export
results_commands.register(app)  # sweep, query, compare, report

if __name__ == "__main__":  # pragma: no cover
    app()
