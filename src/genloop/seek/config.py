"""Typed configuration of the seek bench.

``experiment`` chooses what a run does: ``curriculum`` (a sampler picks which task
programs a learner trains on, :mod:`genloop.seek.curriculum`) or
``self_training`` (the learner trains on its own verified answers,
:mod:`genloop.seek.self_training`). Each reads its own section; the other is
validated but ignored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from genloop.core.bench import BenchConfig
from genloop.seek.samplers import SCORES, TRANSFORMS
from genloop.seek.self_training import SelfTrainingConfig


class LearnerConfig(BenchConfig):
    """The network trained by the curriculum (genloop.seek.learners.Learner)."""

    kind: Literal["mlp", "transformer"] = "mlp"  # MLP over one-hot inputs, or small encoder
    width: int = Field(256, ge=1)  # hidden width
    depth: int = Field(2, ge=1)  # hidden layers (MLP) or encoder layers (transformer)
    ensemble: int = Field(1, ge=1)  # independently initialised members (uncertainty scores)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)  # dropout; with ensemble 1, MC-dropout uncertainty
    lr: float = Field(3e-3, gt=0.0)  # Adam learning rate


class SamplerConfig(BenchConfig):
    """PLR-style program sampler (genloop.seek.samplers.PrioritizedSampler)."""

    score: str = "learning_progress"  # uniform, loss, learning_progress, tscl_slope, ...
    transform: str = "rank"  # rank, power, softmax or proportional (PLR's h)
    temperature: float = Field(0.3, gt=0.0)  # β of the transform; small = greedy
    staleness: float = Field(0.1, ge=0.0, le=1.0)  # ρ: weight of the staleness distribution
    replay_prob: float = Field(0.95, ge=0.0, le=1.0)  # p: replay seen vs explore unseen items
    ema_fast: float = Field(0.5, gt=0.0, le=1.0)  # fast EMA rate of held-out accuracy (LP)
    ema_slow: float = Field(0.1, gt=0.0, le=1.0)  # slow EMA rate of held-out accuracy (LP)
    window: int = Field(5, ge=2)  # accuracies in TSCL's slope window

    @field_validator("score")
    @classmethod
    def _known_score(cls, value: str) -> str:
        if value not in SCORES:
            raise ValueError(f"{value!r} is not a score; allowed: {', '.join(SCORES)}")
        return value

    @field_validator("transform")
    @classmethod
    def _known_transform(cls, value: str) -> str:
        if value not in TRANSFORMS:
            raise ValueError(f"{value!r} is not a transform; allowed: {', '.join(TRANSFORMS)}")
        return value

    @model_validator(mode="after")
    def _ema_order(self) -> SamplerConfig:
        if self.ema_slow >= self.ema_fast:
            raise ValueError(f"ema_slow={self.ema_slow} must be below ema_fast={self.ema_fast}")
        return self


class MutationConfig(BenchConfig):
    """ACCEL-style growth of the task space by editing high-scoring programs."""

    every: int = Field(0, ge=0)  # rounds between mutation steps; 0 switches mutation off
    top_k: int = Field(2, ge=1)  # highest-scoring programs edited per step
    max_programs: int = Field(40, ge=1)  # cap on the size of the growing space
    bases: list[int] | None = None  # bases a base change may pick (None: 2..16)


class CurriculumConfig(BenchConfig):
    """One curriculum run: task space, learner, sampler, budget and evaluation."""

    task_space: dict[str, Any] = Field(
        default_factory=lambda: {
            "arithmetic": {"ops": ["+"], "bases": [10], "n_digits": [1, 2, 3]},
            "random_targets": [{"kind": "arithmetic", "n_digits": 2}],
        }
    )  # programs (see genloop.seek.task_space.build_task_space)
    hardest: list[str] | None = None
    # ^ names of the target programs; None: the noise-free learnable programs with the
    #   most digits (or symbols)
    target_accuracy: float = Field(0.9, gt=0.0, le=1.0)  # "reached" = mean hardest acc ≥ this
    rounds: int = Field(60, ge=1)  # sampling rounds (the logged generation): the budget
    stop_at_target: bool = False  # end the run once the target is reached (saves compute)
    steps_per_round: int = Field(10, ge=1)  # optimiser steps per round
    batch_size: int = Field(128, ge=1)  # examples per step; programs drawn per example
    probe_size: int = Field(64, ge=1)  # held-out labelled probe examples per program (scores)
    probe_accuracy: Literal["answer", "token"] = "token"
    # ^ what progress scores read: exact-match answers, or the share of correct answer
    #   digits (graded: a long answer shows progress before it is ever fully right)
    eval_size: int = Field(200, ge=1)  # fixed evaluation examples per program (metrics)
    eval_every: int = Field(1, ge=1)  # rounds between evaluations
    learner: LearnerConfig = Field(default_factory=LearnerConfig)  # the network
    sampler: SamplerConfig = Field(default_factory=SamplerConfig)  # how programs are chosen
    mutation: MutationConfig = Field(default_factory=MutationConfig)  # ACCEL-style growth

    @model_validator(mode="after")
    def _space_builds(self) -> CurriculumConfig:
        # Building the programs is cheap (numpy only) and catches bad specs and unknown
        # target names when the recipe is loaded, not rounds into a run.
        from genloop.core.errors import ConfigError
        from genloop.seek.task_space import build_task_space, hardest_programs

        try:
            hardest_programs(build_task_space(self.task_space), self.hardest)
        except ConfigError as error:
            raise ValueError(str(error)) from None
        except (TypeError, ValueError, AttributeError) as error:
            # A value of the wrong type deep in a spec (n_digits: x, like: 5): the builders
            # name it; the key it sits under is the task space.
            raise ValueError(f"curriculum.task_space: a program spec is malformed "
                             f"({type(error).__name__}: {error})") from None
        return self

    @model_validator(mode="after")
    def _uncertainty_needs_members(self) -> CurriculumConfig:
        needs = self.sampler.score in ("disagreement", "bald")
        if needs and self.learner.ensemble == 1 and self.learner.dropout == 0.0:
            raise ValueError(
                f"sampler.score={self.sampler.score} needs learner.ensemble > 1 or "
                "learner.dropout > 0"
            )
        return self


class SeekConfig(BenchConfig):
    """The keys of a ``bench: seek`` recipe (besides name, description, seeds, quick)."""

    experiment: Literal["curriculum", "self_training"] = "curriculum"  # what run_seed does
    device: Literal["auto", "cpu", "cuda"] = "auto"  # torch device; auto = cuda when available
    threads: int = Field(1, ge=1)  # torch CPU threads per seed (seeds may run in parallel)
    curriculum: CurriculumConfig = Field(default_factory=CurriculumConfig)  # curriculum settings
    self_training: SelfTrainingConfig | None = None  # verified self-training settings

    @model_validator(mode="after")
    def _section_present(self) -> SeekConfig:
        if self.experiment == "self_training" and self.self_training is None:
            raise ValueError("experiment=self_training needs a self_training: section")
        return self

    def progress_steps(self) -> int:
        """Progress-bar steps per seed: the rounds the experiment advances through."""
        if self.experiment == "self_training":
            return self.self_training.rounds + 1
        return self.curriculum.rounds
