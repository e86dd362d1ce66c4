"""A training monitor: would early stopping have cut learning short?

:class:`TrainingMonitor` records whatever curves a training loop hands it
(``monitor.update(step, train_loss=..., test_acc=..., weight_norm=...)``), runs common
patience rules alongside ("stop when the validation loss has not improved for 500
steps"), and at the end reports where each rule would have stopped and how much of the
target score (by default test accuracy) was still to come. It also flags the signature
of late generalisation: the training loss is already about zero, yet the weight norm is
still falling or the test loss still improving while a train–test gap stays open — the
state a grokking network is in for thousands of steps before it generalises.

The monitor never stops anything itself: a loop may poll :attr:`TrainingMonitor.fired`,
and :meth:`TrainingMonitor.replay` runs it after the fact on logged metrics in the long
format ``(generation, seed, metric, value)``.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import asdict, dataclass, field

from genloop.core.errors import ConfigError
from genloop.dynamics.config import MonitorConfig, PatienceRule


@dataclass
class RuleOutcome:
    """What one patience rule would have done on the recorded run.

    Attributes
    ----------
    rule : str
        A readable name, e.g. ``"test_loss min, patience 500"``.
    stop_step : float or None
        The first step at which ``step − best_step ≥ patience``; ``None`` if never.
    best_step : float or None
        The step of the rule metric's best value up to the stop (the weights a
        "restore best" callback would keep).
    target_at_stop, target_at_best : float
        The target score at ``stop_step`` (at the last step when the rule never fired)
        and at ``best_step``.
    target_best : float
        The best target score over the whole recorded run.
    left_on_table : float
        How much better the run got than the stopped model:
        ``target_best − target_at_stop`` (reversed for a ``min`` target); 0 when the
        rule never fired.
    late_generalisation_at_stop : bool
        Whether the late-generalisation flag was up at the stop step (a warning that
        this stop is premature).
    """

    rule: str
    stop_step: float | None
    best_step: float | None
    target_at_stop: float
    target_at_best: float
    target_best: float
    left_on_table: float
    late_generalisation_at_stop: bool


@dataclass
class MonitorReport:
    """The monitor's verdict on one run.

    Attributes
    ----------
    target_metric : str
        The score the outcomes are measured in.
    outcomes : list of RuleOutcome
        One per patience rule, in the configured order.
    late_generalisation_steps : list of float
        Logged steps at which the late-generalisation flag was up.
    """

    target_metric: str
    outcomes: list[RuleOutcome]
    late_generalisation_steps: list[float] = field(default_factory=list)

    @property
    def first_late_generalisation_step(self) -> float | None:
        """The first flagged step, or ``None``."""
        return self.late_generalisation_steps[0] if self.late_generalisation_steps else None

    def to_records(self) -> list[dict]:
        """One plain dict per rule (for a DataFrame or JSON)."""
        flag = self.first_late_generalisation_step
        return [
            {**asdict(o), "target_metric": self.target_metric, "first_late_flag": flag}
            for o in self.outcomes
        ]

    def summary(self) -> str:
        """A few lines a person can read."""
        lines = []
        for o in self.outcomes:
            if o.stop_step is None:
                lines.append(f"{o.rule}: never stops")
                continue
            warn = " [late generalisation flagged]" if o.late_generalisation_at_stop else ""
            lines.append(
                f"{o.rule}: stops at step {o.stop_step:g} with {self.target_metric} "
                f"{o.target_at_stop:.3f}; the run reached {o.target_best:.3f} "
                f"(left on the table {o.left_on_table:.3f}){warn}"
            )
        flag = self.first_late_generalisation_step
        lines.append(
            "late generalisation: "
            + (f"first flagged at step {flag:g}" if flag is not None else "not flagged")
        )
        return "\n".join(lines)


def _rule_name(rule: PatienceRule) -> str:
    return f"{rule.metric} {rule.mode}, patience {rule.patience}"


def _improves(value: float, best: float, mode: str, min_delta: float) -> bool:
    if mode == "min":
        return value < best - min_delta
    return value > best + min_delta


class TrainingMonitor:
    """Record curves, apply patience rules, flag likely late generalisation.

    Parameters
    ----------
    rules : list of PatienceRule or dict, optional
        Early-stopping rules (default: :class:`MonitorConfig`'s).
    target_metric : str, optional
        The score whose value at each stop is reported; by default ``"test_acc"`` when
        it was logged, else ``"test_loss"``.
    target_mode : {"max", "min"}, optional
        Whether a larger target is better; by default ``"max"`` for names containing
        ``"acc"`` and ``"min"`` otherwise.
    train_loss_floor, window, relative_fall, test_gap
        Late-generalisation thresholds; see :class:`MonitorConfig`.

    Examples
    --------
    >>> monitor = TrainingMonitor()
    >>> for step in range(0, 3000, 50):
    ...     monitor.update(step, train_loss=0.0, test_loss=1.0, test_acc=0.1)
    >>> monitor.report().outcomes[0].stop_step
    500.0
    """

    def __init__(
        self,
        rules=None,
        target_metric: str | None = None,
        target_mode: str | None = None,
        train_loss_floor: float = 1e-2,
        window: int = 500,
        relative_fall: float = 0.01,
        test_gap: float = 0.05,
    ):
        defaults = MonitorConfig()
        if rules is None:
            rules = defaults.rules
        self.rules = [r if isinstance(r, PatienceRule) else PatienceRule(**r) for r in rules]
        if target_mode not in (None, "max", "min"):
            raise ConfigError(f"monitor target_mode={target_mode!r}; allowed: max, min")
        if window <= 0:
            raise ConfigError(f"monitor window={window}; must be positive")
        self.target_metric = target_metric
        self.target_mode = target_mode
        self.train_loss_floor = train_loss_floor
        self.window = window
        self.relative_fall = relative_fall
        self.test_gap = test_gap
        self.steps: list[float] = []
        self.history: dict[str, list[float]] = {}
        self._best = [(math.nan, None)] * len(self.rules)  # (best value, best step) per rule
        self._stop: list[float | None] = [None] * len(self.rules)
        self._best_at_stop: list[float | None] = [None] * len(self.rules)
        self._flagged: list[float] = []

    @classmethod
    def from_config(cls, config: MonitorConfig) -> TrainingMonitor:
        """Build a monitor from the ``monitor:`` section of a recipe."""
        return cls(**config.model_dump())

    # ----------------------------------------------------------------- recording
    def update(self, step: float, **values: float) -> None:
        """Record the metrics logged at ``step`` (steps must increase)."""
        step = float(step)
        if self.steps and step <= self.steps[-1]:
            raise ConfigError(f"monitor steps must increase; got {step:g} after {self.steps[-1]:g}")
        self.steps.append(step)
        for name, value in values.items():
            column = self.history.setdefault(name, [math.nan] * (len(self.steps) - 1))
            column.append(float(value))
        for column in self.history.values():  # metrics missing at this step are NaN
            if len(column) < len(self.steps):
                column.append(math.nan)
        for i, rule in enumerate(self.rules):
            self._apply_rule(i, rule, step, values.get(rule.metric, math.nan))
        if self._late_generalisation_now():
            self._flagged.append(step)

    def _apply_rule(self, i: int, rule: PatienceRule, step: float, value: float) -> None:
        if self._stop[i] is not None:
            return
        best, best_step = self._best[i]
        value = float(value)
        first = best_step is None
        if math.isfinite(value) and (first or _improves(value, best, rule.mode, rule.min_delta)):
            self._best[i] = (value, step)
        elif best_step is not None and step - best_step >= rule.patience:
            self._stop[i] = step
            self._best_at_stop[i] = best_step

    def _value_at_or_before(self, name: str, step: float) -> float:
        index = bisect_right(self.steps, step) - 1
        return self.history[name][index] if index >= 0 else math.nan

    def _window_peak(self, name: str) -> float:
        """The largest finite value of ``name`` over the last ``window`` steps."""
        start = bisect_left(self.steps, self.steps[-1] - self.window)
        values = [v for v in self.history[name][start:] if math.isfinite(v)]
        return max(values) if values else math.nan

    def _late_generalisation_now(self) -> bool:
        """Train loss ≈ 0, a train–test gap open, and norm still falling or test improving.

        "Still falling" compares the latest value with the peak of the last ``window``
        steps: a fall by more than ``relative_fall`` of the peak counts. Peaks rather
        than the value one window ago, because a memorising network's weight norm and
        test loss first shoot up and only then turn down.
        """
        h, now = self.history, self.steps[-1]
        if "train_loss" not in h or now - self.steps[0] < self.window:
            return False
        if not h["train_loss"][-1] < self.train_loss_floor:
            return False
        # A closed gap means the model has already generalised: nothing late to wait for.
        if "train_acc" in h and "test_acc" in h:
            if not h["train_acc"][-1] - h["test_acc"][-1] > self.test_gap:
                return False
        elif "test_loss" in h and not h["test_loss"][-1] - h["train_loss"][-1] > self.test_gap:
            return False
        for name in ("weight_norm", "test_loss"):
            if name in h:
                peak = self._window_peak(name)
                if peak - h[name][-1] > self.relative_fall * abs(peak):
                    return True
        return False

    @property
    def fired(self) -> list[str]:
        """Names of the rules that would already have stopped training."""
        return [
            _rule_name(r)
            for r, stop in zip(self.rules, self._stop, strict=True)
            if stop is not None
        ]

    # ----------------------------------------------------------------- reporting
    def _resolved_target(self) -> tuple[str, str]:
        name = self.target_metric
        if name is None:
            name = "test_acc" if "test_acc" in self.history else "test_loss"
        if name not in self.history:
            known = ", ".join(sorted(self.history))
            raise ConfigError(f"monitor target_metric={name!r} was never logged; logged: {known}")
        mode = self.target_mode or ("max" if "acc" in name else "min")
        return name, mode

    def report(self) -> MonitorReport:
        """Where each rule stops and what the target score lost by it.

        Rules whose metric was never logged are left out.
        """
        if not self.steps:
            raise ConfigError("the training monitor has no recorded steps to report on")
        target_name, target_mode = self._resolved_target()
        target = self.history[target_name]
        finite = [v for v in target if math.isfinite(v)]
        best_target = (max if target_mode == "max" else min)(finite) if finite else math.nan
        flagged = set(self._flagged)
        outcomes = []
        for i, rule in enumerate(self.rules):
            if rule.metric not in self.history:
                continue
            stop = self._stop[i]
            best_step = self._best_at_stop[i] if stop is not None else self._best[i][1]
            at_stop = self._value_at_or_before(
                target_name, stop if stop is not None else self.steps[-1]
            )
            at_best = (
                self._value_at_or_before(target_name, best_step)
                if best_step is not None
                else math.nan
            )
            lost = 0.0
            if stop is not None:
                lost = best_target - at_stop if target_mode == "max" else at_stop - best_target
            outcomes.append(
                RuleOutcome(
                    rule=_rule_name(rule),
                    stop_step=stop,
                    best_step=best_step,
                    target_at_stop=at_stop,
                    target_at_best=at_best,
                    target_best=best_target,
                    left_on_table=lost,
                    late_generalisation_at_stop=stop in flagged,
                )
            )
        return MonitorReport(target_name, outcomes, sorted(flagged))

    # ------------------------------------------------------------------- replay
    @classmethod
    def replay(
        cls, metrics, seed: int | None = None, variant: str | None = None, **kwargs
    ) -> TrainingMonitor:
        """Run a monitor over logged metrics after the fact.

        Parameters
        ----------
        metrics : pandas.DataFrame
            Long format, columns ``generation`` (the step), ``seed``, ``metric``,
            ``value`` and optionally ``variant`` (as in a run's metrics table).
        seed : int, optional
            Which seed to replay; required when the frame holds several.
        variant : str, optional
            Which variant to replay; required when the frame holds several.
        **kwargs
            Passed to :class:`TrainingMonitor`.
        """
        missing = {"generation", "metric", "value"} - set(metrics.columns)
        if missing:
            raise ConfigError(f"metrics frame lacks columns {sorted(missing)}")
        for column, wanted in (("variant", variant), ("seed", seed)):
            if column not in metrics.columns:
                continue
            present = sorted(metrics[column].unique())
            if wanted is None and len(present) > 1:
                raise ConfigError(f"metrics hold {column}s {present}; pass {column}= to replay one")
            if wanted is not None:
                metrics = metrics[metrics[column] == wanted]
                if metrics.empty:
                    raise ConfigError(f"no metrics for {column} {wanted}; present: {present}")
        wide = metrics.pivot_table(index="generation", columns="metric", values="value")
        monitor = cls(**kwargs)
        for step, row in wide.sort_index().iterrows():
            monitor.update(step, **row.dropna().to_dict())
        return monitor


def replay_report(metrics, config: MonitorConfig | None = None):
    """Replay :class:`TrainingMonitor` on every seed (and variant); one row per rule.

    Parameters
    ----------
    metrics : pandas.DataFrame
        Long format (columns generation, seed, metric, value, optionally variant).
    config : MonitorConfig, optional
        Rules and thresholds (default: :class:`MonitorConfig`'s).

    Returns
    -------
    pandas.DataFrame
        Columns ``seed`` (and ``variant`` when the metrics have one) plus the fields of
        :meth:`MonitorReport.to_records`.
    """
    import pandas as pd

    config = config or MonitorConfig()
    keys = [c for c in ("variant", "seed") if c in metrics.columns]
    if "seed" not in keys:
        raise ConfigError("metrics frame lacks a seed column")
    rows = []
    for values, _ in metrics.groupby(keys, sort=True):
        where = dict(zip(keys, values, strict=True))
        monitor = TrainingMonitor.replay(metrics, **where, **config.model_dump())
        rows += [{**where, **record} for record in monitor.report().to_records()]
    return pd.DataFrame(rows)
