"""Samples-to-target, paired bootstrap speed-up and the seek figures (hand-made metrics)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genloop.core.errors import ConfigError, DataError
from genloop.seek.analysis import samples_to_target, speedup, summary
from genloop.seek.config import SeekConfig
from genloop.seek.plots import plot


def _run_rows(variant, seed, accuracies, step=100, share=0.2):
    """A curriculum run: per round samples, acc_hardest and shares; targets at the end."""
    rows = []
    reached = None
    for round_, accuracy in enumerate(accuracies):
        samples = (round_ + 1) * step
        rows += [(variant, seed, round_, "samples", samples),
                 (variant, seed, round_, "acc_hardest", accuracy),
                 (variant, seed, round_, "share_unlearnable", share),
                 (variant, seed, round_, "share_noisy", share / 2),
                 (variant, seed, round_, "cum_share_unlearnable", share)]
        if reached is None and accuracy >= 0.9:
            reached = samples
    last = len(accuracies) - 1
    rows += [(variant, seed, last, "reached_target", float(reached is not None)),
             (variant, seed, last, "samples_to_target", reached or (last + 1) * step)]
    return rows


def _metrics():
    rows = []
    # uniform reaches 0.9 at 400 and 600 samples; learning progress at 200 and 200.
    rows += _run_rows("uniform", 0, [0.1, 0.5, 0.8, 0.9, 0.95, 0.96])
    rows += _run_rows("uniform", 1, [0.1, 0.2, 0.3, 0.5, 0.8, 0.91], share=0.25)
    rows += _run_rows("learning-progress", 0, [0.5, 0.92], share=0.02)
    rows += _run_rows("learning-progress", 1, [0.6, 0.95], share=0.04)
    rows += _run_rows("loss-plr", 0, [0.1, 0.1, 0.2])  # never reaches: censored at 300
    rows += _run_rows("loss-plr", 1, [0.1, 0.3, 0.4])
    return pd.DataFrame(rows, columns=["variant", "seed", "generation", "metric", "value"])


def test_samples_to_target_reads_logged_values_and_censors_at_the_budget():
    table = samples_to_target(_metrics()).set_index(["variant", "seed"])
    assert table.loc[("uniform", 0), "samples"] == 400
    assert table.loc[("uniform", 1), "samples"] == 600
    assert table.loc[("learning-progress", 1), "samples"] == 200
    assert table.loc[("loss-plr", 0), "samples"] == 300
    assert not table.loc[("loss-plr", 0), "reached"]
    # Recomputing from the curve with another target.
    other = samples_to_target(_metrics(), target=0.5).set_index(["variant", "seed"])
    assert other.loc[("uniform", 0), "samples"] == 200 and other.loc[("uniform", 1), "samples"] == 400


def test_speedup_ratio_and_paired_bootstrap():
    table = samples_to_target(_metrics())
    gain = speedup(table, "learning-progress", n_boot=2000, seed=3)
    assert gain["ratio"] == pytest.approx(500 / 200)  # mean(400, 600) / mean(200, 200)
    # Resampling two seeds can give (400, 400), (400, 600) or (600, 600) over (200, 200).
    assert gain["ci_low"] == pytest.approx(2.0) and gain["ci_high"] == pytest.approx(3.0)
    assert gain == speedup(table, "learning-progress", n_boot=2000, seed=3)  # seeded
    censored = speedup(table, "loss-plr")
    assert censored["method_unreached"] == 2 and censored["baseline_unreached"] == 0
    with pytest.raises(ConfigError, match="not in the run"):
        speedup(table, "novelty")


def test_summary_table_and_bad_inputs():
    frame = summary(_metrics(), n_boot=500).set_index("variant")
    assert frame.loc["uniform", "mean_samples"] == 500
    assert frame.loc["learning-progress", "reached"] == 2
    assert frame.loc["learning-progress", "speedup_ratio"] == pytest.approx(2.5)
    assert frame.loc["learning-progress", "cum_share_unlearnable"] == pytest.approx(0.03)
    assert np.isnan(frame.loc["uniform", "speedup_ratio"])
    with pytest.raises(DataError, match="acc_hardest"):
        samples_to_target(_metrics().query("metric != 'acc_hardest'"))


def test_plot_writes_the_three_figures(tmp_path):
    paths = plot(_metrics(), SeekConfig(), tmp_path)
    assert [p.name for p in paths] == [
        "seek_hardest_accuracy.png", "seek_sampling_share.png", "seek_samples_to_target.png"
    ]
    assert all(p.stat().st_size > 1000 for p in paths)


def test_summary_lines_say_what_show_prints():
    from genloop.seek.analysis import summary_lines

    lines = summary_lines(_metrics())
    assert lines[0].startswith("[uniform] samples to target: mean 500 (2/2 seeds reached it")
    # learning progress: mean 200 samples; uniform needs 500 / 200 = 2.5 times as many.
    assert lines[1].startswith("[learning-progress] samples to target: mean 200 (2/2")
    assert "uniform needs 2.50× as many" in lines[1]
    assert lines[2].startswith("[loss-plr] target not reached by any of 2 seeds")
    assert "needs" not in lines[2]  # no ratio from seeds that never reached the target
    # A run without curriculum metrics (self-training) has no lines.
    other = _metrics()[lambda m: ~m["metric"].isin(["samples", "acc_hardest"])]
    assert summary_lines(other) == []
