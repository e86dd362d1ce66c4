"""MLflow logging of runs and sweeps, against a file store in a temporary folder."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import genloop
from genloop.cli import app
from genloop.report.tracking import log_to_mlflow
from genloop.sweep import run_sweep

mlflow = pytest.importorskip("mlflow", reason="MLflow is the `mlflow` extra")

RECIPE = {
    "name": "mlflow-test",
    "bench": "collapse",
    "seeds": "0..1",
    "family": {"name": "gaussian"},
    "source": {"name": "gaussian", "dim": 1},
    "n": 30,
    "generations": 4,
    "holdout": 50,
    "metrics": ["log_variance"],
    "engine": "samples",
}


def client(uri):
    mlflow.set_tracking_uri(uri)
    return mlflow.tracking.MlflowClient()


def test_run_params_metrics_and_report(tmp_path):
    run = genloop.run(RECIPE, out=tmp_path / "run")
    uri = (tmp_path / "mlruns").as_uri()
    run_id = log_to_mlflow(run.path, uri)
    logged = client(uri).get_run(run_id)
    assert logged.data.params["n"] == "30" and logged.data.params["family.name"] == "gaussian"
    history = client(uri).get_metric_history(run_id, "log_variance")
    assert [m.step for m in sorted(history, key=lambda m: m.step)] == [0, 1, 2, 3, 4]
    expected = run.metrics.query("metric == 'log_variance' and generation == 4")["value"].median()
    assert sorted(history, key=lambda m: m.step)[-1].value == pytest.approx(expected)
    artifacts = [a.path for a in client(uri).list_artifacts(run_id)]
    assert artifacts == ["report.html"]


def test_sweep_is_a_parent_with_a_child_per_point(tmp_path):
    sweep = run_sweep(
        RECIPE, grid=["mixing.policy=replace,accumulate"], out=tmp_path / "s", workers=1
    )
    uri = (tmp_path / "mlruns").as_uri()
    parent = log_to_mlflow(sweep.path, uri)
    runs = mlflow.search_runs(experiment_names=["mlflow-test"], output_format="list")
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent]
    assert sorted(r.data.tags["genloop.point"] for r in children) == [
        "policy=accumulate",
        "policy=replace",
    ]
    assert {r.data.params["mixing.policy"] for r in children} == {"replace", "accumulate"}


def test_cli_run_with_mlflow_uri(tmp_path):
    recipe = tmp_path / "r.yaml"
    import yaml

    recipe.write_text(yaml.safe_dump(RECIPE))
    uri = (tmp_path / "mlruns").as_uri()
    result = CliRunner().invoke(
        app, ["run", str(recipe), "--out", str(tmp_path / "run"), "--quiet", "--mlflow-uri", uri]
    )
    assert result.exit_code == 0, result.output
    runs = mlflow.search_runs(experiment_names=["mlflow-test"], output_format="list")
    assert len(runs) == 1 and runs[0].data.tags["genloop.kind"] == "run"
