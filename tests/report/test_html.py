"""The HTML report: self-contained, escaped, with the sweep's policy comparison (tier 1)."""

from __future__ import annotations

import base64
import re

import pytest

import genloop
from genloop.report import figures
from genloop.report.html import write_report
from genloop.sweep import run_sweep

EVIL = "<script>alert(1)</script>"
RECIPE = {
    "name": "report-test",
    "bench": "collapse",
    "seeds": "0..2",
    "description": f"a description with {EVIL}",
    "family": {"name": "gmm", "n_components": 2},
    "source": {"name": "gmm"},
    "n": 60,
    "generations": 6,
    "holdout": 100,
    "snapshots": [0, 6],
    "metrics": ["log_variance", "component_std"],
    "engine": "samples",
}


def images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


@pytest.fixture(scope="module")
def evil_run(tmp_path_factory):
    """A run whose config value and saved sample carry markup."""
    root = tmp_path_factory.mktemp("evil")
    run = genloop.run(RECIPE | {"variants": {EVIL.replace("/", ""): {}}}, out=root / "run")
    unit = next((run.path / "artifacts").iterdir())
    (unit / "samples_gen0006.txt").write_text(
        f"{EVIL}\n<img src=x onerror=alert(2)>\nplain sample\n", encoding="utf-8"
    )
    return run.path


def test_markup_from_configs_and_samples_is_inert(evil_run):
    html = write_report(evil_run).read_text(encoding="utf-8")
    assert "<script" not in html.lower()  # the report itself has no script at all
    assert "onerror=" not in html.replace("onerror=alert(2)&gt;", "")  # only escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html


def test_report_is_self_contained(evil_run):
    html = write_report(evil_run).read_text(encoding="utf-8")
    assert not re.search(r'(src|href)="(?!data:)', html)  # nothing loaded from elsewhere
    pngs = images(html)
    assert len(pngs) >= 3  # metric curves, density snapshots, provenance
    assert all(p.startswith(b"\x89PNG\r\n\x1a\n") for p in pngs)
    for section in (
        "Config (config.yaml",
        "Summary across seeds",
        "Collapse figures",
        "Provenance",
        "Samples",
        "median 95% CI",
    ):
        assert section in html


def test_sweep_report_compares_every_grid_point(tmp_path, monkeypatch):
    sweep = run_sweep(
        RECIPE | {"snapshots": []},
        out=tmp_path / "s",
        workers=1,
        grid=["mixing.policy=replace,keep_fraction,accumulate"],
    )
    drawn = []
    real = figures.png_bytes

    def capture(fig):
        drawn.append(fig)
        return real(fig)

    monkeypatch.setattr(figures, "png_bytes", capture)
    html = write_report(sweep.path, tmp_path / "out.html").read_text(encoding="utf-8")
    comparison = [
        f for f in drawn if "every grid point" in (f._suptitle.get_text() if f._suptitle else "")
    ]
    assert comparison  # one figure per metric
    for fig in comparison:
        labels = [
            t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()
        ]
        assert {"policy=replace", "policy=keep_fraction", "policy=accumulate"} <= set(labels)
    assert "Policy comparison" in html and "Point policy=accumulate" in html


def test_missing_directory_is_a_one_line_error(tmp_path):
    with pytest.raises(genloop.GenloopError, match="run or sweep directory not found"):
        write_report(tmp_path / "nope")
