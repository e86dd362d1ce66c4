"""CLI: ``ledger verify``, ``lineage`` and ``export`` on a small run (tier 1)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import genloop
from genloop.cli import app

runner = CliRunner()
RECIPE = {
    "name": "cli-provenance", "bench": "collapse", "seeds": "0..1", "engine": "samples",
    "family": {"name": "gaussian"}, "source": {"name": "gaussian", "dim": 2},
    "n": 20, "generations": 3, "holdout": 20, "metrics": ["log_variance"],
    "mixing": {"policy": "keep_fraction", "fraction": 0.5},
}


@pytest.fixture(scope="module")
def run_path(tmp_path_factory):
    return genloop.run(RECIPE, out=tmp_path_factory.mktemp("p") / "r").path


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_verify_passes_then_names_the_changed_generation(tmp_path):
    path = genloop.run(RECIPE | {"seeds": 0}, out=tmp_path / "r").path
    result = invoke("ledger", "verify", path)
    assert result.exit_code == 0 and "intact: 1 unit(s), 4 generation(s)" in result.output
    target = path / "ledger" / "default__seed000000" / "gen00001.ledger.parquet"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    result = invoke("ledger", "verify", path)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "variant default, seed 0, generation 1: gen00001.ledger.parquet does not match its "
        "manifest (sha256 differs)"
    ]


def test_verify_of_something_else_is_one_line(tmp_path):
    result = invoke("ledger", "verify", tmp_path)
    assert result.exit_code == 2 and "not a genloop run directory" in result.output


def test_lineage_of_a_sample_and_of_a_pool(run_path):
    pool = pd.read_parquet(run_path / "ledger" / "default__seed000001" / "gen00002.pool.parquet")
    generated = pool[pool.origin == "gen:1"].sample_id.iloc[0]
    result = invoke("lineage", run_path, "--sample", generated, "--seed", 1)
    assert result.exit_code == 0, result.output
    assert "ancestors of" in result.output and "gen:0" in result.output
    result = invoke("lineage", run_path, "--origin", "real", "--generation", 3)
    assert result.exit_code == 0, result.output
    assert result.output.count("0.500") >= 2  # keep_fraction 0.5: half real, both seeds
    result = invoke("lineage", run_path)
    assert result.exit_code == 2 and "exactly one of --sample" in result.output


def test_real_rows_shared_by_seeds_are_found_in_their_unit(run_path):
    pool = pd.read_parquet(run_path / "ledger" / "default__seed000000" / "gen00000.pool.parquet")
    result = invoke("lineage", run_path, "--sample", pool.sample_id.iloc[0])
    assert result.exit_code == 0, result.output
    assert "variant default, seed 0" in result.output


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_export_writes_the_pool(run_path, tmp_path, suffix):
    out = tmp_path / f"pool{suffix}"
    result = invoke("export", run_path, "--generation", 2, "--seed", 1, "-o", out)
    assert result.exit_code == 0, result.output
    if suffix == ".csv":
        frame = pd.read_csv(out)
    elif suffix == ".parquet":
        frame = pd.read_parquet(out)
    else:
        frame = pd.DataFrame([json.loads(line) for line in out.read_text().splitlines()])
    assert list(frame.columns) == ["sample_id", "origin", "x0", "x1"] and len(frame) == 20
    bad = invoke("export", run_path, "--generation", 2, "-o", tmp_path / "x.txt")
    assert bad.exit_code == 2 and ".csv, .parquet or .jsonl" in bad.output
