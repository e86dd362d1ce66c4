"""Unlearning a record: find what descends from it, rerun without it, certify.

``genloop unlearn RUN --sample ID -o NEW`` (and :func:`genloop.unlearn`):

1. **Find.** The request (sample ids, a real row's index, or a column value) is resolved
   against RUN's provenance ledger. A real record is its content, so every real row with
   its content hash, in any unit, is the record; a generated row is its id. Its reach is
   every ledger row whose parent chain meets it (LM continuations of a forgotten prompt),
   per generation with its share of the pool, and every model of a generation at or after
   the first pool that holds it.
2. **Forget exactly.** NEW is the run of RUN's config with ``forget:`` listing the record
   (:mod:`genloop.collapse.forget`). A unit the record never reached is copied; a unit it
   reached first in generation ``p``'s pool resumes at generation ``p - 1`` — the step that
   drew it — from that generation's pool as RUN's ledger holds it, through the runner's
   ordinary checkpoint resume, so every generation before is reused, not recomputed. A
   fresh ``genloop run`` of the same config with the same ``forget:`` gives the same bytes.
3. **Certify.** ``unlearning.json`` (:mod:`genloop.provenance.certificate`) records the
   request, the forgotten content and ids, each unit's action, the ledger hashes of both
   runs and a check that no row of NEW's ledger is or descends from the record;
   ``genloop ledger verify NEW`` re-checks it.
4. **Cost and membership.** The generations recomputed against a full rerun, and a
   loss-rank membership score of the record under RUN's and NEW's models.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from genloop.collapse.forget import ForgetSet, parse_sample_id, split_without
from genloop.core.errors import DataError
from genloop.core.registry import build_family, build_source
from genloop.core.run_dir import RunDir, default_root
from genloop.provenance.certificate import forgotten_rows, ledger_rows, write_certificate
from genloop.provenance.ledger import pool_from_ledger, unit_dirs
from genloop.provenance.manifest import file_sha256, generation_stem, run_manifest_path


@dataclass
class UnitReach:
    """What the record reached in one unit and what unlearning does there.

    Attributes
    ----------
    variant, seed :
        The unit.
    rows : DataFrame
        Ledger rows that are the record or descend from it (``sample_id``,
        ``generation``, ``in_pool``, ...).
    pool_sizes : dict
        Generation → rows in that generation's pool.
    first : int or None
        The first generation whose pool (or held-out data: 0) holds the record; None
        when the record never reached the unit.
    holdout : int
        Held-out rows of the unit that are the record.
    generations : int
        The unit's last generation.
    """

    variant: str
    seed: int
    rows: pd.DataFrame
    pool_sizes: dict[int, int]
    first: int | None
    holdout: int = 0
    generations: int = 0
    action: str = ""
    restart: int | None = None
    #: the sweep point this unit belongs to ("" for a plain run)
    point: str = ""
    #: the unit's held-out rows without the forgotten records (for the membership score)
    heldout: np.ndarray | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """``variant v seed s`` (with the sweep point first, in a sweep)."""
        return f"{self.point + ' ' if self.point else ''}{self.variant} seed {self.seed}"

    @property
    def unit(self) -> str:
        return f"{self.variant}__seed{self.seed:06d}"

    def per_generation(self) -> list[dict]:
        """Per generation: rows of the pool that are or descend from the record, and share."""
        pooled = self.rows[self.rows["in_pool"].astype(bool)]
        counts = pooled.groupby("generation").size()
        return [{"generation": int(g), "rows": int(k), "pool_size": self.pool_sizes.get(int(g), 0),
                 "share": k / max(self.pool_sizes.get(int(g), 1), 1)}
                for g, k in counts.items()]

    def descendants(self) -> pd.DataFrame:
        """The reached rows that descend from the record (an LM continuation and its own
        descendants), not the record itself."""
        return self.rows[self.rows["parent_id"].astype(str) != ""]

    def models(self) -> list[str]:
        """Model ids of every generation trained on the record or what descends from it."""
        if self.first is None:
            return []
        return [f"{self.variant}/seed{self.seed}/gen{g}"
                for g in range(self.first, self.generations + 1)]


@dataclass
class UnlearnResult:
    """What :func:`unlearn` did (also written to ``unlearning.json``)."""

    path: Path
    forget: list[str]
    reach: list[UnitReach]
    seconds: float
    old_seconds: float | None
    generations_rerun: int
    generations_total: int
    certificate_sha256: str
    membership: list[dict] = field(default_factory=list)
    ledger_sha256: str | None = None
    #: a sweep's points, each a run with its own certificate (empty for a plain run)
    points: dict[str, UnlearnResult] = field(default_factory=dict)


# --- 1. find ------------------------------------------------------------------------------

def _pool_columns(directory: Path, generation: int) -> pd.DataFrame:
    return pd.read_parquet(directory / f"{generation_stem(generation)}.pool.parquet")


def resolve_request(run_dir: Path, units: dict, samples=(), real_index=(), where=(),
                    ledgers: dict | None = None) -> list[str]:
    """The sample ids to forget for a request (see :func:`unlearn`).

    ``ledgers`` (unit key → :func:`~genloop.provenance.certificate.ledger_rows`) saves
    reading the ledgers again when the caller has them.

    Raises
    ------
    DataError
        A requested id, index or value matches no row of the run's ledger.
    """
    found: dict[str, None] = {}  # ordered set
    if ledgers is None:
        ledgers = {key: ledger_rows(directory) for key, directory in units.items()}
    known = set().union(*(set(rows["sample_id"]) for rows in ledgers.values()))
    for sample_id in samples:
        try:
            parse_sample_id(sample_id)
        except ValueError as exc:
            raise DataError(str(exc).removeprefix("forget: ")) from None
        if sample_id not in known:
            raise DataError(f"{run_dir} has no row {sample_id} in its ledger (genloop export "
                            f"{run_dir} --generation G writes a pool's rows with their ids)")
        found[sample_id] = None
    for index in real_index:
        ids = [i for i in known if i.endswith(f"-gr-{int(index)}")]
        if not ids:
            raise DataError(f"{run_dir} has no real row with index {index} in its ledger")
        found.update(dict.fromkeys(sorted(ids)))
    for condition in where:
        column, sep, value = condition.partition("=")
        if not sep or not column:
            raise DataError(f"--where takes COLUMN=VALUE, got {condition!r}")
        hits = []
        for directory in units.values():
            data = _pool_columns(directory, 0)
            if column not in data:
                raise DataError(f"--where {condition}: the data has no column {column!r}; its "
                                f"columns: {', '.join(c for c in data if c != 'sample_id')}")
            values = data[column]
            if pd.api.types.is_numeric_dtype(values):
                try:
                    target = float(value)
                except ValueError:
                    raise DataError(f"--where {condition}: column {column} is numeric, "
                                    f"{value!r} is not a number") from None
                match = values.to_numpy(dtype=float) == target
            else:
                match = values.astype(str).to_numpy() == value
            hits += data.loc[match, "sample_id"].tolist()
        if not hits:
            raise DataError(f"--where {condition}: no real row of generation 0 matches")
        found.update(dict.fromkeys(hits))
    if not found:
        raise DataError("unlearn: name what to forget (--sample ID, --real-index I or "
                        "--where COLUMN=VALUE)")
    return list(found)


def find_reach(run_dir: Path, recipe, units: dict, forget: ForgetSet,
               ledgers: dict | None = None) -> list[UnitReach]:
    """Every unit's :class:`UnitReach` for ``forget`` (ledger, plus each held-out split)."""
    reach = []
    for (variant, seed), directory in sorted(units.items()):
        rows = ledgers[(variant, seed)] if ledgers is not None else ledger_rows(directory)
        hit = forgotten_rows(rows, forget.real, forget.generated)
        pools = rows[rows["in_pool"].astype(bool)].groupby("generation").size()
        config = recipe.variants[variant]
        holdout, heldout = 0, None
        if forget.real:
            # Held-out rows are not training data and have no ledger; the split says.
            _, heldout, counts = split_without(build_source(config.source), config.n,
                                               config.holdout, seed, forget)
            holdout = counts["holdout"]
        first = None
        if len(hit):
            first = int(hit["generation"].min())
        if holdout:
            first = 0
        reach.append(UnitReach(variant, seed, hit, {int(g): int(k) for g, k in pools.items()},
                               first, holdout, int(rows["generation"].max()),
                               heldout=heldout if first is not None else None))
    return reach


# --- 2. forget ------------------------------------------------------------------------------

def _copy_unit(old: RunDir, new: RunDir, unit: str) -> None:
    shutil.copy2(old.unit_file(unit), new.unit_file(unit))
    for folder in (old.ledger_dir(unit), old.path / "artifacts" / unit):
        if folder.is_dir():
            shutil.copytree(folder, new.path / folder.relative_to(old.path), dirs_exist_ok=True)


def _prepare_resume(old: RunDir, new: RunDir, reach: UnitReach) -> int:
    """Set NEW's unit up to resume at the step that drew the record; the restart generation.

    Generations before ``restart`` are copied from RUN (ledger files, metric rows,
    density snapshots); the checkpoint holds generation ``restart``'s pool as RUN's ledger
    recorded it. Returns 0 (a plain rerun of the unit) when there is nothing to reuse or
    the recorded pool cannot be rebuilt exactly.
    """
    restart = max(reach.first - 1, 0)
    if restart == 0:
        return 0
    unit, directory = reach.unit, old.ledger_dir(reach.unit)
    try:
        pool = pool_from_ledger(directory, restart)
    except DataError:
        return 0  # the ledger does not hold the pool bit for bit: recompute the unit
    metrics = pd.read_parquet(old.unit_file(unit))
    kept = metrics[metrics["generation"] < restart]
    rows = list(kept[["variant", "seed", "generation", "metric", "value"]]
                .itertuples(index=False, name=None))
    at_restart = metrics[metrics["generation"] == restart]
    # The curation statistics of the restart pool, as the checkpoint of a resumed run keeps.
    stats = {f"stat.{m}": np.array([v]) for m, v in zip(at_restart["metric"],
                                                        at_restart["value"], strict=True)}
    target = new.ledger_dir(unit)
    target.mkdir(parents=True, exist_ok=True)
    for generation in range(restart + 1):
        for path in directory.glob(f"{generation_stem(generation)}.*"):
            shutil.copy2(path, target / path.name)
    artifacts = old.path / "artifacts" / unit
    for path in artifacts.glob("snapshot_gen*.safetensors") if artifacts.is_dir() else []:
        if int(path.stem.removeprefix("snapshot_gen")) < restart:
            shutil.copy2(path, new.artifact_dir(unit) / path.name)
    new.save_checkpoint(unit, restart - 1, rows, pool.to_arrays() | stats)
    return restart


# --- 4. membership ----------------------------------------------------------------------------

def membership(old: RunDir, new: RunDir, recipe, reach: UnitReach, forget: ForgetSet) -> dict:
    """Membership scores of the forgotten real record under RUN's and NEW's models.

    Two loss-based scores (Yeom et al. 2018), for generation 0 and the last generation:

    * ``rank_old`` / ``rank_new``: the share of the unit's held-out real rows that the
      model finds less likely than the record (0.5: it looks like an unseen row; near 1:
      the model prefers it, as models prefer what they were trained on). Only fair when
      the held-out rows come from the record's distribution (a held-out *play* is not).
    * ``shift_z``: the record's drop in log-likelihood from RUN's model to NEW's, in
      standard deviations of the same drop over held-out rows (neither model saw them).
      A clearly positive z says RUN's model treated the record as seen and NEW's does not
      (the difference attack of Chen et al. 2021, which a shifted held-out set does not
      bias).

    Models are refitted from the ledgers' pools with the runs' own fit streams, so they
    are the runs' models. Neither score proves that no trace is left; the exactness of
    NEW comes from the rerun, the scores only show what an attacker of this kind sees.
    """
    from genloop.collapse.loop import fit_model
    from genloop.provenance.hashing import content_hashes

    config = recipe.variants[reach.variant]
    source = build_source(config.source)
    template = build_family(config.family, source)
    holdout = reach.heldout  # find_reach drew it for every unit a real record reached
    if not hasattr(template, "score_samples") or holdout is None:
        return {}
    old_pool = pool_from_ledger(old.ledger_dir(reach.unit), 0)
    record = forget.real_rows(content_hashes(old_pool.X))
    if not record.any() or len(holdout) < 2:
        return {}
    rows = old_pool.X[record]
    out: dict = {"unit": reach.unit, "heldout_rows": int(len(holdout))}
    for generation in sorted({0, reach.generations}):
        scored = {}
        for label, run in (("old", old), ("new", new)):
            pool = pool_from_ledger(run.ledger_dir(reach.unit), generation)
            model = fit_model(template, pool, reach.seed, generation)
            scored[label] = (np.asarray(model.score_samples(holdout), dtype=float),
                             float(np.mean(model.score_samples(rows))))
            out[f"gen{generation}_rank_{label}"] = float(np.mean(scored[label][0]
                                                                 < scored[label][1]))
        # An n-gram model gives an unseen n-gram -inf: such rows have no finite drop.
        drops = scored["old"][0] - scored["new"][0]
        drops = drops[np.isfinite(drops)]
        mine = scored["old"][1] - scored["new"][1]
        spread = float(np.std(drops)) if len(drops) > 1 else 0.0
        out[f"gen{generation}_shift_z"] = ((mine - float(np.mean(drops))) / max(spread, 1e-12)
                                           if np.isfinite(mine) and len(drops) > 1
                                           else float("nan"))
    return out


# --- the whole -------------------------------------------------------------------------------

def check_run(old: RunDir) -> tuple[dict, object, dict, dict]:
    """``(config, its resolved Recipe, meta, ledger unit folders)`` of a run unlearning
    can work on.

    Raises
    ------
    DataError
        Not a collapse run, not finished, or a variant keeps no ledger.
    """
    raw = old.read_config()
    meta = old.read_meta()
    if raw.get("bench") != "collapse":
        raise DataError(f"{old.path}: unlearn works on collapse runs; this is a "
                        f"{raw.get('bench')!r} run")
    if not old.finished():
        raise DataError(f"{old.path} did not finish; resume it first (genloop run --resume "
                        f"{old.path})")
    from genloop.core.config import resolve
    from genloop.core.runner import ledger_plan

    recipe = resolve(raw)
    # What the run planned (a sweep point's meta.json does not record it)
    plan = meta.get("ledger") or ledger_plan(recipe)
    for variant, state in plan.items():
        if state != "on":
            raise DataError(
                f"{old.path}: variant {variant} keeps no ledger ({state.removeprefix('off: ')})"
                "; unlearning needs one: rerun it with --set engine=samples --set ledger=on"
            )
    units = unit_dirs(old.path)
    if not plan or not units:
        raise DataError(f"{old.path} has no provenance ledger (a fast engine ran, or "
                        "ledger: off); rerun it with --set engine=samples --set ledger=on")
    return raw, recipe, meta, units


def unlearn(run, *, samples=(), real_index=(), where=(), out=None, progress: bool = False,
            membership_check: bool = True, forget_ids: list[str] | None = None) -> UnlearnResult:
    """Forget records of a finished collapse run: a new run as if they had never been there.

    Parameters
    ----------
    run : path or str
        The run directory (``latest`` or a recipe name finds the newest run).
    samples : list of str
        Sample ids to forget (``genloop export`` and ``genloop lineage`` print them).
    real_index : list of int
        Real rows by their index in the original data (``<hash>-gr-<index>``), in every
        unit.
    where : list of str
        ``COLUMN=VALUE`` conditions on generation 0's pool columns (``x0``, ``value``,
        ``text``): every real row that matches.
    out : path, optional
        The new run directory (default ``runs/<recipe>-unlearned__<seeds>__<time>``).
    progress : bool
        Show a progress bar while units rerun.
    membership_check : bool
        Score the record's membership under the old and new models (refits two models
        per affected unit).
    forget_ids : list of str, optional
        Ids already resolved (a sweep resolves its request over every point once); the
        request arguments are then only recorded.

    Returns
    -------
    UnlearnResult

    Raises
    ------
    DataError
        The run did not finish, keeps no ledger, or nothing matches the request.
    """
    from genloop.core.config import resolve
    from genloop.core.runner import execute
    from genloop.provenance.ledger import seal
    from genloop.store.catalog import find_run

    old = RunDir(find_run(run))
    raw, old_recipe, meta, units = check_run(old)
    ledgers = {key: ledger_rows(directory) for key, directory in units.items()}
    ids = forget_ids if forget_ids is not None else resolve_request(
        old.path, units, samples, real_index, where, ledgers)
    forget_ids = sorted(set(raw.get("forget") or []) | set(ids))
    forget = ForgetSet.from_ids(forget_ids)
    # As `--set forget=[...]` would set it (into every variant too), so that a fresh run
    # with that override is the same experiment, down to config.yaml. First: it refuses
    # what cannot be forgotten (a real categorical row) before any work.
    recipe = resolve(raw, overrides={"forget": forget_ids})
    reach = find_reach(old.path, old_recipe, units, forget, ledgers)
    new = RunDir.create(default_root(), f"{recipe.name}-unlearned", recipe.seeds, out)
    # Locked from the first copied file to the certificate: nobody resumes it half-made.
    with new.lock():
        (new.path / "units").mkdir(parents=True, exist_ok=True)
        rerun, total = 0, 0
        for unit_reach in reach:
            total += unit_reach.generations + 1
            if unit_reach.first is None:
                _copy_unit(old, new, unit_reach.unit)
                unit_reach.action = "copied (never reached)"
                continue
            restart = _prepare_resume(old, new, unit_reach)
            unit_reach.restart = restart
            unit_reach.action = (f"resumed at generation {restart}" if restart
                                 else "rerun from generation 0")
            rerun += unit_reach.generations + 1 - restart

        started = time.time()
        execute(recipe, new, progress=progress)
        seconds = time.time() - started
        ledger_sha = seal(new.path, recipe)

        scores = []
        if membership_check and forget.real:
            for unit_reach in reach:
                if unit_reach.first is not None:
                    score = membership(old, new, recipe, unit_reach, forget)
                    if score:
                        scores.append(score)
        old_manifest = run_manifest_path(old.path)
        body = {
            "request": {"samples": list(samples), "real_index": [int(i) for i in real_index],
                        "where": list(where)},
            "forgotten": {"ids": forget_ids, "real_content_prefixes": sorted(forget.real),
                          "generated_ids": sorted(forget.generated)},
            "old_run": {"path": str(old.path), "config_sha256": meta.get("config_sha256"),
                        "run_manifest_sha256": file_sha256(old_manifest)
                        if old_manifest.is_file() else None},
            "new_run": {"path": str(new.path),
                        "config_sha256": new.read_meta().get("config_sha256"),
                        "run_manifest_sha256": ledger_sha},
            "units": {r.unit: {"action": r.action, "first_generation": r.first,
                               "restart_generation": r.restart, "holdout_rows": r.holdout,
                               "reach": r.per_generation(), "models": r.models()}
                      for r in reach},
            "cost": {"generations_rerun": rerun, "generations_total": total,
                     "seconds": round(seconds, 3), "old_run_seconds": meta.get("seconds")},
            "membership": scores,
        }
        digest = write_certificate(new.path, body)
    return UnlearnResult(new.path, forget_ids, reach, seconds, meta.get("seconds"), rerun, total,
                         digest, scores, ledger_sha)
