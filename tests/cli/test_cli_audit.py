"""``genloop audit`` (tier 3): writes the HTML report; bad inputs give one line and exit 2."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from genloop.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["audit", *map(str, args)])


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    paths = {}
    frames = {
        "real": pd.DataFrame(rng.normal(size=(200, 3)), columns=list("abc")),
        "synthetic": pd.DataFrame(rng.normal(scale=0.5, size=(200, 3)), columns=list("abc")),
        "other_columns": pd.DataFrame(rng.normal(size=(50, 3)), columns=list("abd")),
        "mixed": pd.DataFrame({"a": [1.0, 2.0], "name": ["x", "y"]}),
    }
    for name, frame in frames.items():
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    paths["empty"] = tmp_path / "empty.csv"
    paths["empty"].write_text("")
    paths["text"] = tmp_path / "notes.txt"
    paths["text"].write_text("some words in a line\nand another line of words\n")
    return paths


def test_audit_writes_the_report(files, tmp_path):
    out = tmp_path / "report" / "audit.html"
    table = tmp_path / "findings.csv"
    result = invoke("--real", files["real"], "--synthetic", files["synthetic"], "-o", out,
                    "--quick", "--generations", 2, "--table", table)
    assert result.exit_code == 0, result.output
    assert "[bad] fidelity" in result.output and f"wrote {out}" in " ".join(result.output.split())
    page = out.read_text(encoding="utf-8")
    # verdicts come first, figures after; self-contained and script-free
    assert page.index("Verdicts") < page.index("<img")
    assert "Content-Security-Policy" in page and "<script" not in page
    assert "genloop audit" in page and "--synthetic" in page  # the command that made it
    frame = pd.read_csv(table)
    assert {"tails", "fidelity", "detectability", "memorisation", "projection"} <= set(
        frame["section"])


def test_report_escapes_the_data(tmp_path):
    values = ["<script>alert(1)</script>"] * 30 + ["a"] * 60 + ["b"] * 30
    real, synthetic = tmp_path / "real.csv", tmp_path / "synthetic.csv"
    pd.DataFrame({"v": values}).to_csv(real, index=False)
    pd.DataFrame({"v": ["a"] * 60 + ["b"] * 60}).to_csv(synthetic, index=False)
    out = tmp_path / "audit.html"
    result = invoke("--real", real, "--synthetic", synthetic, "-o", out, "--quick",
                    "--kind", "categorical", "--no-projection")
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("args, message", [
    (["--synthetic", "{other_columns}"], "mismatched columns: synthetic data"),
    (["--synthetic", "{empty}"], "data file is empty"),
    (["--synthetic", "{text}"], "mixed kinds: real data"),
    (["--synthetic", "{mixed}"], "mixes kinds: numeric columns a and text columns name"),
    (["--synthetic", "/no/such/file.csv"], "not found: /no/such/file.csv"),
    (["--synthetic", "{synthetic}", "--mix", "keep=0.2"], "is not a mixing policy"),
    (["--synthetic", "{synthetic}", "--mix", "keep_fraction=1.5"], "must lie in [0, 1]"),
    (["--synthetic", "{synthetic}", "--kind", "images"], "kind must be one of"),
    (["--synthetic", "{synthetic}", "--seeds", "x"], "seeds"),
    (["--synthetic", "run:nowhere"], "run:RUN_DIR@GENERATION"),
])
def test_bad_inputs_are_one_line(files, args, message, tmp_path):
    args = [a.format(**files) for a in args]
    result = invoke("--real", files["real"], *args, "--quick", "-o", tmp_path / "a.html")
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())  # rich may wrap long lines
    assert message in text and "Traceback" not in result.output
    assert result.output.strip().count("error:") == 1


def test_report_renders_in_chromium(files, tmp_path):
    from genloop.report.browser import check_page, find_chromium

    if find_chromium() is None:
        pytest.skip("no chromium binary (apt-get install chromium)")
    out = tmp_path / "audit.html"
    result = invoke("--real", files["real"], "--synthetic", files["synthetic"], "-o", out,
                    "--quick", "--generations", 2)
    assert result.exit_code == 0, result.output
    page = check_page(out, tmp_path / "audit.png")
    assert page.errors == [] and page.title == "genloop audit"
    assert len(page.images) >= 4 and all(w > 0 and h > 0 for w, h, _ in page.images)
