"""The demo's sentences (issue 16): no "fell 1.0×" for a change too small to show."""

from __future__ import annotations

import pandas as pd

from genloop.demo import findings


def frame(start: float, end: float) -> pd.DataFrame:
    return pd.DataFrame({"variant": "v", "seed": 0, "generation": [0, 10],
                         "metric": "component_std", "value": [start, end]})


def test_small_changes_read_as_percentages_and_large_ones_as_factors():
    assert "about the same, -2.0%" in findings(frame(1.0, 0.98), ["v"])[1]
    assert "fell 4.0×" in findings(frame(1.0, 0.25), ["v"])[1]
    assert "rose 2.0×" in findings(frame(1.0, 2.0), ["v"])[1]
    assert not any("1.0×" in line for line in findings(frame(1.0, 1.03), ["v"]))
