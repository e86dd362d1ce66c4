"""Grokking: full-batch AdamW on modular arithmetic, logged every few steps.

With weight decay the network first memorises its training pairs (train accuracy near
100 % within a few hundred steps, test accuracy near chance) and only thousands of
steps later generalises; without weight decay it stays memorised. The loop reads top to
bottom: data → model → optimiser → steps (forward, log, backward, update).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from genloop.core.rng import generator
from genloop.dynamics.config import GROKKING_METRICS as GROKKING_METRICS  # re-exported
from genloop.dynamics.config import GrokkingConfig
from genloop.dynamics.modular import split_table


def resolve_device(device: str) -> str:
    """Map ``"auto"`` to ``"cuda"`` when a GPU is visible, else ``"cpu"``."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        from genloop.core.errors import ConfigError

        raise ConfigError("device='cuda' but torch sees no CUDA device; use device=auto or cpu")
    return device


def torch_seed(seed: int, purpose: str) -> int:
    """A 63-bit torch seed derived from the run seed's ``(seed, -1, purpose)`` stream."""
    return int(generator(seed, -1, purpose).integers(0, 2**63 - 1))


class StepReporter:
    """Hands one logged step to the run log, the optional callback and the progress bar.

    Shared by the training loops of this bench; ``advance`` moves the bar by the steps
    trained since the previous report.
    """

    def __init__(self, log: Callable, advance: Callable[..., None], callback: Callable | None):
        self.log, self.advance, self.callback = log, advance, callback
        self.last_step = 0

    def __call__(self, step: int, values: dict[str, float]) -> None:
        self.log(step, values)
        if self.callback is not None:
            self.callback(step, **values)
        self.advance(step - self.last_step)
        self.last_step = step


def train_grokking(
    config: GrokkingConfig,
    seed: int,
    log: Callable[[int, dict[str, float]], None],
    *,
    device: str = "cpu",
    advance: Callable[..., None] = lambda n=1: None,
    callback: Callable[..., None] | None = None,
) -> dict[str, float]:
    """Train one seed and log its curves.

    Parameters
    ----------
    config : GrokkingConfig
        Task, model and optimiser settings.
    seed : int
        Run seed: fixes the train/test split and the initial weights.
    log : callable
        ``log(step, {metric: value})``, called at step 0, every ``config.log_every``
        steps and at the last step with the metrics of :data:`GROKKING_METRICS`
        (losses are mean cross-entropy, accuracies in [0, 1], the weight norm is the
        L2 norm of all parameters). ``step`` counts optimiser updates already made.
    device : str
        A torch device string (``"cpu"`` or ``"cuda"``).
    advance : callable
        Progress hook, called with the number of steps done since the last call.
    callback : callable, optional
        Also called as ``callback(step, **metrics)`` at every logged step, e.g.
        :meth:`genloop.dynamics.monitor.TrainingMonitor.update`.

    Returns
    -------
    dict
        The metrics of the last logged step.
    """
    import torch

    from genloop.dynamics.models import build_model, weight_norm

    # Data: the whole table fits in memory; full batch means no sampling during training.
    split = split_table(config.p, config.operation, config.train_fraction, seed)
    train_x = torch.as_tensor(split.train_pairs, device=device)
    train_y = torch.as_tensor(split.train_labels, device=device)
    test_x = torch.as_tensor(split.test_pairs, device=device)
    test_y = torch.as_tensor(split.test_labels, device=device)

    # Model: initialise under a forked global RNG so the run seed alone fixes the weights.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(torch_seed(seed, "init"))
        model = build_model(config.model, config.p, config.width, config.heads).to(device)
    optimiser = torch.optim.AdamW(
        model.parameters(),
        lr=config.lr,
        weight_decay=config.weight_decay,
        betas=(config.beta1, config.beta2),
    )
    loss_fn = torch.nn.functional.cross_entropy

    last: dict[str, float] = {}
    report = StepReporter(log, advance, callback)
    for step in range(config.steps + 1):
        # Forward on the training set: its loss is both the training signal and the
        # logged train loss of the weights after `step` updates.
        model.train()
        logits = model(train_x)
        loss = loss_fn(logits, train_y)

        if step % config.log_every == 0 or step == config.steps:
            with torch.no_grad():
                model.eval()
                test_logits = model(test_x)
                last = {
                    "train_loss": float(loss),
                    "train_acc": float((logits.argmax(1) == train_y).float().mean()),
                    "test_loss": float(loss_fn(test_logits, test_y)),
                    "test_acc": float((test_logits.argmax(1) == test_y).float().mean()),
                    "weight_norm": weight_norm(model),
                }
            report(step, last)
        if step == config.steps:
            break

        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    return last


def steps_to_reach(steps: np.ndarray, values: np.ndarray, threshold: float) -> float:
    """First logged step at which ``values >= threshold`` (``nan`` if never).

    Parameters
    ----------
    steps, values : ndarray of shape (n_logged,)
        A logged curve, in step order.
    """
    hit = np.flatnonzero(np.asarray(values) >= threshold)
    return float(np.asarray(steps)[hit[0]]) if hit.size else float("nan")
