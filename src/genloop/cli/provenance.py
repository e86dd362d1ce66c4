"""CLI commands for provenance: ``ledger verify``, ``lineage`` and ``export``.

Registered on the main app by the last lines of :mod:`genloop.cli`.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from genloop.cli.output import RUN_HELP, console, friendly, plain, run_path
from genloop.core.errors import DataError

ledger_app = typer.Typer(help="The provenance ledger of a run (docs/curation.md).",
                         no_args_is_help=True)


@ledger_app.command("verify")
@friendly
def verify(
    run_dir: str = typer.Argument(..., help=RUN_HELP),
    expect: str = typer.Option(None, "--expect", metavar="SHA256",
                               help="The run manifest's sha256 as `genloop run` printed it: "
                               "also catches a rewrite of the whole ledger."),
):
    """Check every generation's data and ledger against the hash-chained manifests, and
    the set of units and generations against the run manifest.

    Exit 0 when intact; exit 1 with one line per problem (the first of each unit).
    """
    run_dir = run_path(run_dir)
    from genloop.provenance.ledger import unit_dirs
    from genloop.provenance.ledger import verify as verify_run

    problems = verify_run(run_dir, expect=expect)
    for line in problems:
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)
    units = unit_dirs(run_dir)
    generations = sum(len(list(p.glob("gen*.manifest.json"))) for p in units.values())
    if not units:
        console.print(f"{run_dir}: no ledger to verify (ledger off, or a fast engine ran)",
                      highlight=False, markup=False)
        return
    from genloop.provenance.manifest import file_sha256, run_manifest_path

    # Without --expect, a rewrite of everything would also read "intact": say which hash
    # this verdict rests on, so it can be compared with the one kept elsewhere.
    anchor = "as expected" if expect else "compare it with the one kept when the run ended"
    console.print(f"intact: {len(units)} unit(s), {generations} generation(s); run manifest "
                  f"sha256 {file_sha256(run_manifest_path(run_dir))} ({anchor})",
                  highlight=False, markup=False, soft_wrap=True)
    from genloop.provenance.certificate import read_certificate

    certificate = read_certificate(run_dir)
    if certificate:
        count = len((certificate.get("forgotten") or {}).get("ids") or [])
        plain(f"unlearning certificate holds: {count} forgotten id(s), no ledger row is or "
              f"descends from one; certificate sha256 {certificate['certificate_sha256']}")


def _print_related(title: str, related, limit: int) -> None:
    counts = related.counts()
    console.print(f"{title} of {related.sample_id}: {len(related.rows)}", highlight=False,
                  markup=False)
    for origin, count in counts.items():
        first = related.rows[related.rows.origin == origin].sample_id.head(limit).tolist()
        more = f" … (+{count - len(first)})" if count > len(first) else ""
        console.print(f"  {origin:>8}: {count:>7}  {', '.join(first)}{more}", highlight=False,
                      markup=False, soft_wrap=True)


def _unit_of_sample(run_dir: Path, sample: str, variant: str | None, seed: int | None):
    """The unit whose ledger holds ``sample`` (real rows are shared by variants)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from genloop.provenance.ledger import unit_dirs

    units = {k: p for k, p in unit_dirs(run_dir).items()
             if (variant is None or k[0] == variant) and (seed is None or k[1] == seed)}
    if not units:
        raise DataError(f"{run_dir} has no ledger for variant {variant} seed {seed}")
    if len(units) == 1:
        return next(iter(units))
    holding = []
    for key, path in units.items():
        for file in sorted(path.glob("gen*.ledger.parquet")):
            ids = pq.read_table(file, columns=["sample_id"]).column("sample_id")
            if pc.any(pc.equal(ids, sample)).as_py():
                holding.append(key)
                break
    if len(holding) != 1:
        found = ", ".join(f"{v}/seed {s}" for v, s in holding) or "no unit"
        raise DataError(f"sample {sample!r} is in {found}; name one with --variant and --seed")
    return holding[0]


@friendly
def lineage(
    run_dir: str = typer.Argument(..., help=RUN_HELP),
    sample: str = typer.Option(None, "--sample", help="A sample id: show its ancestors and "
                               "descendants."),
    origin: str = typer.Option(None, "--origin", help="real or gen:<k>: how much of a pool "
                               "comes from it (with --generation)."),
    generation: int = typer.Option(None, "--generation", help="The pool for --origin "
                                   "(default: the last)."),
    variant: str = typer.Option(None, help="Variant (needed when the run has several)."),
    seed: int = typer.Option(None, help="Seed (default: every seed for --origin)."),
    limit: int = typer.Option(5, help="Sample ids printed per origin."),
):
    """Ancestors and descendants of a sample, or the (transitive) origin of a pool."""
    run_dir = run_path(run_dir)
    from genloop.provenance.ledger import unit_dirs
    from genloop.provenance.lineage import Lineage

    if (sample is None) == (origin is None):
        raise DataError("give exactly one of --sample ID or --origin real|gen:<k>")
    if sample is not None:
        unit_variant, unit_seed = _unit_of_sample(run_dir, sample, variant, seed)
        found = Lineage.load(run_dir, unit_variant, unit_seed)
        console.print(f"unit: variant {unit_variant}, seed {unit_seed}", highlight=False,
                      markup=False)
        _print_related("ancestors", found.ancestors(sample), limit)
        _print_related("descendants", found.descendants(sample), limit)
        return
    units = [k for k in unit_dirs(run_dir)
             if (variant is None or k[0] == variant) and (seed is None or k[1] == seed)]
    if not units:
        raise DataError(f"{run_dir} has no ledger for variant {variant} seed {seed}")
    table = Table(title=f"origin {origin}: direct share, transitive weight and synthetic "
                  "depth of each pool (docs/curation.md)", title_justify="left")
    for column in ("variant", "seed", "gen", "rows", "direct", "transitive", "depth",
                   "largest shares"):
        table.add_column(column, overflow="fold",  # numbers fold, never cut to "0.7…"
                         justify="left" if column[0] in "vl" else "right")
    for unit_variant, unit_seed in units:
        found = Lineage.load(run_dir, unit_variant, unit_seed)
        g = found.generations if generation is None else generation
        report = found.origin_report(g, origin)
        # accumulate pools hold every origin: name the two largest
        largest = sorted(report["shares"].items(), key=lambda item: -item[1])
        shares = ", ".join(f"{o} {s:.0%}" for o, s in largest[:2])
        shares += f", … (+{len(largest) - 2})" if len(largest) > 2 else ""
        table.add_row(unit_variant, str(unit_seed), str(g), str(report["rows"]),
                      f"{report['direct']:.3f}", f"{report['transitive']:.3f}",
                      f"{report['synthetic_depth']:.2f}", shares)
    console.print(table)


@friendly
def export(
    run_dir: str = typer.Argument(..., help=RUN_HELP),
    generation: int = typer.Option(..., "--generation", help="The pool to export."),
    out: Path = typer.Option(..., "-o", "--out", help="FILE.csv, FILE.parquet or FILE.jsonl."),
    variant: str = typer.Option(None, help="Variant (needed when the run has several)."),
    seed: int = typer.Option(None, help="Seed (default: the lowest)."),
):
    """Write one generation's pool (sample ids, origins and data) as CSV, Parquet or JSONL.

    JSONL of a text pool holds one ``{"sample_id", "origin", "text"}`` object per line.
    """
    run_dir = run_path(run_dir)
    from genloop.core.run_dir import atomic_write_parquet, atomic_write_text
    from genloop.provenance.ledger import load_pool

    frame = load_pool(run_dir, generation, variant=variant, seed=seed)
    suffix = out.suffix.lower()
    if suffix == ".parquet":
        atomic_write_parquet(out, frame)
    elif suffix == ".csv":
        if "tokens" in frame:
            frame = frame.assign(tokens=[" ".join(map(str, t)) for t in frame.tokens])
        atomic_write_text(out, frame.to_csv(index=False))
    elif suffix == ".jsonl":
        if "text" in frame:
            frame = frame[["sample_id", "origin", "text"]]
        elif "tokens" in frame:
            frame = frame.assign(tokens=[list(map(int, t)) for t in frame.tokens])
        atomic_write_text(out, frame.to_json(orient="records", lines=True, force_ascii=False))
    else:
        raise DataError(f"--out {out}: use a .csv, .parquet or .jsonl file name")
    console.print(f"wrote {len(frame)} rows to {out}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(ledger_app, name="ledger")
    app.command()(lineage)
    app.command()(export)
    app.command()(unlearn)


@friendly
def unlearn(
    run_dir: str = typer.Argument(..., help=RUN_HELP),
    sample: list[str] = typer.Option([], "--sample", metavar="ID",
                                     help="A sample id to forget (repeatable)."),
    real_index: list[int] = typer.Option([], "--real-index", metavar="I",
                                         help="The real row <hash>-gr-I of every unit."),
    where: list[str] = typer.Option([], "--where", metavar="COLUMN=VALUE",
                                    help="Every real row of generation 0 whose pool column "
                                    "(x0.., value, text) equals VALUE."),
    out: Path = typer.Option(None, "--out", "-o", help="The new run directory."),
    no_membership: bool = typer.Option(False, "--no-membership",
                                       help="Skip the membership score (two refits per unit)."),
):
    """Forget records: a new run as if they had never been in the data, with its reach,
    its cost against a full rerun and a certificate that `genloop ledger verify` checks
    (docs/unlearning.md)."""
    from genloop.api import unlearn as unlearn_run

    result = unlearn_run(run_path(run_dir), samples=sample, real_index=real_index,
                         where=where, out=out, progress=True,
                         membership_check=not no_membership)
    _print_unlearning(result)


def _signed(value: float) -> str:
    return "n/a (infinite log-likelihoods)" if value != value else f"{value:+.1f}"


def _print_unlearning(result) -> None:
    plain(f"forgot {len(result.forget)} record(s): {', '.join(result.forget[:5])}"
        + (f" ... (+{len(result.forget) - 5})" if len(result.forget) > 5 else ""))
    table = Table("unit", "first pool", "action", "reach per generation (rows, share)",
                  "models affected")
    for reach in result.reach:
        label = reach.label
        if reach.first is None:
            table.add_row(label, "-", reach.action, "-", "0")
            continue
        steps = reach.per_generation()
        shown = ", ".join(f"g{s['generation']}: {s['rows']} ({s['share']:.1%})"
                          for s in steps[:6]) + (f", ... ({len(steps)} generations)"
                                                 if len(steps) > 6 else "")
        if reach.holdout:
            shown = f"held-out: {reach.holdout}; " + shown
        models = reach.models()
        table.add_row(label, str(reach.first), reach.action, shown,
                      f"{len(models)} (gen {reach.first}–{reach.generations})" if models
                      else "0")
    console.print(table)
    for reach in result.reach:
        found = reach.descendants()
        if len(found):
            listed = ", ".join(f"g{int(g)} {i}" for g, i in
                               zip(found["generation"][:6], found["sample_id"][:6], strict=True))
            more = f" ... (+{len(found) - 6})" if len(found) > 6 else ""
            plain(f"descendants in {reach.label}: {listed}{more}")
    full = f" of {result.old_seconds:.1f} s for the whole run" if result.old_seconds else ""
    plain(f"cost: {result.generations_rerun} of {result.generations_total} unit-generations "
        f"recomputed ({result.generations_total - result.generations_rerun} reused); "
        f"{result.seconds:.1f} s{full}")
    for score in result.membership:
        for generation in sorted({int(k[3:].split("_")[0]) for k in score if k.startswith("gen")}):
            where = f"{score['point']} " if score.get("point") else ""
            before = score[f"gen{generation}_rank_old"]
            after = score[f"gen{generation}_rank_new"]
            plain(f"membership in {where}{score['unit']}, generation {generation}'s model: rank "
                f"among {score['heldout_rows']} held-out rows {before:.2f} before, {after:.2f} "
                f"after (0.5 = looks unseen); likelihood drop z = "
                f"{_signed(score[f'gen{generation}_shift_z'])}")
    if result.points:
        plain(f"new sweep: {result.path}")
        for point, part in result.points.items():
            plain(f"certificate of point {point}: sha256 {part.certificate_sha256}; check it "
                f"with: genloop ledger verify {part.path}")
        return
    plain(f"new run: {result.path}")
    plain(f"certificate: {result.path / 'unlearning.json'} sha256 {result.certificate_sha256}; "
        f"check it with: genloop ledger verify {result.path}")
