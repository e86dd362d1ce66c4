"""Carrying stopped seeds forward (tier 1, hand-made frames)."""

from __future__ import annotations

import pandas as pd

from genloop.core.run_dir import rows_frame
from genloop.store.tidy import values_at, wide


def frame():
    # seed 0 stops after generation 1; seed 1 runs to generation 3
    rows = [("v", 0, 0, "m", 5.0), ("v", 0, 1, "m", 1.0),
            ("v", 1, 0, "m", 6.0), ("v", 1, 1, "m", 4.0), ("v", 1, 2, "m", 3.0),
            ("v", 1, 3, "m", 2.0)]
    return rows_frame(rows)


def test_values_at_carries_last_value_forward():
    out = values_at(frame(), [0, 3]).sort_values(["generation", "seed"])
    assert out[["seed", "generation", "value"]].values.tolist() == [
        [0, 0, 5.0], [1, 0, 6.0], [0, 3, 1.0], [1, 3, 2.0]
    ]


def test_wide_fills_generations_and_seeds():
    table = wide(frame(), "m", "v")
    assert table.index.tolist() == [0, 1, 2, 3]
    assert table[0].tolist() == [5.0, 1.0, 1.0, 1.0]
    assert isinstance(table, pd.DataFrame)
