"""The README's Python example, as a user runs it in a notebook (issue 16; tier 2).

It used to fail at ``run.summary()``: seeds given as ``range(...)`` were saved into
config.yaml as ``str(list)`` and could not be read back, which also broke ``show``,
``report`` and ``--resume`` on the directory.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml
from typer.testing import CliRunner

import genloop
from genloop.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_python_example() -> str:
    """The first ```python block of the README, with seeds=range(3) for speed."""
    block = re.search(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S).group(1)
    assert "seeds=range(100)" in block, "the README example changed: update this test"
    return block.replace("seeds=range(100)", "seeds=range(3)")


def test_readme_python_example_runs_and_its_directory_works_everywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = readme_python_example().replace('genloop.load("runs/...")',
                                             "genloop.load(run.path)")
    scope: dict = {}
    exec(compile(code, str(README), "exec"), scope)  # the user's own example, not input
    run = scope["run"]
    summary = run.summary(generations=[0, 100])
    assert isinstance(summary, pd.DataFrame) and set(summary["generation"]) == {0, 100}
    assert summary["seeds"].max() == 3
    assert any("log-variance change" in line for line in run.checks())
    figures = run.plot()
    assert figures and all(p.is_file() for p in figures.paths)
    assert all(hasattr(fig, "savefig") for fig in figures)  # matplotlib figures
    assert figures._repr_html_().count('<img src="data:image/png;base64,') == len(figures.paths)
    saved = yaml.safe_load((run.path / "config.yaml").read_text(encoding="utf-8"))
    assert saved["seeds"] == [0, 1, 2]
    assert genloop.load(run.path).summary().equals(run.summary())
    cli = CliRunner()
    for args in (["show", str(run.path)], ["report", str(run.path)],
                 ["run", "--resume", str(run.path), "--quiet"]):
        result = cli.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
    assert (run.path / "report.html").is_file()


def test_a_run_shows_itself_in_a_notebook(tmp_path):
    run = genloop.run("nature-gaussian", quick=True, seeds=range(2), out=tmp_path / "r")
    assert repr(run) == f"<Run nature-gaussian seeds=0..1 variants=2 path={str(run.path)!r}>"
    page = run._repr_html_()
    # The headline findings, then the summary pivoted by variant (one column each).
    assert page.index("log-variance change") < page.index("<table")
    assert "<th>mle</th>" in page and "<th>unbiased</th>" in page
    assert "<script" not in page
