"""``run_seed``: the dynamics bench's entry point for the runner.

Dispatches on ``config.experiment``; torch is imported only by the experiments that
train a network, so validating a recipe or running the double-descent sweep never
loads it.
"""

from __future__ import annotations

import json

from genloop.core.bench import SeedContext
from genloop.dynamics.config import DynamicsConfig


def _configure_torch(config: DynamicsConfig) -> str:
    """Set the CPU thread count and return the device string for this run."""
    import torch

    from genloop.dynamics.grokking import resolve_device

    # Small full-batch models gain little from threads on a shared 2-core machine, and
    # parallel seeds would oversubscribe it; the recipe can raise this.
    torch.set_num_threads(config.threads)
    return resolve_device(config.device)


def run_seed(config: DynamicsConfig, ctx: SeedContext) -> str:
    """Run one seed of the configured experiment, logging through ``ctx``.

    ``generation`` in the logged rows is the optimiser step (grokking), the swept
    quantity (double descent: the number of features ``N`` for a model-wise sweep, the
    number of training points ``n`` for a sample-wise one) or the epoch (epoch-wise).
    Grokking and epoch-wise runs also write ``monitor.json`` (the training monitor's
    report) into ``ctx.artifact_dir``.

    Returns
    -------
    str
        What computed the run (``"numpy"`` or ``"torch-<device>"``), for the run's metadata.
    """
    if config.experiment == "double_descent":
        from genloop.dynamics.double_descent import run_double_descent

        run_double_descent(config.double_descent, ctx.seed, ctx.log, ctx.advance)
        return "numpy"

    from genloop.dynamics.monitor import TrainingMonitor

    device = _configure_torch(config)
    monitor = TrainingMonitor.from_config(config.monitor)
    if config.experiment == "grokking":
        from genloop.dynamics.grokking import train_grokking

        train_grokking(
            config.grokking,
            ctx.seed,
            ctx.log,
            device=device,
            advance=ctx.advance,
            callback=monitor.update,
        )
    else:
        from genloop.dynamics.epoch_wise import train_epoch_wise

        train_epoch_wise(
            config.epoch_wise,
            ctx.seed,
            ctx.log,
            device=device,
            advance=ctx.advance,
            callback=monitor.update,
        )
    report = monitor.report()
    payload = {"summary": report.summary(), "rules": report.to_records()}
    (ctx.artifact_dir / "monitor.json").write_text(json.dumps(payload, indent=2))
    return f"torch-{device}"
