"""Log a run or a sweep to MLflow: params, per-generation metrics and the HTML report.

MLflow is imported here only (``pip install 'genloop[mlflow]'``). Per-generation metrics
are the median across seeds, logged as ``<variant>/<metric>`` with ``step`` =
generation (``<metric>`` alone for recipes without variants). A sweep becomes one parent
MLflow run with a nested run per grid point.

The default tracking URI is ``./mlruns`` (a file store). MLflow 3 keeps the file store in
maintenance mode behind ``MLFLOW_ALLOW_FILE_STORE``; genloop sets that variable for a
file URI so the default keeps working (pass ``sqlite:///mlflow.db`` or a server URI for a
database-backed store).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from genloop.core.errors import ConfigError

MAX_PARAMS = 400  # the client sends them in batches of 100
BATCH = 900  # metrics per log_batch call (MLflow's limit is 1000)


def _mlflow(uri: str | None):
    try:
        import mlflow
    except ImportError:
        raise ConfigError("--mlflow needs MLflow: pip install 'genloop[mlflow]'") from None
    uri = uri or Path("mlruns").resolve().as_uri()
    if "://" not in uri and not uri.startswith("file:"):
        uri = Path(uri).resolve().as_uri()  # a plain folder
    if uri.startswith("file:"):
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    mlflow.set_tracking_uri(uri)
    return mlflow


def _params(raw: dict) -> dict[str, str]:
    from genloop.store.query import flatten_config

    flat = flatten_config({k: v for k, v in raw.items() if k != "description"}, sep=".")
    return {k[:250]: str(v)[:500] for k, v in list(flat.items())[:MAX_PARAMS]}


def _log_metrics(mlflow, run_id: str, metrics: pd.DataFrame) -> int:
    from mlflow.entities import Metric

    medians = metrics.groupby(["variant", "metric", "generation"], sort=True)["value"].median()
    stamp = int(time.time() * 1000)
    single = metrics["variant"].nunique() == 1 and metrics["variant"].iloc[0] == "default"
    batch = [
        Metric(metric if single else f"{variant}/{metric}", float(value), stamp, int(gen))
        for (variant, metric, gen), value in medians.items()
    ]
    client = mlflow.tracking.MlflowClient()
    for start in range(0, len(batch), BATCH):
        client.log_batch(run_id, metrics=batch[start : start + BATCH])
    return len(batch)


def log_to_mlflow(path: str | Path, uri: str | None = None, experiment: str | None = None) -> str:
    """Log the run or sweep directory ``path`` to MLflow; returns the MLflow run id.

    Parameters
    ----------
    path : path
        A run directory or a sweep directory.
    uri : str, optional
        Tracking URI (default ``./mlruns``).
    experiment : str, optional
        Experiment name (default: the recipe name).
    """
    from genloop.core.run_dir import RunDir
    from genloop.report.html import write_report
    from genloop.sweep import Sweep, is_sweep

    mlflow = _mlflow(uri)
    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        report = write_report(path, Path(tmp) / "report.html")
        if is_sweep(path):
            sweep = Sweep(path)
            mlflow.set_experiment(experiment or sweep.spec["recipe"])
            with mlflow.start_run(run_name=path.name) as parent:
                mlflow.set_tags({"genloop.kind": "sweep", "genloop.path": str(path)})
                mlflow.log_params(
                    {f"grid.{k}": str(v)[:500] for k, v in sweep.spec["grid"].items()}
                    | {"seeds": str(sweep.spec["seeds"])[:500]}
                )
                metrics = sweep.metrics
                for point in sweep.points:
                    with mlflow.start_run(run_name=point, nested=True) as child:
                        mlflow.set_tag("genloop.point", point)
                        mlflow.log_params(_params(sweep.point_dir(point).read_config()))
                        part = metrics[metrics["point"] == point]
                        _log_metrics(mlflow, child.info.run_id, part)
                mlflow.log_artifact(str(report))
                return parent.info.run_id
        run_dir = RunDir(path)
        raw = run_dir.read_config()
        mlflow.set_experiment(experiment or str(raw.get("name", "genloop")))
        with mlflow.start_run(run_name=path.name) as run:
            mlflow.set_tags({"genloop.kind": "run", "genloop.path": str(path)})
            mlflow.log_params(_params(raw))
            _log_metrics(mlflow, run.info.run_id, run_dir.metrics())
            mlflow.log_artifact(str(report))
            return run.info.run_id
