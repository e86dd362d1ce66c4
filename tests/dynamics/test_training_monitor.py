"""The training monitor on hand-made curves (tier 1: exact stop steps and losses)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from genloop.core.errors import ConfigError
from genloop.dynamics.config import MonitorConfig, PatienceRule
from genloop.dynamics.monitor import TrainingMonitor, replay_report

STEPS = list(range(0, 2001, 100))


def hand_made_curve(step: int) -> dict[str, float]:
    """Memorise by step 100; test loss best at step 200; test accuracy jumps at 1500."""
    return {
        "train_loss": 2.0 if step == 0 else 0.001,
        "train_acc": 0.1 if step == 0 else 1.0,
        "test_loss": {0: 3.0, 100: 2.5, 200: 2.0}.get(step, 2.2 if step < 1500 else 1.9),
        "test_acc": 0.05 if step < 1500 else 0.97,
        "weight_norm": 100.0 - step / 100,  # falls 1 per 100 steps: weight decay at work
    }


def run_monitor(**kwargs) -> TrainingMonitor:
    monitor = TrainingMonitor(**kwargs)
    for step in STEPS:
        monitor.update(step, **hand_made_curve(step))
    return monitor


def test_patience_on_test_loss_stops_exactly_and_counts_the_loss():
    report = run_monitor(rules=[PatienceRule(metric="test_loss", patience=300)]).report()
    (outcome,) = report.outcomes
    # Best at 200; 300 steps without improvement → stop at 500, long before step 1500.
    assert outcome.stop_step == 500.0 and outcome.best_step == 200.0
    assert outcome.target_at_stop == 0.05 and outcome.target_best == 0.97
    assert outcome.left_on_table == pytest.approx(0.92)
    assert report.target_metric == "test_acc"


def test_max_mode_min_delta_and_a_rule_that_never_fires():
    rules = [
        {"metric": "test_acc", "mode": "max", "patience": 1000},
        {"metric": "test_acc", "mode": "max", "patience": 5000},
        {"metric": "test_loss", "mode": "min", "patience": 300, "min_delta": 1.05},
    ]
    outcomes = run_monitor(rules=rules).report().outcomes
    assert outcomes[0].stop_step == 1000.0 and outcomes[0].best_step == 0.0
    assert outcomes[1].stop_step is None and outcomes[1].left_on_table == 0.0
    assert outcomes[1].target_at_stop == 0.97  # never stopped: the last value
    # 2.5 and 2.0 do not beat 3.0 by more than 1.05 (and 1.9 comes late): stop at 300.
    assert outcomes[2].stop_step == 300.0 and outcomes[2].best_step == 0.0


def test_late_generalisation_is_flagged_while_the_gap_is_open():
    monitor = run_monitor(rules=[PatienceRule(metric="test_loss", patience=300)], window=500)
    report = monitor.report()
    # From step 500 (one window after the start) the train loss is ≈ 0, the norm has
    # fallen 5 % per window, and train − test accuracy is 0.95; at 1500 the gap closes.
    assert report.late_generalisation_steps == [float(s) for s in range(500, 1500, 100)]
    assert report.outcomes[0].late_generalisation_at_stop
    assert "left on the table 0.920" in report.summary()
    assert "first flagged at step 500" in report.summary()


def test_no_flag_without_a_falling_norm_or_improving_test():
    monitor = TrainingMonitor(window=200)
    for step in STEPS:
        monitor.update(step, train_loss=0.0, train_acc=1.0, test_acc=0.1, weight_norm=5.0)
    assert monitor.report().late_generalisation_steps == []


def test_replay_on_the_long_format_equals_live_updates():
    live = run_monitor().report()
    rows = [
        (s, seed, k, v) for seed in (0, 1) for s in STEPS for k, v in hand_made_curve(s).items()
    ]
    frame = pd.DataFrame(rows, columns=["generation", "seed", "metric", "value"])
    replayed = TrainingMonitor.replay(frame, seed=1).report()
    assert replayed == live
    table = replay_report(frame, MonitorConfig())
    assert list(table["seed"]) == [0, 0, 0, 1, 1, 1]
    assert table.loc[0, "stop_step"] == 700.0  # default rule: test_loss (best at 200) + 500
    with pytest.raises(ConfigError, match="pass seed="):
        TrainingMonitor.replay(frame)
    with pytest.raises(ConfigError, match="no metrics for seed 7"):
        TrainingMonitor.replay(frame, seed=7)
    two = pd.concat([frame.assign(variant="a"), frame.assign(variant="b")])
    with pytest.raises(ConfigError, match="pass variant="):
        TrainingMonitor.replay(two, seed=1)
    assert TrainingMonitor.replay(two, seed=1, variant="b").report() == live
    assert list(replay_report(two).columns[:2]) == ["variant", "seed"]


def test_usable_as_a_callback_with_partial_metrics():
    monitor = TrainingMonitor(rules=[{"metric": "val_loss", "patience": 2}, {"metric": "nope"}])
    for step, loss in enumerate([1.0, 0.5, 0.6, 0.7, 0.4]):
        monitor.update(step, val_loss=loss, **({"test_loss": 1.0} if step % 2 == 0 else {}))
        if step == 3:
            assert monitor.fired == ["val_loss min, patience 2"]
    report = monitor.report()
    assert report.target_metric == "test_loss"  # no test_acc logged: falls back to the loss
    assert [o.rule for o in report.outcomes] == ["val_loss min, patience 2"]  # "nope" skipped
    assert math.isnan(monitor.history["test_loss"][1])


def test_errors_are_one_line_config_errors():
    monitor = TrainingMonitor()
    with pytest.raises(ConfigError, match="no recorded steps"):
        monitor.report()
    monitor.update(10, test_loss=1.0)
    with pytest.raises(ConfigError, match="must increase"):
        monitor.update(10, test_loss=1.0)
    with pytest.raises(ConfigError, match="target_metric='test_acc' was never logged"):
        replayed = TrainingMonitor(target_metric="test_acc")
        replayed.update(0, test_loss=1.0)
        replayed.report()
    with pytest.raises(ConfigError, match="target_mode"):
        TrainingMonitor(target_mode="up")


def test_flag_reads_falls_from_the_window_peak():
    """A memorising network's norm shoots up, then decays: compare with the peak."""
    monitor = TrainingMonitor(window=500, relative_fall=0.01)
    for step in STEPS[:8]:  # 0..700
        norm = 80.0 if step == 0 else 110.0 - 0.5 * (step - 100) / 100
        monitor.update(step, train_loss=0.0, train_acc=1.0, test_acc=0.0, weight_norm=norm)
    # At 500 the norm (108) is 1.8 % under the window's peak (110 at step 100), though
    # above its value one window earlier (80).
    assert monitor.report().late_generalisation_steps == [500.0, 600.0, 700.0]


RECORDED = Path(__file__).parent / "data" / "grokking_p53_seeds0-4.csv.gz"


def test_replayed_on_recorded_grokking_runs_patience_stops_before_generalisation():
    """The curves of `genloop run grokking` (p = 53, wd 0.03, seeds 0–4, logged every 50
    steps; regenerate with that command and save metrics.parquet without the variant
    column). Patience 500 on test loss fires at step 500 in every seed — the best test
    loss is the untrained one at step 0 — while test accuracy reaches 99 % only at
    3,100–5,300 steps: ≥ 99.8 % accuracy is left on the table, and the late-
    generalisation flag is up when the rule fires."""
    from genloop.dynamics.grokking import steps_to_reach

    curves = pd.read_csv(RECORDED)
    table = replay_report(curves, MonitorConfig(rules=[PatienceRule(patience=500)]))
    for seed, outcome in table.set_index("seed").iterrows():
        wide = curves[curves.seed == seed].pivot(index="generation", columns="metric")["value"]
        grokked_at = steps_to_reach(wide.index, wide["test_acc"], 0.99)
        assert outcome.stop_step == 500.0 and grokked_at >= 3000
        assert outcome.target_at_stop < 0.01 and outcome.left_on_table > 0.99
        assert outcome.late_generalisation_at_stop


def test_late_generalisation_flag_separates_weight_decay_from_none():
    """Recorded `genloop run grokking-no-wd` curves (seeds 0–4, 10,000 steps): without
    weight decay the norm grows and the test loss climbs, so the flag never comes up;
    with weight decay it is up from step 500 until the network has generalised."""
    no_decay = pd.read_csv(RECORDED.with_name("grokking_no_wd_p53_seeds0-4.csv.gz"))
    decay = pd.read_csv(RECORDED)
    for seed in range(5):
        assert TrainingMonitor.replay(no_decay, seed=seed).report().late_generalisation_steps == []
        flagged = TrainingMonitor.replay(decay, seed=seed).report().late_generalisation_steps
        assert flagged[0] == 500.0 and 2000 <= flagged[-1] < 5300
