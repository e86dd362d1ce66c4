"""``run_seed`` and ``ledger_plan``: what the runner asks of the seek bench.

``run_seed`` dispatches on ``config.experiment``; torch is imported only when a learner is
built, so validating a recipe never loads it.
"""

from __future__ import annotations

from genloop.core.bench import SeedContext
from genloop.seek.config import SeekConfig


def run_seed(config: SeekConfig, ctx: SeedContext) -> str:
    """Run one seed of the configured experiment, logging through ``ctx``.

    ``generation`` in the logged rows is the curriculum round (or the self-training round).

    Returns
    -------
    str
        What computed the run (``"torch-<device>"``), for the run's metadata.
    """
    if config.experiment == "self_training":
        from genloop.seek.self_training import run_self_training

        return run_self_training(config, ctx)

    import torch

    from genloop.seek.curriculum import run_curriculum
    from genloop.seek.learners import resolve_device

    # Small models gain little from threads on a shared machine, and parallel seeds would
    # oversubscribe it; the recipe can raise this.
    torch.set_num_threads(config.threads)
    device = resolve_device(config.device)
    run_curriculum(config.curriculum, ctx.seed, ctx.log, ctx.advance, device=device)
    return f"torch-{device}"


def ledger_plan(variants: dict, seeds: list[int]) -> dict[str, str]:
    """Per variant: ``"on"`` for self-training, ``"off: <why>"`` for curricula.

    Self-training feeds a learner's answers back to it, so its pools are what the
    provenance ledger records; a curriculum draws fresh labelled examples every step and
    keeps no pool. Self-training's ledger is small (3 files per round and seed), so it is
    never switched off for size.
    """
    return {variant: "on" if config.experiment == "self_training"
            else "off: a curriculum draws fresh labelled examples and keeps no pool"
            for variant, config in variants.items()}
