"""Verified self-training: a learner labels fresh problems and learns from its answers.

The STaR / rejection-sampling loop on arithmetic: a learner first trained on a small
labelled seed set (operands of up to ``seed_digits`` digits) answers freshly drawn
problems each round, and its answers become training data according to ``admission``:

* ``verifier`` — sample ``samples_per_problem`` answers at ``temperature`` and admit the
  ones the task's verifier accepts (at most one per problem);
* ``unverified`` — admit the single greedy answer to every problem;
* ``confidence`` — admit the greedy answer when the learner's confidence reaches
  ``confidence_threshold``;
* ``oracle`` — admit the true label of every problem (an upper bound, not self-training).

Every variant sees the same seed set, the same problems and the same held-out set; only
the admission rule differs. ``generation`` in the logged rows is the round (0 = the
learner trained on the seed set only).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from genloop.benches.base import BenchConfig


class SelfTrainingConfig(BenchConfig):
    """Task, admission rule, data policy and learner of one self-training run."""

    # -- task: a op b in base `base`, written with `max_digits` digits per operand
    op: Literal["+", "-", "*"] = "+"  # the arithmetic operation
    base: int = Field(10, ge=2, le=16)  # number base of operands and answers
    max_digits: int = Field(3, ge=1, le=8)  # widest operands; also the fixed input format
    seed_digits: int = Field(2, ge=1)  # labelled seed problems have operands of ≤ this many digits
    widen_every: int = Field(1, ge=0)
    # ^ rounds between one-digit widenings of the problem range (round r draws operands of
    #   up to seed_digits + ceil(r / widen_every) digits, capped at max_digits); 0 draws
    #   every round's problems from the full range at once

    # -- data
    seed_examples: int = Field(300, ge=1)  # labelled (real) examples the learner starts from
    rounds: int = Field(6, ge=1)  # self-training rounds after the seed training
    problems_per_round: int = Field(400, ge=1)  # fresh unlabelled problems answered per round
    samples_per_problem: int = Field(8, ge=1)  # k answers sampled per problem (verifier only)
    temperature: float = Field(1.0, gt=0.0)  # sampling temperature of the k answers
    admission: Literal["verifier", "unverified", "confidence", "oracle"] = "verifier"
    # ^ which answers become training data (see the module docstring)
    confidence_threshold: float = Field(0.9, ge=0.0, le=1.0)
    # ^ "confidence" admits a greedy answer whose confidence is at least this
    data_policy: Literal["accumulate", "replace"] = "accumulate"
    # ^ accumulate: the pool keeps the seed set and every round's admitted answers;
    #   replace: the seed set plus only the latest round's admitted answers
    eval_per_difficulty: int = Field(300, ge=1)
    # ^ held-out problems per operand length 1..max_digits, drawn once per seed, never trained on

    # -- learner (genloop.benches.seek.learners.Learner)
    learner: Literal["mlp", "transformer"] = "mlp"  # the network answering the problems
    width: int = Field(128, ge=1)  # hidden width
    depth: int = Field(2, ge=1)  # hidden layers (MLP) or blocks (transformer)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)  # dropout during training
    lr: float = Field(1e-3, gt=0.0)  # Adam learning rate
    batch_size: int = Field(64, ge=1)  # examples per training step, drawn from the pool
    seed_steps: int = Field(1500, ge=0)  # training steps on the seed set before round 1
    steps_per_round: int = Field(500, ge=0)  # training steps on the pool after each round
    # (the learner keeps its weights across rounds: each round fine-tunes the last model)

    @model_validator(mode="after")
    def _check_digits(self) -> SelfTrainingConfig:
        if self.seed_digits > self.max_digits:
            raise ValueError(
                f"self_training.seed_digits={self.seed_digits} exceeds "
                f"self_training.max_digits={self.max_digits}"
            )
        return self
