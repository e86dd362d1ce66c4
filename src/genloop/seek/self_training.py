"""Verified self-training: a learner labels fresh problems and learns from its answers.

The STaR / rejection-sampling loop on arithmetic: a learner first trained on a small
labelled seed set (operands of up to ``seed_digits`` digits) answers freshly drawn
problems each round, and its answers become training data according to ``admission``:

* ``verifier`` — sample ``samples_per_problem`` answers at ``temperature`` and admit the
  ones the task's verifier accepts (at most one per problem);
* ``unverified`` — admit the single greedy answer to every problem;
* ``confidence`` — admit the greedy answer when the learner's confidence reaches
  ``confidence_threshold``;
* ``oracle`` — admit the true label of every problem (an upper bound, not self-training);
* ``none`` — admit nothing: the learner keeps training on the seed set for the same
  number of steps (the control that separates what admitted answers teach from what
  further steps on the seed set alone would give).

Every variant sees the same seed set, the same problems and the same held-out set; only
the admission rule differs. ``generation`` in the logged rows is the round (0 = the
learner trained on the seed set only).

The pool is collapse's :class:`~genloop.provenance.pool.Pool` and the next one is made by
collapse's mixing policy (:meth:`genloop.collapse.policy.MixingPolicy.next_pool`), so the run's
provenance ledger is the shared one (:mod:`genloop.provenance.ledger`): ``genloop ledger
verify``, ``lineage`` and ``export`` read it. Its generation ``r`` is the pool the model
of round ``r`` trains on: the seed set (real rows), the admitted answers (``gen:<k>``,
written by the model trained through round ``k``; ``real`` for true labels), the answers
the filters dropped and the round's problems (``in_pool`` False). An answer's
``parent_id`` is its problem's sample id. Self-training adds the columns ``correct``
(ground truth, never shown to the admission rule except through the verifier),
``confidence`` (the learner's probability of the answer), ``round`` (the round whose
problem the row answers; 0 for the seed set), ``digits`` (operand length), and readable
``problem`` and ``answer``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from genloop.collapse.config import MixingConfig
from genloop.core.bench import BenchConfig
from genloop.core.rng import generator
from genloop.curation.filters.base import KEPT, Batch, Filter, Pipeline
from genloop.provenance.ledger import Curated, LedgerWriter
from genloop.provenance.pool import REAL, Pool
from genloop.seek.problems import (
    describe_answers,
    describe_problems,
    digits_at_round,
    draw_problems,
    operand_digits,
    problem_programs,
    verify_answers,
)

__all__ = [
    "SelfTrainingConfig", "ConfidenceFilter", "OnePerProblem", "POOL_POLICIES",
    "admission_pipeline", "answer", "ledger_columns", "run_self_training", "self_train",
]


class SelfTrainingConfig(BenchConfig):
    """Task, admission rule, data policy and learner of one self-training run."""

    # -- task: a op b in base `base`, written with `max_digits` digits per operand
    op: Literal["+", "-", "*"] = "+"  # the arithmetic operation
    base: int = Field(10, ge=2, le=16)  # number base of operands and answers
    max_digits: int = Field(4, ge=1, le=8)  # widest operands; also the fixed input format
    seed_digits: int = Field(2, ge=1)  # labelled seed problems have operands of ≤ this many digits
    widen_every: int = Field(2, ge=0)
    # ^ rounds between one-digit widenings of the problem range (round r draws operands of
    #   up to seed_digits + ceil(r / widen_every) digits, capped at max_digits); 0 draws
    #   every round's problems from the full range at once

    # -- data
    seed_examples: int = Field(1000, ge=1)  # labelled (real) examples the learner starts from
    rounds: int = Field(6, ge=1)  # self-training rounds after the seed training
    problems_per_round: int = Field(800, ge=1)  # fresh unlabelled problems answered per round
    samples_per_problem: int = Field(8, ge=1)  # k answers sampled per problem (verifier only)
    temperature: float = Field(1.5, gt=0.0)  # sampling temperature of the k answers
    admission: Literal["verifier", "unverified", "confidence", "oracle", "none"] = "verifier"
    # ^ which answers become training data (see the module docstring)
    confidence_threshold: float = Field(0.9, ge=0.0, le=1.0)
    # ^ "confidence" admits a greedy answer whose confidence is at least this
    data_policy: Literal["accumulate", "replace"] = "accumulate"
    # ^ accumulate: the pool keeps the seed set and every round's admitted answers;
    #   replace: the seed set plus only the latest round's admitted answers
    eval_per_difficulty: int = Field(300, ge=1)
    # ^ held-out problems per operand length 1..max_digits, drawn once per seed, never trained on

    # -- learner (genloop.seek.learners.Learner)
    learner: Literal["mlp", "transformer"] = "mlp"  # the network answering the problems
    width: int = Field(128, ge=1)  # hidden width
    depth: int = Field(2, ge=1)  # hidden layers (MLP) or blocks (transformer)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)  # dropout during training
    lr: float = Field(3e-3, gt=0.0)  # Adam learning rate
    batch_size: int = Field(64, ge=1)  # examples per training step, drawn from the pool
    seed_steps: int = Field(1500, ge=1)  # training steps on the seed set before round 1
    steps_per_round: int = Field(300, ge=1)  # training steps on the pool after each round
    # (the learner keeps its weights across rounds: each round fine-tunes the last model)

    @model_validator(mode="after")
    def _check_digits(self) -> SelfTrainingConfig:
        if self.seed_digits > self.max_digits:
            raise ValueError(
                f"self_training.seed_digits={self.seed_digits} exceeds "
                f"self_training.max_digits={self.max_digits}"
            )
        if self.base ** (2 * self.max_digits) >= 2**62:  # products must fit in int64
            raise ValueError(
                f"self_training.max_digits={self.max_digits} is too long for base {self.base}"
            )
        return self


# Seek's data policies in collapse's terms, with the labelled seed set as the original data
# and n = its size. Seek's ``replace`` keeps the whole seed set (γ = 1 of it) beside the
# latest answers, where collapse's ``replace`` would keep the new rows only.
POOL_POLICIES = {
    "accumulate": MixingConfig(policy="accumulate"),
    "replace": MixingConfig(policy="keep_fraction", fraction=1.0),
}


# ------------------------------------------------------------------------------------------
# Admission: which answers become training data (genloop's filter contract)


class ConfidenceFilter(Filter):
    """Keep an answer when the answering model's confidence in it reaches ``threshold``.

    Rows of the batch are problem tokens followed by answer tokens; the confidence is the
    model's (``batch.model``) greedy confidence on the problem, i.e. that of the answer
    for the greedy answers this filter is used on.
    """

    name = "confidence"

    def __init__(self, threshold: float, input_len: int):
        super().__init__()
        self.threshold, self.input_len = float(threshold), int(input_len)

    def decide(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        _, confidence = batch.model.predict(batch.X[:, : self.input_len])
        keep = confidence >= self.threshold
        reasons = np.array([f"confidence {c:.3f} < {self.threshold:g}" for c in confidence],
                           dtype=object)
        return keep, np.where(keep, KEPT, reasons)


class OnePerProblem(Filter):
    """Keep the first surviving answer to each problem (``batch.parents``: the problems).

    With ``k`` sampled answers per problem, several may verify; admitting all of them would
    weight easy problems (many correct samples) above hard ones.
    """

    name = "one_per_problem"

    def decide(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        if batch.parents is None:
            raise ValueError("one_per_problem needs batch.parents, the problem of each answer")
        _, first = np.unique(np.asarray(batch.parents, dtype=object), return_index=True)
        keep = np.zeros(len(batch), dtype=bool)
        keep[first] = True
        return keep, np.where(keep, KEPT, "another answer to this problem was kept")


def admission_pipeline(settings: SelfTrainingConfig, programs) -> Pipeline:
    """The filters of ``settings.admission`` (``unverified``, ``oracle``, ``none``: none)."""
    from genloop.curation.filters.verifier import Verifier

    input_len = programs[0].input_len

    def correct_answer(batch: Batch):
        accepted = verify_answers(programs, batch.X[:, :input_len], batch.X[:, input_len:])
        return accepted, np.where(accepted, KEPT, "wrong answer")

    if settings.admission == "verifier":
        return Pipeline([Verifier(check=correct_answer), OnePerProblem()])
    if settings.admission == "confidence":
        return Pipeline([ConfidenceFilter(settings.confidence_threshold, input_len)])
    return Pipeline([])


def answer(learner, settings: SelfTrainingConfig, inputs, targets, greedy, rng):
    """The candidate answers of one round for ``settings.admission``.

    Parameters
    ----------
    greedy : tuple of ndarray
        The learner's greedy ``(answers, confidence)`` on ``inputs``, already computed.

    Returns
    -------
    rows : ndarray of shape (m,), int64
        The problem each candidate answers (``m = k·n`` for the verifier, ``0`` for
        ``none``, else ``n``).
    answers : ndarray of shape (m, output_len), int64
    confidence : ndarray of shape (m,)
        The learner's probability of each answer (NaN for true labels).
    """
    n = len(inputs)
    if settings.admission == "none":
        return np.zeros(0, dtype=np.int64), targets[:0], np.zeros(0)
    if settings.admission == "oracle":
        return np.arange(n), targets, np.full(n, np.nan)
    if settings.admission == "verifier":
        rows = np.repeat(np.arange(n), settings.samples_per_problem)
        answers, confidence = learner.predict(
            inputs[rows], temperature=settings.temperature, rng=rng
        )
        return rows, answers, confidence
    return np.arange(n), greedy[0], greedy[1]  # its single best answer


# ------------------------------------------------------------------------------------------
# The loop


def train(learner, inputs, targets, steps: int, batch_size: int, rng) -> float:
    """``steps`` Adam steps on minibatches drawn uniformly from the pool; the mean loss."""
    losses = []
    for _ in range(steps):
        index = rng.integers(0, len(inputs), size=min(batch_size, len(inputs)))
        losses.append(learner.train_step(inputs[index], targets[index]))
    return float(np.mean(losses))


def evaluate(learner, heldout) -> dict[str, float]:
    """Held-out accuracy (mean over operand lengths, equal counts) and per length."""
    values = {}
    for d, (inputs, targets) in enumerate(heldout, start=1):
        outputs, _ = learner.predict(inputs)
        values[f"heldout_accuracy_d{d}"] = float((outputs == targets).all(axis=1).mean())
    values["heldout_accuracy"] = float(np.mean(list(values.values())))
    losses = [learner.loss(inputs, targets).mean() for inputs, targets in heldout]
    values["heldout_loss"] = float(np.mean(losses))
    return values


def self_train(settings: SelfTrainingConfig, seed: int, log, ledger_dir: Path | None = None, *,
               device: str = "cpu", advance=lambda n=1: None, variant: str = "default",
               learner=None) -> dict[str, float]:
    """Run one seed of verified self-training, logging every round through ``log``.

    Parameters
    ----------
    settings : SelfTrainingConfig
    seed : int
        Fixes the seed set, the held-out set, every round's problems, the learner's
        initialisation and its minibatches. Variants of a recipe that differ only in
        ``admission`` therefore see identical data and start from the identical model.
    log : callable
        ``log(round, {metric: value})``; round 0 is the learner trained on the seed set.
    ledger_dir : Path, optional
        The unit's provenance-ledger folder (the runner's ``ctx.extra["ledger_dir"]``);
        ``None`` writes no ledger.
    variant : str
        The recipe variant, for the ledger's model ids.
    learner : object, optional
        Anything with the :class:`~genloop.seek.learners.Learner` methods
        ``train_step``, ``predict`` and ``loss`` for the programs' lengths; default: a new
        ``Learner`` built from ``settings`` (seeded by ``seed``).

    Returns
    -------
    dict
        The last round's metrics.
    """
    from genloop.seek.learners import Learner
    from genloop.seek.tasks import VOCAB_SIZE

    # Data: the programs, the labelled seed set and the held-out set, drawn from streams
    # that do not depend on the admission rule. A pool row is problem tokens then answer.
    programs = problem_programs(settings)
    input_len = programs[0].input_len
    seed_x, seed_y, _ = draw_problems(programs, settings.seed_digits, settings.seed_examples,
                                      generator(seed, -1, "seed set"))
    heldout = [p.sample(settings.eval_per_difficulty, generator(seed, -1, f"heldout d{d}"))
               for d, p in enumerate(programs, start=1)]
    pipeline = admission_pipeline(settings, programs)
    # the seed set is the policy's original data and its size the policy's n
    original = pool = Pool.real(np.concatenate([seed_x, seed_y], axis=1))
    n_seed = len(original)
    mixing = POOL_POLICIES[settings.data_policy].resolve(n_seed)
    ledger = None
    if ledger_dir is not None:
        ledger = LedgerWriter(ledger_dir, variant, seed, [f.name for f in pipeline.filters])
        columns = [ledger_columns(original, input_len, 0, np.ones(n_seed, dtype=bool),
                                  np.full(n_seed, np.nan))]
        ledger.write(0, original, columns=columns[0])

    # Round 0: the learner trained on the labelled seed set only.
    if learner is None:
        learner = Learner(kind=settings.learner, vocab_size=VOCAB_SIZE,
                          input_len=input_len, output_len=programs[0].output_len,
                          width=settings.width, depth=settings.depth, dropout=settings.dropout,
                          lr=settings.lr, seed=seed, device=device)
    loss = train(learner, seed_x, seed_y, settings.seed_steps, settings.batch_size,
                 generator(seed, 0, "batches"))
    consumed = {"samples_consumed": 0, "problems_consumed": 0}
    last = evaluate(learner, heldout) | consumed | {
        "train_loss": loss, "train_pool_size": n_seed, "pool_wrong_share": 0.0,
        "problem_digits": settings.seed_digits,
    }
    log(0, last)
    advance()

    oracle = settings.admission == "oracle"
    for r in range(1, settings.rounds + 1):
        # 1. Fresh problems, the same for every admission rule; real rows numbered after
        #    the seed set and the earlier rounds' problems, so that their ids are unique.
        digits = digits_at_round(settings, r)
        inputs, targets, _ = draw_problems(programs, digits, settings.problems_per_round,
                                           generator(seed, r, "problems"))
        n = len(inputs)
        problems = Pool.real(inputs, first_index=n_seed + (r - 1) * settings.problems_per_round)

        # 2. Candidate answers: k samples, the greedy answer, or the true label.
        greedy = learner.predict(inputs)
        rows, answers, confidence = answer(learner, settings, inputs, targets, greedy,
                                           generator(seed, r, "answers"))
        correct = verify_answers(programs, inputs[rows], answers)
        X = np.concatenate([inputs[rows], answers], axis=1)
        parents = problems.ids[rows]
        if oracle:  # true labels are real rows; numbered as their problems, one per problem
            candidates = Pool(X, np.full(len(rows), REAL), problems.index[rows], parents)
        else:  # written by the model trained through round r - 1
            candidates = Pool.generated(X, r - 1, parents=parents)

        # 3. Admission through the filter pipeline; the ledger keeps every verdict.
        batch = Batch(X=candidates.X, origin=candidates.origin, ids=candidates.ids,
                      generation=r, rng=generator(seed, r, "curation"), model=learner,
                      parents=parents)
        kept, verdicts = pipeline.apply(batch)
        new = candidates.take(np.flatnonzero(kept))

        # 4. The next pool, by the data policy: the seed set plus every round's admitted
        #    answers (accumulate), or plus the latest round's only (replace).
        pool = mixing.next_pool(previous=pool, original=original, new=new,
                                rng=generator(seed, r, "mix"))
        if ledger is not None:
            columns += [ledger_columns(candidates, input_len, r, correct, confidence),
                        ledger_columns(problems, input_len, r)]
            curated = Curated(ids=candidates.ids, verdicts=verdicts,
                              dropped=candidates.take(np.flatnonzero(~kept)))
            ledger.write(r, pool, curated, prompts=problems, columns=pd.concat(columns))

        # 5. Train (continuing from the last weights) and measure.
        pool_x, pool_y = pool.X[:, :input_len], pool.X[:, input_len:]
        loss = train(learner, pool_x, pool_y, settings.steps_per_round, settings.batch_size,
                     generator(seed, r, "batches"))
        consumed["problems_consumed"] += n
        consumed["samples_consumed"] += 0 if oracle else len(rows)
        admitted = int(kept.sum())
        new_correct = correct[kept]
        last = evaluate(learner, heldout) | consumed | {
            "train_loss": loss,
            "problem_accuracy": float((greedy[0] == targets).all(axis=1).mean()),
            "admitted": admitted,
            "admitted_share": admitted / n,
            "train_pool_size": len(pool),
            "pool_wrong_share": float(1.0 - verify_answers(programs, pool_x, pool_y).mean()),
            "problem_digits": digits,
        }
        if admitted:  # no wrong share of nothing (NaN is never logged)
            last["admitted_wrong_share"] = float(1.0 - new_correct.mean())
        if settings.admission == "verifier":
            per_problem = correct.reshape(n, settings.samples_per_problem)
            last["pass_at_k"] = float(per_problem.any(axis=1).mean())
        log(r, last)
        advance()
    return last


def ledger_columns(rows: Pool, input_len: int, round_index: int, correct=None,
                   confidence=None) -> pd.DataFrame:
    """Self-training's own ledger columns of ``rows``, indexed by sample id.

    Parameters
    ----------
    rows : Pool
        Problem-and-answer rows (``input_len`` problem tokens, then the answer), or bare
        problems (``input_len`` tokens: no ``correct``, ``confidence`` or ``answer``).
    round_index : int
        The round whose problems the rows are (0: the seed set).
    correct, confidence : ndarray of shape (n,), optional
        Ground truth of each answer and the learner's probability of it.
    """
    inputs = rows.X[:, :input_len]
    columns = {}
    if correct is not None:
        columns = {"correct": np.asarray(correct, dtype=bool),
                   "confidence": np.asarray(confidence, dtype=np.float64)}
    columns |= {"round": np.full(len(rows), round_index, dtype=np.int64),
                "digits": operand_digits(inputs).astype(np.int64),
                "problem": describe_problems(inputs)}
    if rows.X.shape[1] > input_len:
        columns["answer"] = describe_answers(rows.X[:, input_len:])
    return pd.DataFrame(columns, index=pd.Index(rows.ids, dtype=object, name="sample_id"))


def run_self_training(config, ctx) -> str:
    """The seek bench's ``self_training`` experiment for the runner.

    Parameters
    ----------
    config : SeekConfig
        Reads ``config.self_training`` (defaults when absent), ``config.device`` and
        ``config.threads``. A bare :class:`SelfTrainingConfig` also works (CPU, one thread).
    ctx : genloop.core.bench.SeedContext
        ``generation`` in the logged rows is the round (0 = seed training only).

    Returns
    -------
    str
        What computed the run (``"torch-<device>"``).
    """
    import torch

    from genloop.seek.learners import resolve_device

    if isinstance(config, SelfTrainingConfig):
        settings, device, threads = config, "cpu", 1
    else:
        settings = getattr(config, "self_training", None) or SelfTrainingConfig()
        device, threads = getattr(config, "device", "auto"), getattr(config, "threads", 1)
    # Small networks gain little from threads on a shared machine, and parallel seeds
    # would oversubscribe it; the recipe can raise this.
    torch.set_num_threads(int(threads))
    device = resolve_device(device)
    self_train(settings, ctx.seed, ctx.log, ctx.extra.get("ledger_dir"), device=device,
               advance=ctx.advance, variant=ctx.extra.get("variant", "default"))
    return f"torch-{device}"
