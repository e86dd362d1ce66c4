"""`ledger verify` proves completeness (issue 15, item 3): each tampering that used to
read "intact" is caught, and reported once (tier 3: a small real run, then hand-made
tamperings with known answers)."""

from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import genloop
from genloop.provenance.ledger import verify
from genloop.provenance.manifest import write_manifest

RECIPE = {
    "name": "tamper", "bench": "collapse", "seeds": "0..3", "engine": "samples",
    "family": {"name": "gaussian"}, "source": {"name": "gaussian", "dim": 1},
    "n": 20, "generations": 6, "holdout": 20, "metrics": ["log_variance"],
    "variants": {"a": {}, "b": {"mixing.policy": "accumulate"}},
}
LAST = 6  # generations 0..6: seven manifests per unit


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    return genloop.run(RECIPE, out=tmp_path_factory.mktemp("t") / "run").path


@pytest.fixture
def run(original, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(original, copy)
    return copy


def unit(run, variant="a", seed=1):
    return run / "ledger" / f"{variant}__seed{seed:06d}"


def drop_generation(folder, generation):
    for path in folder.glob(f"gen{generation:05d}.*"):
        path.unlink()


def rewrite_pool(folder, generation):
    """Replace a generation's pool with other rows and re-hash its manifest (chained)."""
    name = f"gen{generation:05d}.pool.parquet"
    table = pq.read_table(folder / name)
    table = table.set_column(2, table.column_names[2], pa.array([0.0] * table.num_rows))
    pq.write_table(table, folder / name)
    rows = {name: table.num_rows, f"gen{generation:05d}.ledger.parquet": 20}
    write_manifest(folder, folder.name, generation, rows)


def test_the_untouched_run_is_intact(original):
    assert verify(original) == []


@pytest.mark.parametrize("removed", [1, 3])
def test_truncation_is_caught(run, removed):
    for generation in range(LAST + 1 - removed, LAST + 1):
        drop_generation(unit(run), generation)
    assert verify(run) == [f"variant a, seed 1: {LAST + 1 - removed} generation(s), the run "
                           f"manifest records {LAST + 1} (generations removed or added)"]


def test_swapped_seeds_are_caught(run):
    unit(run, seed=2).rename(run / "ledger" / "swap")
    unit(run, seed=3).rename(unit(run, seed=2))
    (run / "ledger" / "swap").rename(unit(run, seed=3))
    assert verify(run) == [
        f"variant a, seed {seed}, generation 0: gen00000.manifest.json belongs to unit "
        f"a__seed{other:06d}, not a__seed{seed:06d} (a ledger folder moved, copied or swapped)"
        for seed, other in ((2, 3), (3, 2))
    ]


@pytest.mark.parametrize("target", ["a__seed000009", "c__seed000001"])
def test_a_copied_unit_is_caught(run, target):
    shutil.copytree(unit(run), run / "ledger" / target)
    problems = verify(run)
    assert len(problems) == 1 and "is not in the run manifest (added or copied)" in problems[0]


def test_a_forged_chained_extra_generation_is_caught(run):
    folder = unit(run)
    for kind in ("pool", "ledger"):
        shutil.copy(folder / f"gen{LAST:05d}.{kind}.parquet",
                    folder / f"gen{LAST + 1:05d}.{kind}.parquet")
    rows = {f"gen{LAST + 1:05d}.{kind}.parquet": 20 for kind in ("pool", "ledger")}
    write_manifest(folder, folder.name, LAST + 1, rows)
    assert verify(run) == [f"variant a, seed 1: {LAST + 2} generation(s), the run manifest "
                           f"records {LAST + 1} (generations removed or added)"]


def test_a_rewritten_and_rehashed_last_generation_is_caught(run):
    rewrite_pool(unit(run), LAST)
    assert verify(run) == [f"variant a, seed 1, generation {LAST}: gen{LAST:05d}.manifest.json "
                           "is not the one the run manifest records (the generation was "
                           "rewritten)"]


def test_a_unit_deleted_with_its_result_is_caught(run):
    shutil.rmtree(unit(run, "b", 0))
    (run / "units" / "b__seed000000.parquet").unlink()
    assert verify(run) == ["variant b, seed 0: ledger folder missing (the run manifest lists it)"]


def test_one_missing_manifest_is_one_line(run):
    (unit(run) / "gen00003.manifest.json").unlink()
    assert verify(run) == ["variant a, seed 1, generation 3: manifest missing"]


def test_a_rewrite_of_everything_is_caught_only_against_a_kept_hash(run):
    from genloop.core.config import resolve
    from genloop.provenance.ledger import seal
    from genloop.provenance.manifest import file_sha256, run_manifest_path

    kept = file_sha256(run_manifest_path(run))
    assert verify(run, expect=kept) == []
    rewrite_pool(unit(run), LAST)
    seal(run, resolve(RECIPE))  # the attacker rewrites the run manifest too
    assert verify(run) == []  # what no file inside the run can catch (docs/curation.md)
    assert verify(run, expect=kept) == [
        f"ledger/run.manifest.json has sha256 {file_sha256(run_manifest_path(run))}, expected "
        f"{kept}: the ledger changed after that hash was taken"]


def test_an_edited_config_is_caught(run):
    config = run / "config.yaml"
    config.write_text(config.read_text().replace("n: 20", "n: 21"))
    manifest = json.loads((run / "ledger" / "run.manifest.json").read_text())
    assert "a__seed000001" in manifest["units"] and len(manifest["planned"]) == 8
    assert verify(run) == ["config.yaml is not the config the run manifest records (edited "
                           "after the run)"]


def test_cli_verify_expect(original):
    from typer.testing import CliRunner

    from genloop.cli import app
    from genloop.provenance.manifest import file_sha256, run_manifest_path

    kept = file_sha256(run_manifest_path(original))
    result = CliRunner().invoke(app, ["ledger", "verify", str(original), "--expect", kept])
    assert result.exit_code == 0, result.output
    assert f"run manifest sha256 {kept} (as expected)" in " ".join(result.output.split())
    result = CliRunner().invoke(app, ["ledger", "verify", str(original), "--expect", "0" * 64])
    assert result.exit_code == 1
    assert result.output.strip().startswith("ledger/run.manifest.json has sha256 ")
