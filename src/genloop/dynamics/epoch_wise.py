"""Epoch-wise double descent: a small network on two-speed features and noisy labels.

Test error over training time can fall, rise and fall again when parts of the signal are
learned at different speeds (Heckel & Yilmaz 2021; Stephenson & Lee 2021; Pezeshki et
al. 2022). Here the inputs have ``fast_features`` coordinates of unit scale and
``slow_features`` coordinates scaled by ``slow_scale``; a linear teacher uses both, and
the training labels carry Gaussian noise. Full-batch gradient descent first learns the
fast part of the signal (first descent), then fits the label noise through the fast
coordinates (the rise: the variance of an almost-square least-squares fit), and only
later picks up the slow part of the signal, whose bias it removes (second descent).
Early stopping at the first minimum keeps the bias of the slow part for ever.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from genloop.core.rng import generator
from genloop.dynamics.config import EPOCH_WISE_METRICS as EPOCH_WISE_METRICS  # re-exported
from genloop.dynamics.config import EpochWiseConfig


def draw_two_speed_data(config: EpochWiseConfig, seed: int) -> dict[str, np.ndarray]:
    """Inputs, noisy training targets and noiseless test targets for one seed.

    Returns
    -------
    dict
        ``x_train`` (n, p), ``y_train`` (n,), ``x_test`` (m, p), ``f_test`` (m,), where
        ``p = fast_features + slow_features``; the last ``slow_features`` input columns
        are multiplied by ``slow_scale``. The teacher's weights on each group are
        Gaussian with total squared norm 1 per group (in unscaled coordinates).
    """
    fast, slow = config.fast_features, config.slow_features
    rng = generator(seed, -1, "teacher")
    teacher = np.concatenate(
        [rng.standard_normal(fast) / np.sqrt(fast), rng.standard_normal(slow) / np.sqrt(slow)]
    )
    scale = np.concatenate([np.ones(fast), np.full(slow, config.slow_scale)])
    z_train = generator(seed, -1, "inputs").standard_normal((config.n_train, fast + slow))
    z_test = generator(seed, -1, "test-inputs").standard_normal((config.n_test, fast + slow))
    noise = generator(seed, -1, "label-noise").standard_normal(config.n_train)
    return {
        "x_train": z_train * scale,
        "y_train": z_train @ teacher + config.noise_std * noise,
        "x_test": z_test * scale,
        "f_test": z_test @ teacher,
    }


def logged_epochs(epochs: int, log_every: int) -> np.ndarray:
    """Epochs to log: 60 log-spaced ones (the first descent is fast) plus every k-th."""
    log_spaced = np.unique(np.round(np.logspace(0, np.log10(max(epochs, 1)), 60)).astype(int))
    regular = np.arange(0, epochs + 1, log_every)
    return np.union1d(np.union1d(log_spaced, regular), [0, epochs])


def train_epoch_wise(
    config: EpochWiseConfig,
    seed: int,
    log: Callable[[int, dict[str, float]], None],
    *,
    device: str = "cpu",
    advance: Callable[..., None] = lambda n=1: None,
    callback: Callable[..., None] | None = None,
) -> dict[str, float]:
    """Train a two-layer ReLU network (or a linear model) by full-batch gradient descent.

    Logs ``train_loss`` (MSE against the noisy labels), ``test_loss`` (MSE against the
    noiseless teacher) and ``weight_norm`` at :func:`logged_epochs`; ``generation`` is
    the epoch. ``callback(epoch, **metrics)`` is called at the same epochs.

    Returns
    -------
    dict
        The metrics of the last epoch.
    """
    import torch

    from genloop.dynamics.grokking import StepReporter, torch_seed
    from genloop.dynamics.models import weight_norm

    # Data
    data = {
        k: torch.as_tensor(v, dtype=torch.float32, device=device)
        for k, v in draw_two_speed_data(config, seed).items()
    }
    n_inputs = config.fast_features + config.slow_features

    # Model: a width-`width` two-layer ReLU network, or one linear layer.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(torch_seed(seed, "init"))
        if config.model == "mlp":
            model = torch.nn.Sequential(
                torch.nn.Linear(n_inputs, config.width),
                torch.nn.ReLU(),
                torch.nn.Linear(config.width, 1),
            )
        else:
            model = torch.nn.Linear(n_inputs, 1)
            torch.nn.init.zeros_(model.weight)  # gradient flow from zero: the textbook case
            torch.nn.init.zeros_(model.bias)
    model = model.to(device)
    optimiser = torch.optim.SGD(model.parameters(), lr=config.lr)

    # Epochs: forward, log, backward, update.
    to_log = set(logged_epochs(config.epochs, config.log_every).tolist())
    last: dict[str, float] = {}
    report = StepReporter(log, advance, callback)
    for epoch in range(config.epochs + 1):
        loss = torch.mean((model(data["x_train"]).squeeze(1) - data["y_train"]) ** 2)
        if epoch in to_log:
            with torch.no_grad():
                test_loss = torch.mean((model(data["x_test"]).squeeze(1) - data["f_test"]) ** 2)
            last = {
                "train_loss": float(loss.detach()),
                "test_loss": float(test_loss),
                "weight_norm": weight_norm(model),
            }
            report(epoch, last)
        if epoch == config.epochs:
            break
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    return last
