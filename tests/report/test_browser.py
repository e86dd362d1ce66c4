"""The report in a real browser: headless Chromium loads it without console errors, every
figure has a non-zero size, and markup pushed through a config value and a sample stays
text. The screenshot is kept under the sweep directory (a CI artifact).

Skipped only when no Chromium binary exists (``.ci/run`` installs Debian's ``chromium``).
"""

from __future__ import annotations

import pytest

import genloop
from genloop.report.browser import check_page, find_chromium
from genloop.report.html import write_report
from genloop.sweep import run_sweep

pytestmark = pytest.mark.skipif(
    find_chromium() is None, reason="no chromium binary (apt-get install chromium)"
)
EVIL = "<script>alert(1)</script>"
RECIPE = {
    "name": "browser-test",
    "bench": "collapse",
    "seeds": "0..2",
    "description": f"note {EVIL}",
    "family": {"name": "gmm", "n_components": 2},
    "source": {"name": "gmm"},
    "n": 60,
    "generations": 8,
    "holdout": 100,
    "snapshots": [0, 4, 8],
    "metrics": ["log_variance", "component_std", "gmm_l2"],
    "engine": "samples",
}


def test_sweep_report_renders_in_chromium(tmp_path):
    sweep = run_sweep(
        RECIPE,
        grid=["mixing.policy=replace,keep_fraction,accumulate"],
        out=tmp_path / "sweep",
        workers=1,
    )
    html = write_report(sweep.path)
    shot = sweep.path / "report_screenshot.png"
    result = check_page(html, shot)
    assert result.errors == []
    assert result.title == "genloop sweep report: browser-test"
    assert len(result.images) >= 6
    assert all(w > 0 and h > 0 for w, h, _ in result.images), result.images
    comparison = [alt for _, _, alt in result.images if alt.startswith("comparison ")]
    assert "comparison log_variance_change" in comparison
    assert shot.stat().st_size > 20_000 and shot.read_bytes()[:4] == b"\x89PNG"


def test_reading_and_a_figure_are_on_the_first_screen(nature_gaussian_run):
    """At 1400×900 the reader sees the conclusion and a figure before scrolling."""
    shot = nature_gaussian_run / "report_first_screen.png"
    result = check_page(
        write_report(nature_gaussian_run),
        shot,
        width=1400,
        height=900,
        selectors=("#reading", "img", "#pivot"),
        full_page=False,
    )
    assert result.errors == []
    assert "[mle] log-variance change at generation 20" in result.text
    reading, figure, pivot = (result.boxes[s] for s in ("#reading", "img", "#pivot"))
    assert figure is not None and figure[0] < 900 and figure[3] > 0, figure  # top, height
    assert reading is not None and reading[0] < 900 and reading[3] > 0, result.boxes
    assert pivot is not None, result.boxes
    assert reading[0] < figure[0] < pivot[0]
    assert shot.read_bytes()[:4] == b"\x89PNG"


def test_markup_is_shown_as_text_not_run(tmp_path):
    run = genloop.run(RECIPE | {"seeds": 0, "snapshots": []}, out=tmp_path / "run")
    unit = next((run.path / "artifacts").iterdir())
    (unit / "samples.txt").write_text(f"{EVIL}\n<img src=x onerror=alert(2)>\n")
    result = check_page(write_report(run.path), run.path / "report_screenshot.png")
    assert result.dialogs == [] and result.errors == []
    assert EVIL in result.text and "<img src=x onerror=alert(2)>" in result.text
    assert all(w > 0 and h > 0 for w, h, _ in result.images)
