"""Typed configuration of the dynamics bench: one model for every experiment.

``experiment`` chooses what a run does; each experiment reads its own section
(``grokking``, ``double_descent``, ``epoch_wise``) and the ``monitor`` section says which
early-stopping rules the training monitor replays. Sections that the chosen experiment
does not use are validated but ignored, so ``--set experiment=epoch_wise`` works on any
dynamics recipe.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from genloop.core.bench import BenchConfig
from genloop.dynamics.modular import is_prime

# What each monitored experiment logs (here, beside the check of the monitor's rules).
GROKKING_METRICS = ("train_loss", "train_acc", "test_loss", "test_acc", "weight_norm")
EPOCH_WISE_METRICS = ("train_loss", "test_loss", "weight_norm")

# The model-wise grid: dense around the interpolation threshold N = n = 100 where the
# test error changes by orders of magnitude, sparse far from it.
DEFAULT_FEATURE_GRID = [
    *[5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 98, 100, 102, 105, 110, 120, 140],
    *[170, 200, 300, 500, 1000, 2000],
]
DEFAULT_TRAIN_SIZES = [10, 20, 40, 60, 80, 90, 95, 98, 100, 102, 105, 110, 120, 150, 200, 300, 500]


class GrokkingConfig(BenchConfig):
    """Full-batch AdamW on ``a op b mod p`` (Power et al. 2022)."""

    p: int = Field(53, ge=2)  # modulus and number of classes; prime when operation is "/"
    operation: Literal["+", "-", "*", "/"] = "+"  # the binary operation of the table
    train_fraction: float = Field(0.6, gt=0.0, lt=1.0)  # share of the p² pairs trained on
    model: Literal["mlp", "transformer"] = "mlp"  # MLP over embeddings, or 1-layer transformer
    width: int = Field(128, ge=1)  # embedding and hidden width
    heads: int = Field(4, ge=1)  # attention heads (transformer only)
    lr: float = Field(3e-2, gt=0.0)  # AdamW learning rate (constant, no warm-up)
    weight_decay: float = Field(0.03, ge=0.0)  # AdamW decoupled weight decay; 0 stops grokking
    beta1: float = Field(0.9, ge=0.0, lt=1.0)  # AdamW β1
    beta2: float = Field(0.999, ge=0.0, lt=1.0)  # AdamW β2
    steps: int = Field(8000, ge=1)  # optimiser steps, each on the whole training set
    log_every: int = Field(50, ge=1)  # log train/test accuracy, loss and weight norm every k steps

    @model_validator(mode="after")
    def _check_combinations(self) -> GrokkingConfig:
        if self.operation == "/" and not is_prime(self.p):
            raise ValueError(f"grokking.p={self.p} is not prime; division mod p needs a prime")
        if self.model == "transformer" and self.width % self.heads:
            raise ValueError(
                f"grokking.width={self.width} is not divisible by grokking.heads={self.heads}"
            )
        return self


class DoubleDescentConfig(BenchConfig):
    """Random-features regression through the interpolation threshold (Belkin et al. 2019)."""

    features: Literal["fourier", "relu"] = "fourier"  # random Fourier or random ReLU features
    input_dim: int = Field(5, ge=1)  # d: inputs are standard normal in R^d
    n_train: int = Field(100, ge=2)  # n: training points (model-wise sweep)
    n_test: int = Field(500, ge=1)  # fresh test inputs, scored against the noiseless target
    noise_std: float = Field(0.5, ge=0.0)  # σ of the Gaussian label noise on training targets
    bandwidth: float = Field(1.0, gt=0.0)  # RFF frequencies ~ N(0, I/bandwidth²); ReLU weights too
    sweep: Literal["model", "sample"] = "model"  # sweep the number of features or of samples
    n_features: list[int] = Field(default_factory=lambda: list(DEFAULT_FEATURE_GRID))
    # ^ model-wise grid of N (features); the interpolation threshold is N = n_train
    train_sizes: list[int] = Field(default_factory=lambda: list(DEFAULT_TRAIN_SIZES))
    # ^ sample-wise grid of n (training points) at a fixed number of features
    fixed_features: int = Field(100, ge=1)  # N held fixed during the sample-wise sweep
    ridges: list[float] = Field(default_factory=lambda: [0.0, 1e-2])
    # ^ ridge penalties λ fitted side by side; 0 is the minimum-norm least-squares solution

    @field_validator("n_features", "train_sizes")
    @classmethod
    def _positive_grid(cls, grid: list[int]) -> list[int]:
        if not grid or min(grid) < 1:
            raise ValueError(f"{grid} must be a non-empty list of positive integers")
        return grid

    @field_validator("ridges")
    @classmethod
    def _non_negative_ridges(cls, ridges: list[float]) -> list[float]:
        if not ridges or min(ridges) < 0.0:
            raise ValueError(f"{ridges} must be a non-empty list of values ≥ 0")
        return ridges


class EpochWiseConfig(BenchConfig):
    """Epoch-wise double descent: gradient descent on two-speed features and noisy labels."""

    fast_features: int = Field(50, ge=1)  # unit-scale input coordinates, learned first
    slow_features: int = Field(5, ge=1)  # input coordinates scaled by slow_scale, learned late
    slow_scale: float = Field(0.1, gt=0.0)  # scale of the slow coordinates (speed ∝ scale²)
    n_train: int = Field(100, ge=2)  # training points
    n_test: int = Field(1000, ge=1)  # test points, scored against the noiseless teacher
    noise_std: float = Field(0.5, ge=0.0)  # σ of the label noise
    model: Literal["linear", "mlp"] = "linear"
    # ^ one linear layer (shows the double descent), or a two-layer ReLU network (whose
    #   hidden layer interpolates before the slow features matter: no second descent)
    width: int = Field(200, ge=1)  # hidden units of the two-layer network
    lr: float = Field(0.05, gt=0.0)  # full-batch gradient-descent step size
    epochs: int = Field(10000, ge=1)  # full-batch epochs
    log_every: int = Field(100, ge=1)  # log every k epochs (plus 60 log-spaced early epochs)


class PatienceRule(BenchConfig):
    """Stop when ``metric`` has not improved for ``patience`` steps."""

    metric: str = "test_loss"  # the logged metric watched by this rule
    mode: Literal["min", "max"] = "min"  # "min" for losses, "max" for accuracies
    patience: int = Field(500, ge=1)  # steps without improvement before stopping
    min_delta: float = Field(0.0, ge=0.0)  # an improvement must beat the best by more than this


class MonitorConfig(BenchConfig):
    """What the training monitor replays on the logged curves."""

    rules: list[PatienceRule] = Field(
        default_factory=lambda: [
            PatienceRule(metric="test_loss", mode="min", patience=500),
            PatienceRule(metric="test_acc", mode="max", patience=500),
            PatienceRule(metric="test_acc", mode="max", patience=2000),
        ]
    )  # early-stopping rules evaluated after the fact; rules on unlogged metrics are skipped
    target_metric: str | None = None
    # ^ the score whose value at each stop is reported; None: test_acc when it is logged,
    #   else test_loss
    target_mode: Literal["max", "min"] | None = None
    # ^ whether a larger target is better; None: "max" for names containing "acc"
    train_loss_floor: float = Field(1e-2, gt=0.0)  # train loss below this counts as "≈ 0"
    window: int = Field(500, ge=1)  # steps over which weight-norm and test-loss trends are read
    relative_fall: float = Field(0.01, ge=0.0)
    # ^ a fall from the window's peak by more than this share counts as "still falling"
    test_gap: float = Field(0.05, ge=0.0)
    # ^ train − test accuracy (else test − train loss) above this: not yet generalised


class DynamicsConfig(BenchConfig):
    """The keys of a ``bench: dynamics`` recipe (besides name, description, seeds, quick)."""

    experiment: Literal["grokking", "double_descent", "epoch_wise"] = "grokking"
    # ^ which experiment run_seed performs
    device: Literal["auto", "cpu", "cuda"] = "auto"  # torch device; auto = cuda when available
    threads: int = Field(1, ge=1)  # torch CPU threads per seed (seeds may run in parallel)
    grokking: GrokkingConfig = Field(default_factory=GrokkingConfig)  # grokking settings
    double_descent: DoubleDescentConfig = Field(default_factory=DoubleDescentConfig)
    # ^ random-features double descent settings
    epoch_wise: EpochWiseConfig = Field(default_factory=EpochWiseConfig)  # epoch-wise settings
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)  # training-monitor rules

    @model_validator(mode="after")
    def _rules_watch_logged_metrics(self) -> DynamicsConfig:
        # The default rules cover every experiment (those on unlogged metrics are skipped);
        # a rule the user wrote on a metric the experiment never logs is a typo that would
        # silently never fire.
        logged = {"grokking": GROKKING_METRICS, "epoch_wise": EPOCH_WISE_METRICS}.get(
            self.experiment)
        if logged is None:
            return self
        named = [rule.metric for rule in self.monitor.rules] \
            if "rules" in self.monitor.model_fields_set else []
        if self.monitor.target_metric is not None:
            named.append(self.monitor.target_metric)
        for metric in named:
            if metric not in logged:
                raise ValueError(f"monitor: metric {metric!r} is not logged by the "
                                 f"{self.experiment} experiment; logged: {', '.join(logged)}")
        return self
