"""The results commands: sweep, show on a sweep, query, compare, report; one-line errors."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from genloop.cli import app

RECIPE = {
    "name": "cli-sweep",
    "bench": "collapse",
    "seeds": "0..2",
    "family": {"name": "gaussian"},
    "source": {"name": "gaussian", "dim": 1},
    "n": 30,
    "generations": 5,
    "holdout": 50,
    "metrics": ["log_variance", "w2"],
    "engine": "samples",
}


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result, " ".join(result.output.split())


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    recipe = root / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(RECIPE))
    out = root / "runs" / "sweep"
    result, text = invoke(
        "sweep",
        recipe,
        "--grid",
        "mixing.policy=replace,accumulate",
        "--workers",
        "1",
        "--out",
        out,
        "--report",
    )
    assert result.exit_code == 0, result.output
    return root, out, text


def test_sweep_prints_a_table_per_variant_and_writes_the_report(swept):
    _, out, text = swept
    assert "policy=replace" in text and "policy=accumulate" in text
    assert "median [95% bootstrap CI]" in text and f"sweep directory: {out}" in text
    assert (out / "report.html").is_file() and (out / "summary.parquet").is_file()


def test_show_of_a_sweep(swept):
    _, out, _ = swept
    result, text = invoke("show", out, "--generations", "5", "--metric", "w2")
    assert result.exit_code == 0 and "w2" in text and "log_variance" not in text


def test_query_table_and_csv(swept):
    root, _, _ = swept
    sql = (
        "select policy, generation, median(value) as m from metrics "
        "where metric='log_variance' group by all order by all"
    )
    result, text = invoke("query", sql, "--runs", root / "runs")
    assert result.exit_code == 0, result.output
    assert "12 rows" in text and "accumulate" in text
    result, _ = invoke("query", sql, "--runs", root / "runs", "--csv")
    lines = result.output.strip().splitlines()
    assert lines[0] == "policy,generation,m" and len(lines) == 13


def test_compare_points_with_difference_and_ci(swept):
    _, out, _ = swept
    result, text = invoke(
        "compare",
        out / "points" / "policy=replace",
        out / "points" / "policy=accumulate",
        "--metric",
        "w2",
        "--generations",
        "0,5",
    )
    assert result.exit_code == 0, result.output
    assert "policy=accumulate − policy=replace" in text
    assert "0 [0, 0]" in text  # generation 0: same seeds, same real data
    assert "paired by seed" in text
    result, text = invoke("compare", out, "--metric", "w2")  # a sweep: all its points
    assert result.exit_code == 0 and "policy=accumulate" in text


def test_report_command(swept, tmp_path):
    _, out, _ = swept
    result, text = invoke("report", out, "-o", tmp_path / "r.html")
    assert result.exit_code == 0 and (tmp_path / "r.html").stat().st_size > 50_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sweep", "nature-gaussian"], "no grid: pass --grid"),
        (["sweep", "nature-gaussian", "--grid", "mixing.policy"], "must look like key=v1,v2"),
        (["sweep"], "name a recipe"),
        (
            ["sweep", "nature-gaussian", "--grid", "n=10,20", "--backend", "slurm"],
            "unknown backend 'slurm'",
        ),
        (["query", "select * from nowhere", "--runs", "{tmp}"], "query failed"),
        (["compare", "{tmp}"], "at least two runs"),
        (["report", "{tmp}/absent"], "run or sweep directory not found"),
    ],
)
def test_mistakes_are_one_line(tmp_path, args, message):
    result, text = invoke(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.exit_code == 2, result.output
    assert message in text and "Traceback" not in result.output
