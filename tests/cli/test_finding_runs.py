"""Finding results again: `genloop runs`, `latest` and recipe names, no orphan directories,
a rerun sweep that continues its directory, `--version` (issue 16; tier 2: real runs)."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from genloop.cli import app
from genloop.core.version import __version__

runner = CliRunner()


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result, result.output + (result.stderr if result.stderr_bytes is not None else "")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A fresh working folder: new runs go to its runs/."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_version_prints_the_package_version():
    result, text = invoke("--version")
    assert result.exit_code == 0 and text.strip() == f"genloop {__version__}"


def test_runs_lists_newest_first_and_latest_and_recipe_names_open_them(workdir):
    result, text = invoke("runs")
    assert result.exit_code == 0 and "no runs under runs/ yet" in text
    assert invoke("run", "nature-gaussian", "--quick", "--variant", "mle", "--quiet")[0].exit_code == 0
    assert invoke("run", "nature-discrete", "--quick", "--quiet")[0].exit_code == 0
    result, text = invoke("runs")
    assert result.exit_code == 0, text
    # Newest first: the discrete run was started second.
    assert text.index("nature-discrete") < text.index("nature-gaussian")
    assert text.count("finished") == 2 and "0..19" in text
    gaussian_dir = next((workdir / "runs").glob("nature-gaussian__*"))
    discrete_dir = next((workdir / "runs").glob("nature-discrete__*"))
    result, text = invoke("show", "latest")
    assert result.exit_code == 0 and discrete_dir.name in text
    result, text = invoke("show", "nature-gaussian")
    assert result.exit_code == 0 and gaussian_dir.name in text and "log_variance" in text
    result, text = invoke("report", "latest")
    assert result.exit_code == 0 and (discrete_dir / "report.html").is_file()
    result, text = invoke("compare", "nature-gaussian", str(gaussian_dir))
    assert result.exit_code == 0, text
    result, text = invoke("show", "no-such-recipe")
    assert result.exit_code == 2 and "Traceback" not in text
    assert "no-such-recipe" in text and "genloop runs" in text


def test_an_interrupted_run_is_listed_as_interrupted(workdir):
    assert invoke("run", "nature-gaussian", "--quick", "--quiet", "--out", "runs/cut")[0].exit_code == 0
    (workdir / "runs/cut/metrics.parquet").unlink()
    result, text = invoke("runs")
    assert re.search(r"interrupted\s*\(2 units\s*done\)", text.replace("│", " ")), text


def test_a_run_whose_data_fails_leaves_no_directory(workdir):
    result, text = invoke("run", "nature-gaussian", "--quick",
                          "--set", "source={name: file, path: absent.csv}")
    assert result.exit_code == 2 and "absent.csv" in text
    assert not (workdir / "runs").exists() or not any((workdir / "runs").iterdir())
    # A config error never makes one either.
    result, _ = invoke("run", "nature-gaussian", "--quick", "--set", "n=-5")
    assert result.exit_code == 2
    assert not (workdir / "runs").exists() or not any((workdir / "runs").iterdir())


def test_rerunning_a_sweep_command_continues_its_directory(workdir):
    command = ["sweep", "accumulate-vs-replace", "--quick", "--workers", "1", "--quiet",
               "--variant", "gaussian"]
    assert invoke(*command)[0].exit_code == 0
    sweeps = list((workdir / "runs").glob("sweep-*"))
    assert len(sweeps) == 1
    log = sweeps[0] / "logs" / "sweep.log"
    finished_before = log.read_text().count("done")
    assert finished_before > 0
    assert invoke(*command)[0].exit_code == 0
    assert list((workdir / "runs").glob("sweep-*")) == sweeps  # the same directory
    assert log.read_text().count("done") == finished_before  # nothing recomputed
    # A different sweep (other seeds) gets a directory of its own.
    assert invoke(*command, "--seeds", "5")[0].exit_code == 0
    assert len(list((workdir / "runs").glob("sweep-*"))) == 2
    spec = json.loads((sweeps[0] / "sweep.json").read_text())
    assert spec["recipe"] == "accumulate-vs-replace"
