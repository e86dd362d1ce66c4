"""CLI command ``audit``: a synthetic dataset measured against real data.

Registered on the main app by the last lines of :mod:`genloop.cli`.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import typer

from genloop.cli.output import console, friendly


@friendly
def audit(
    real: str = typer.Option(..., "--real", help="Real data: CSV/NPY/Parquet/TXT/JSONL, a "
                             "folder, hf:NAME or run:RUN_DIR@GENERATION."),
    synthetic: str = typer.Option(..., "--synthetic", help="Synthetic data (same forms, or a "
                                  "run directory with --generation)."),
    holdout: str = typer.Option(None, "--holdout", help="Real rows the generator never saw "
                                "(the baseline; default: half of the real rows)."),
    kind: str = typer.Option("auto", help="auto | vectors | categorical | text."),
    out: Path = typer.Option(Path("audit.html"), "-o", "--out", help="The HTML report."),
    mix: str = typer.Option("keep_fraction=0.2", help="Projection mixing policy: replace, "
                            "keep_fraction=0.2, accumulate, mix=ALPHA,BETA,GAMMA, ..."),
    generations: int = typer.Option(10, help="Projected generations."),
    seeds: str = typer.Option("0..2", help="Projection seeds: 0..2, 0,3,5 or one int."),
    label_column: str = typer.Option(None, help="Class labels of real vector rows: missing "
                                     "and rare classes are named."),
    quick: bool = typer.Option(False, "--quick", metavar="",
                               help="Fewer rows, splits, generations, seeds."),
    generation: int = typer.Option(None, help="Pool generation when --synthetic is a run."),
    variant: str = typer.Option(None, help="Variant of that run."),
    seed: int = typer.Option(None, help="Seed of that run (default: its lowest)."),
    splits: int = typer.Option(5, help="Seeded real splits (the sampling error)."),
    max_rows: int = typer.Option(2000, help="Rows per compared part, at most."),
    synthetic_share: float = typer.Option(0.5, help="Synthetic share of the projection's "
                                          "starting mix."),
    projection: bool = typer.Option(True, "--projection/--no-projection",
                                    metavar="",
                                    help="Run the proxy projection (the slowest part)."),
    audit_seed: int = typer.Option(0, help="Seed of the splits, detector and mix."),
    table: Path = typer.Option(None, help="Also write every finding as CSV."),
):
    """Audit synthetic data against real data: tails, fidelity, detection, copies, projection."""
    from genloop.audit import audit as run_audit
    from genloop.core.config import parse_seeds
    from genloop.core.errors import ConfigError

    for flag, path in (("-o", out), ("--table", table)):
        # Checked before the audit runs (minutes), not when the report is written.
        if path is not None and path.is_dir():
            raise ConfigError(f"{flag} {path} is a directory; name the file to write "
                              f"(e.g. {path / ('audit.html' if flag == '-o' else 'audit.csv')})")

    # The command as parsed (not sys.argv, which is the host's under a test runner or
    # notebook), with every default spelled out so the report's numbers can be remade.
    options = {"--real": real, "--synthetic": synthetic, "--holdout": holdout, "--kind": kind,
               "--mix": mix, "--generations": generations, "--seeds": seeds,
               "--label-column": label_column, "--generation": generation,
               "--variant": variant, "--seed": seed, "--splits": splits,
               "--max-rows": max_rows, "--synthetic-share": synthetic_share,
               "--audit-seed": audit_seed, "-o": out}
    words = ["genloop", "audit"] + [f"{k} {shlex.quote(str(v))}" for k, v in options.items()
                                    if v is not None]
    words += ["--quick"] * quick + ["--no-projection"] * (not projection)
    command = " ".join(words)
    result = run_audit(
        real, synthetic, holdout=holdout, kind=kind, mix=mix, generations=generations,
        seeds=parse_seeds(seeds), label_column=label_column, quick=quick, splits=splits,
        max_rows=max_rows, seed=audit_seed, synthetic_share=synthetic_share,
        projection=projection, generation=generation, variant=variant, pool_seed=seed,
        command=command,
    )
    for line in result.verdicts:
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    path = result.to_html(out)
    console.print(f"wrote {path}", highlight=False, markup=False)
    if table is not None:
        result.to_frame().to_csv(table, index=False)
        console.print(f"wrote {table}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command()(audit)
