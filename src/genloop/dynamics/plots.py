"""Figures of the dynamics bench, drawn from the long-format metrics table.

``plot(metrics, config, out_dir)`` returns the PNG paths it wrote:

* grokking: ``grokking_curves.png`` (train and test accuracy, losses and weight norm per
  seed against the step, log-x) and ``monitor_stops.png``;
* double descent: ``double_descent.png`` (median test MSE and its 10–90 % band against
  the swept quantity, interpolation threshold marked, one curve per ridge; and the same
  errors against Curth et al.'s effective parameters on test inputs);
* epoch-wise: ``epoch_wise.png`` and ``monitor_stops.png``.

``monitor_stops.png`` replays the training monitor on each seed and marks where each
patience rule would have stopped on the target curve.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genloop.core.figures import save_figure
from genloop.dynamics.config import DynamicsConfig


def _as_config(config) -> DynamicsConfig:
    if isinstance(config, DynamicsConfig):
        return config
    if config is None:
        return DynamicsConfig()
    keys = set(DynamicsConfig.model_fields)
    return DynamicsConfig.model_validate({k: v for k, v in dict(config).items() if k in keys})


def _infer_experiment(metrics) -> str:
    names = set(metrics["metric"].unique())
    if any("@ridge=" in name for name in names):
        return "double_descent"
    return "grokking" if "test_acc" in names else "epoch_wise"


def _curves(metrics, metric: str):
    """Wide table (index generation, one column per seed) of one metric."""
    rows = metrics[metrics["metric"] == metric]
    return rows.pivot_table(index="generation", columns="seed", values="value").sort_index()


def _new_figure(n_panels: int, width: float = 5.0):
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    fig = Figure(figsize=(width * n_panels, 4.0), layout="constrained")
    return fig, fig.subplots(1, n_panels, squeeze=False)[0]


def _median_band(ax, table, label: str, color=None, **kw):
    x = table.index.to_numpy(dtype=float)
    values = table.to_numpy(dtype=float)
    median = np.nanmedian(values, axis=1)
    (line,) = ax.plot(x, median, label=label, color=color, **kw)
    if values.shape[1] > 1:
        low, high = np.nanpercentile(values, [10, 90], axis=1)
        ax.fill_between(x, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    return line


def plot_grokking(metrics, out_dir: Path) -> Path:
    """Accuracy, loss and weight norm against the step, one thin line per seed."""
    fig, (acc_ax, loss_ax, norm_ax) = _new_figure(3)
    positive = metrics[metrics["generation"] > 0]  # log-x cannot show step 0
    for metric, ax, style in (
        ("train_acc", acc_ax, "--"),
        ("test_acc", acc_ax, "-"),
        ("train_loss", loss_ax, "--"),
        ("test_loss", loss_ax, "-"),
        ("weight_norm", norm_ax, "-"),
    ):
        table = _curves(positive, metric)
        for i, seed in enumerate(table.columns):
            ax.plot(
                table.index,
                table[seed],
                style,
                color=f"C{i % 10}",
                linewidth=1,
                label=f"{metric} seed {seed}" if metric != "weight_norm" else f"seed {seed}",
            )
    acc_ax.set(
        xscale="log",
        xlabel="step",
        ylabel="accuracy",
        ylim=(-0.02, 1.02),
        title="train (dashed) and test (solid) accuracy",
    )
    acc_ax.axhline(0.99, color="grey", linewidth=0.5)
    loss_ax.set(
        xscale="log",
        yscale="log",
        xlabel="step",
        ylabel="cross-entropy",
        title="train (dashed) and test (solid) loss",
    )
    norm_ax.set(xscale="log", xlabel="step", ylabel="‖θ‖₂", title="weight norm")
    norm_ax.legend(fontsize="small")
    path = out_dir / "grokking_curves.png"
    save_figure(fig, path, dpi=120)
    return path


def plot_monitor(metrics, config: DynamicsConfig, out_dir: Path) -> Path:
    """The target curve per seed with each patience rule's stop marked."""
    from genloop.dynamics.monitor import TrainingMonitor

    fig, (ax,) = _new_figure(1, width=7.0)
    markers = "ovs^Dp*"
    target_name, lost = None, {}
    for i, seed in enumerate(sorted(metrics["seed"].unique())):
        monitor = TrainingMonitor.replay(metrics, seed=seed, **config.monitor.model_dump())
        report = monitor.report()
        target_name = report.target_metric
        steps = np.asarray(monitor.steps)
        keep = steps > 0
        values = np.asarray(monitor.history[target_name])
        ax.plot(steps[keep], values[keep], color=f"C{i % 10}", linewidth=1, label=f"seed {seed}")
        for j, outcome in enumerate(report.outcomes):
            lost.setdefault(outcome.rule, []).append(outcome.left_on_table)
            if outcome.stop_step is not None and outcome.stop_step > 0:
                ax.plot(
                    outcome.stop_step,
                    outcome.target_at_stop,
                    markers[j % len(markers)],
                    color="black",
                    markersize=7,
                    fillstyle="none",
                )
    for j, (rule, values) in enumerate(lost.items()):
        ax.plot(
            [],
            [],
            markers[j % len(markers)],
            color="black",
            fillstyle="none",
            label=f"stop: {rule} (median lost {np.median(values):.3g})",
        )
    ax.set(
        xscale="log",
        xlabel="step",
        ylabel=target_name,
        title="where patience-based early stopping would have stopped",
    )
    if target_name and "loss" in target_name:
        ax.set_yscale("log")
    ax.legend(fontsize="small")
    path = out_dir / "monitor_stops.png"
    save_figure(fig, path, dpi=120)
    return path


def plot_double_descent(metrics, config: DynamicsConfig, out_dir: Path) -> Path:
    """Median test MSE (10–90 % band) against the swept quantity and against p_eff."""
    from genloop.dynamics.double_descent import ridge_label

    dd = config.double_descent
    model_wise = dd.sweep == "model"
    threshold = dd.n_train if model_wise else dd.fixed_features
    fig, (sweep_ax, eff_ax) = _new_figure(2, width=5.5)
    for i, ridge in enumerate(dd.ridges):
        suffix = ridge_label(ridge)
        test = _curves(metrics, "test_mse" + suffix)
        if test.empty:
            continue
        _median_band(sweep_ax, test, f"λ = {ridge:g}", color=f"C{i}")
        eff = _curves(metrics, "p_eff_test" + suffix)
        eff_ax.plot(
            np.nanmedian(eff.to_numpy(), axis=1),
            np.nanmedian(test.to_numpy(), axis=1),
            "o-",
            color=f"C{i}",
            markersize=3,
            label=f"λ = {ridge:g}",
        )
    sweep_ax.axvline(
        threshold,
        color="grey",
        linestyle=":",
        label=f"interpolation threshold ({'N' if model_wise else 'n'} = {threshold})",
    )
    sweep_ax.set(
        xscale="log",
        yscale="log",
        xlabel="number of random features N" if model_wise else "training points n",
        ylabel="test MSE (vs noiseless target)",
        title=f"{'model' if model_wise else 'sample'}-wise double descent "
        f"(median, 10–90 % of seeds)",
    )
    sweep_ax.legend(fontsize="small")
    eff_ax.set(
        xscale="log",
        yscale="log",
        xlabel="effective parameters on test inputs p̂",
        ylabel="median test MSE",
        title="against Curth et al.'s effective parameters",
    )
    eff_ax.legend(fontsize="small")
    path = out_dir / "double_descent.png"
    save_figure(fig, path, dpi=120)
    return path


def plot_epoch_wise(metrics, out_dir: Path) -> Path:
    """Median train and test MSE against the epoch (log-x), 10–90 % band over seeds."""
    fig, (ax,) = _new_figure(1, width=7.0)
    positive = metrics[metrics["generation"] > 0]
    _median_band(
        ax, _curves(positive, "train_loss"), "train MSE (noisy labels)", color="C0", linestyle="--"
    )
    _median_band(ax, _curves(positive, "test_loss"), "test MSE (noiseless teacher)", color="C1")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="epoch",
        ylabel="MSE",
        title="epoch-wise double descent (median, 10–90 % of seeds)",
    )
    ax.legend(fontsize="small")
    path = out_dir / "epoch_wise.png"
    save_figure(fig, path, dpi=120)
    return path


def plot(metrics, config, out_dir) -> list[Path]:
    """Draw the figures of the experiment that produced ``metrics``.

    Parameters
    ----------
    metrics : pandas.DataFrame
        Long format: columns generation, seed, metric, value.
    config : DynamicsConfig, dict or None
        The run's bench config (a dict may hold extra recipe keys, which are ignored).
    out_dir : str or pathlib.Path
        Where the PNG files go (created).

    Returns
    -------
    list of pathlib.Path
    """
    config = _as_config(config)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if metrics.empty:
        return []
    if "variant" in metrics.columns and metrics["variant"].nunique() > 1:
        # Seeds repeat across variants: one set of figures per variant, in a sub-folder.
        paths = []
        for variant, part in metrics.groupby("variant"):
            paths += plot(part.drop(columns="variant"), config, out_dir / str(variant))
        return paths
    names = set(metrics["metric"].unique())
    experiment = config.experiment
    if experiment == "grokking" and "test_acc" not in names:
        experiment = _infer_experiment(metrics)
    if experiment == "double_descent":
        return [plot_double_descent(metrics, config, out_dir)]
    if experiment == "grokking":
        return [plot_grokking(metrics, out_dir), plot_monitor(metrics, config, out_dir)]
    return [plot_epoch_wise(metrics, out_dir), plot_monitor(metrics, config, out_dir)]
