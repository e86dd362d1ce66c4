"""The HTML report: self-contained, escaped, with the sweep's policy comparison (tier 1)."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import pytest

import genloop
from genloop.core.errors import ConfigError
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


class Outline(HTMLParser):
    """Where a page's landmarks come, in document order, and what the long table sits in.

    ``order`` lists ``"reading"``, ``"img"`` and ``"pivot"`` as their elements open;
    ``long_table_in`` holds the tags enclosing the long table's ``median 95% CI`` header.
    """

    VOID = {"img", "meta", "br", "hr", "input", "link"}

    def __init__(self, html: str):
        super().__init__()
        self.open: list[str] = []
        self.order: list[str] = []
        self.long_table_in: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        found = dict(attrs).get("id")
        if found in ("reading", "pivot"):
            self.order.append(found)
        if tag == "img":
            self.order.append("img")
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag) :]

    def handle_data(self, data):
        if data == "median 95% CI" and self.long_table_in is None:
            self.long_table_in = list(self.open)


def assert_conclusions_first(html: str) -> None:
    """The reading, then a figure, then the pivoted table; the long table collapsed."""
    outline = Outline(html)
    assert outline.long_table_in is not None and "details" in outline.long_table_in
    assert "reading" in outline.order and "pivot" in outline.order, outline.order
    first = {mark: outline.order.index(mark) for mark in ("reading", "img", "pivot")}
    assert first["reading"] < first["img"] < first["pivot"], outline.order


@pytest.fixture(scope="module")
def evil_run(tmp_path_factory):
    """A run whose config value and saved sample carry markup."""
    root = tmp_path_factory.mktemp("evil")
    # Markup reaches the report through the description and a sample; a variant name can
    # no longer carry it (names are data, never paths: core/names.py rejects '<').
    with pytest.raises(ConfigError, match="is not a valid name"):
        genloop.run(RECIPE | {"variants": {EVIL.replace("/", ""): {}}}, out=root / "bad")
    run = genloop.run(RECIPE | {"variants": {"evil": {}}}, out=root / "run")
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


def test_report_leads_with_the_reading(nature_gaussian_run):
    html = write_report(nature_gaussian_run).read_text(encoding="utf-8")
    assert_conclusions_first(html)
    reading = html[html.index("id='reading'") : html.index("</section>")]
    for variant in ("mle", "unbiased"):  # the bench's check and the change, per variant
        assert f"[{variant}] log-variance change at generation 20" in reading
        assert re.search(rf"<b>{variant}</b>: log_variance_change 0 → -?[0-9.]+; ", reading)
    assert "variance_ratio 1 → " in reading and "fell" in reading
    pivot = html[html.index("id='pivot'") :]
    header = pivot[: pivot.index("</thead>")]
    assert "<th>mle</th><th>unbiased</th>" in header  # one column per variant
    assert re.search(r"<td>w2</td><td>20</td><td>[-0-9.e]+ \[[-0-9.e]+, [-0-9.e]+\]</td>", pivot)


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
    assert_conclusions_first(html)
    assert "<th>policy=replace</th>" in html  # the pivoted table: one column per point


def test_missing_directory_is_a_one_line_error(tmp_path):
    with pytest.raises(genloop.GenloopError, match="run or sweep directory not found"):
        write_report(tmp_path / "nope")
