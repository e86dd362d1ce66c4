"""The command line: the main commands work and user mistakes give one line, exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from genloop.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args))


def test_recipes_lists_descriptions():
    result = invoke("recipes")
    assert result.exit_code == 0
    assert "nature-gmm" in result.output and "Nature paper's GMM" in result.output


def test_run_show_plot(tmp_path):
    out = tmp_path / "run"
    result = invoke("run", "nature-gaussian", "--quick", "--seeds", "0..9", "--variant", "mle",
                    "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "log_variance_change" in result.output and "theory" in result.output
    assert "vs theory" in result.output  # the plain-language check line
    show = invoke("show", str(out), "--generations", "0,20", "--metric", "variance_ratio")
    assert show.exit_code == 0 and "variance_ratio" in show.output
    assert "w2" not in show.output
    plot = invoke("plot", str(out))
    assert plot.exit_code == 0 and (out / "figures" / "metrics.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "nature-gausian"], "unknown recipe 'nature-gausian'; known recipes:"),
        (["run", "nature-gaussian", "--set", "mixing.polcy=replace"], "mixing.polcy"),
        (["run", "nature-gaussian", "--set", "mixing.policy=mix", "--set", "mixing.alpha=0.6",
          "--set", "mixing.beta=0.6", "--set", "mixing.gamma=0.1"], "sum to 1"),
        (["run", "nature-gaussian", "--set", "source={name: file, path: /no/such.csv}"],
         "/no/such.csv"),
        (["run", "nature-gaussian", "--seeds", "x..y"], "seeds"),
        (["show", "/no/such/run"], "/no/such/run"),
        (["run"], "name a recipe"),
    ],
)
def test_mistakes_are_one_line(args, message):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())  # rich may wrap long lines
    assert message in text
    assert "Traceback" not in result.output


def test_non_numeric_csv_is_named(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("a,b,label\n1,2,cat\n3,4,dog\n")
    result = invoke("run", "nature-gaussian", "--quick", "--set",
                    f"source={{name: file, path: {path}}}")
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert str(path) in text.replace(" ", "") or "table.csv" in text
    assert "label" in text and "Traceback" not in result.output


def test_import_genloop_is_light():
    code = "import sys, genloop; bad = {'torch', 'sklearn', 'matplotlib', 'pandas'} & set(sys.modules); print(sorted(bad))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_show_says_how_w2_was_measured_and_keeps_every_digit(tmp_path, monkeypatch):
    """w2_exact is a flag, not a value: show prints a line instead of a table row; and a
    narrow console folds numbers onto two lines rather than cutting them ("7.583e+0…")."""
    from rich.console import Console

    import genloop.cli as cli

    out = tmp_path / "run"
    assert invoke("run", "nature-gaussian", "--quick", "--variant", "mle", "--out",
                  str(out)).exit_code == 0
    result = invoke("show", str(out))
    assert result.exit_code == 0
    assert "w2_exact" not in result.output
    assert "w2: closed form between Gaussians" in result.output
    narrow = Console(width=60, record=True)
    monkeypatch.setattr(cli, "console", narrow)
    cli.print_summary(genloop_load(out))
    assert "…" not in narrow.export_text()


def genloop_load(path):
    import genloop

    return genloop.load(path)
