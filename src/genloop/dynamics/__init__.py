"""The dynamics bench: when has a model really stopped learning?

Three experiments behind one config (:class:`DynamicsConfig`, ``experiment:`` chooses):

* ``grokking`` — full-batch AdamW on ``a op b mod p``: memorisation first, generalisation
  thousands of steps later (with weight decay); ``generation`` is the optimiser step.
* ``double_descent`` — random-features regression swept through the interpolation
  threshold; ``generation`` is the number of features ``N`` (model-wise) or of training
  points ``n`` (sample-wise).
* ``epoch_wise`` — gradient descent on two-speed features with noisy labels: test error
  falls, rises and falls again over epochs; ``generation`` is the epoch.

:class:`~genloop.dynamics.monitor.TrainingMonitor` replays early-stopping rules on
any of these curves (or on any training loop's) and says what stopping would have cost.
Torch is imported only when a network is trained.
"""

from __future__ import annotations

from genloop.core.bench import Bench
from genloop.dynamics.config import DynamicsConfig
from genloop.dynamics.monitor import MonitorReport, TrainingMonitor, replay_report
from genloop.dynamics.plots import plot
from genloop.dynamics.run import run_seed

BENCH = Bench(name="dynamics", config_model=DynamicsConfig, run_seed=run_seed, plot=plot)

__all__ = [
    "BENCH",
    "DynamicsConfig",
    "MonitorReport",
    "TrainingMonitor",
    "replay_report",
    "run_seed",
]
