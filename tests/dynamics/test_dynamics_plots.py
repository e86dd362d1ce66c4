"""The bench's figures are written from long-format metrics (tier 3)."""

from __future__ import annotations

import pandas as pd

from genloop.dynamics import BENCH
from genloop.dynamics.config import DynamicsConfig
from genloop.dynamics.double_descent import run_double_descent


def long_frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["generation", "seed", "metric", "value"])


def grokking_rows(seed: int):
    for step in range(0, 1001, 50):
        values = {
            "train_loss": 0.001, "train_acc": 1.0, "test_loss": 3.0 - step / 1000,
            "test_acc": 0.02 if step < 800 else 1.0, "weight_norm": 90 - step / 100,
        }  # fmt: skip
        yield from ((step, seed, k, v) for k, v in values.items())


def is_png(path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_grokking_figures(tmp_path):
    frame = long_frame([*grokking_rows(0), *grokking_rows(1)])
    paths = BENCH.plot(frame, DynamicsConfig(), tmp_path)
    assert [p.name for p in paths] == ["grokking_curves.png", "monitor_stops.png"]
    assert all(is_png(p) for p in paths)


def test_double_descent_figure_from_a_dict_config(tmp_path):
    config = DynamicsConfig(
        experiment="double_descent", double_descent={"n_features": [20, 100, 300], "n_test": 50}
    )
    rows = []
    for seed in (0, 1):
        run_double_descent(
            config.double_descent, seed,
            lambda g, m, s=seed: rows.extend((g, s, k, v) for k, v in m.items()),
        )  # fmt: skip
    raw = {"name": "x", "bench": "dynamics", **config.model_dump()}  # extra keys are ignored
    (path,) = BENCH.plot(long_frame(rows), raw, tmp_path)
    assert path.name == "double_descent.png" and is_png(path)


def test_epoch_wise_and_variants_go_to_sub_folders(tmp_path):
    rows = [
        (e, 0, k, 1.0 + e / 100) for e in range(0, 200, 20) for k in ("train_loss", "test_loss")
    ]
    frame = long_frame(rows)
    frame = pd.concat([frame.assign(variant="a"), frame.assign(variant="b")])
    paths = BENCH.plot(frame, DynamicsConfig(experiment="epoch_wise"), tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in paths) == [
        "a/epoch_wise.png", "a/monitor_stops.png", "b/epoch_wise.png", "b/monitor_stops.png",
    ]  # fmt: skip
    assert BENCH.plot(frame.iloc[:0], DynamicsConfig(), tmp_path / "empty") == []
