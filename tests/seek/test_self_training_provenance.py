"""A self-training run's provenance through the shared ledger and its CLI (tier 3).

``genloop ledger verify``, ``lineage`` and ``export`` read a ``seek-self-training --quick``
run like a collapse run: the chain verifies, a changed byte is named, an answer's lineage
reaches the problem it answers, and a round's pool exports.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

import genloop
from genloop.cli import app
from genloop.provenance.ledger import load_ledger
from genloop.provenance.lineage import Lineage

pytest.importorskip("torch")

runner = CliRunner()
VARIANTS = ["verifier", "unverified"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return genloop.run("seek-self-training", quick=True, seeds=0, variants=VARIANTS,
                       out=tmp_path_factory.mktemp("st") / "run")


def admitted_answer(run, variant="unverified"):
    """An answer admitted in the last round, as its ledger row."""
    ledger = load_ledger(run.path, variant, 0)
    last = int(ledger["generation"].max())
    rows = ledger[(ledger["generation"] == last) & (ledger["round"] == last)
                  & (ledger["parent_id"] != "") & ledger["in_pool"]]
    assert len(rows), "the quick run admitted no answer in its last round"
    return ledger, rows.iloc[0]


def test_ledger_verify_passes(run):
    rounds = run.recipe.config.self_training.rounds
    result = invoke("ledger", "verify", run.path)
    assert result.exit_code == 0, result.output
    assert f"intact: 2 unit(s), {2 * (rounds + 1)} generation(s)" in result.output


def test_one_changed_byte_fails_verify_and_names_the_file(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run.path, copy)
    target = copy / "ledger" / "verifier__seed000000" / "gen00001.ledger.parquet"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    result = invoke("ledger", "verify", copy)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "variant verifier, seed 0, generation 1: gen00001.ledger.parquet does not match its "
        "manifest (sha256 differs)"
    ]


def test_lineage_of_an_answer_reaches_its_problem(run):
    ledger, answer = admitted_answer(run)
    problem = ledger[ledger["sample_id"] == answer["parent_id"]].iloc[0]
    # the parent is the round's problem: a real row that no pool holds, same a op b
    assert problem["origin"] == "real" and not problem["in_pool"]
    assert problem["problem"] == answer["problem"] and problem["round"] == answer["round"]
    found = Lineage.load(run.path, "unverified", 0)
    ancestors = found.ancestors(answer["sample_id"]).rows
    parent = ancestors[ancestors["link"] == "parent"]
    assert parent["sample_id"].tolist() == [answer["parent_id"]]
    # training links: the answer's model trained on the seed set
    seed_set = ledger[ledger["generation"] == 0]["sample_id"]
    assert seed_set.isin(ancestors["sample_id"]).all()
    children = found.descendants(answer["parent_id"]).rows
    assert answer["sample_id"] in set(children.loc[children["link"] == "child", "sample_id"])
    result = invoke("lineage", run.path, "--sample", answer["sample_id"])
    assert result.exit_code == 0, result.output
    assert "unit: variant unverified, seed 0" in result.output
    assert answer["parent_id"] in result.output  # the parent is listed first


def test_lineage_of_a_pool_and_export(run, tmp_path):
    result = invoke("lineage", run.path, "--origin", "real", "--variant", "verifier")
    assert result.exit_code == 0, result.output
    out = tmp_path / "pool.parquet"
    result = invoke("export", run.path, "--generation", 1, "--variant", "verifier", "-o", out)
    assert result.exit_code == 0, result.output
    pool = pd.read_parquet(out)
    metrics = run.metrics
    size = metrics[(metrics["variant"] == "verifier") & (metrics["generation"] == 1)
                   & (metrics["metric"] == "train_pool_size")]["value"].item()
    assert len(pool) == size
    ledger = load_ledger(run.path, "verifier", 0, generation=1)
    assert pool["sample_id"].tolist() == ledger.loc[ledger["in_pool"], "sample_id"].tolist()
    assert set(pool["origin"]) <= {"real", "gen:0"}
