"""The curriculum loop: a sampler chooses which task programs a learner trains on.

Each round (the logged ``generation``):

1. the sampler draws a program for each of the round's ``steps_per_round × batch_size``
   training examples (PLR: score → transform → staleness → replay);
2. the learner trains on fresh examples from those programs, ``batch_size`` per step;
3. every program trained on this round is probed on its fixed held-out probe set (labelled
   like its training data, so noisy probes stay noisy): accuracy, loss and, when the
   score needs it, ensemble uncertainty update its score;
4. every ``eval_every`` rounds the learner answers a fixed evaluation set of every initial
   program, checked by the program's verifier (the truth, also for noisy programs);
5. with mutation on, every ``mutation.every`` rounds the top-scoring programs are edited
   into new ones that join the space (ACCEL).

Samples consumed count training examples only; probe sets are labelled once per program
(``probe_labels`` is logged) and reused, for every sampler alike.
"""

from __future__ import annotations

import numpy as np

from genloop.core.rng import generator
from genloop.seek.config import CurriculumConfig
from genloop.seek.learners import Learner
from genloop.seek.samplers import PrioritizedSampler, mutate, program_features
from genloop.seek.task_space import build_task_space, hardest_programs
from genloop.seek.tasks import PAD, VOCAB_SIZE, TaskProgram


def _accuracy(learner: Learner, inputs, labels, per: str = "answer") -> float:
    """Accuracy against ``labels`` (the probe's own, possibly noisy, labels): exact match
    of whole answers (``per="answer"``) or the share of correct answer digits (``"token"``:
    positions where the label is PAD are left out, so that learning the answer's length,
    which random-target programs share with their learnable twins, is not progress)."""
    outputs, _ = learner.predict(inputs)
    correct = outputs == labels
    if per == "answer":
        return float(correct.all(axis=1).mean())
    digits = labels != PAD
    return float(correct[digits].mean()) if digits.any() else float(correct.mean())


class Curriculum:
    """State of one curriculum run: space, learner, sampler, probe and evaluation sets."""

    def __init__(self, settings: CurriculumConfig, seed: int, device: str = "cpu"):
        self.settings, self.seed = settings, seed
        self.space = build_task_space(settings.task_space)
        self.initial = len(self.space)
        self.hardest = hardest_programs(self.space, settings.hardest)
        first = self.space[0]
        spec = settings.learner
        self.learner = Learner(spec.kind, VOCAB_SIZE, first.input_len, first.output_len,
                               width=spec.width, depth=spec.depth, ensemble=spec.ensemble,
                               dropout=spec.dropout, lr=spec.lr, seed=seed, device=device)
        options = settings.sampler
        self.sampler = PrioritizedSampler(
            score=options.score, transform=options.transform,
            temperature=options.temperature, staleness=options.staleness,
            replay_prob=options.replay_prob, features=self._features,
            fast=options.ema_fast, slow=options.ema_slow, window=options.window,
        )
        self.probes: list[tuple[np.ndarray, np.ndarray]] = []
        self._add_programs(self.space)
        eval_rng = generator(seed, -1, "seek-eval")
        self.evaluation = [p.sample(settings.eval_size, eval_rng) for p in self.space]
        self.samples = 0
        self.used = np.zeros(self.initial, dtype=np.int64)  # samples per initial program

    def _features(self, index: int) -> np.ndarray:
        return program_features(self.space[index])

    def _add_programs(self, programs: list[TaskProgram]) -> None:
        """Register programs with the sampler and label their probe sets."""
        for program in programs:
            if program not in self.space:
                self.space.append(program)
            probe_rng = generator(self.seed, len(self.probes), "seek-probe")
            self.probes.append(program.sample(self.settings.probe_size, probe_rng))
        self.sampler.add_items(len(programs))

    def train_round(self, round_index: int) -> dict[str, float]:
        """Phases 1–3 of a round; returns the round's sampling metrics."""
        settings = self.settings
        n = settings.steps_per_round * settings.batch_size
        picks = self.sampler.sample(n, generator(self.seed, round_index, "seek-pick"))
        # Draw each chosen program's examples in one call, then shuffle across programs so
        # that every batch mixes programs in the sampled proportions.
        data_rng = generator(self.seed, round_index, "seek-data")
        counts = np.bincount(picks, minlength=len(self.space))
        parts = [self.space[i].sample(int(c), data_rng) for i, c in enumerate(counts) if c]
        inputs = np.concatenate([x for x, _ in parts])
        targets = np.concatenate([y for _, y in parts])
        order = data_rng.permutation(n)
        losses = [
            self.learner.train_step(inputs[batch], targets[batch])
            for batch in np.array_split(order, settings.steps_per_round)
        ]
        self.samples += n
        self.used += counts[: self.initial]
        self._probe(np.flatnonzero(counts))
        return self._sampling_metrics(counts, float(np.mean(losses)))

    def _probe(self, indices: np.ndarray) -> None:
        """Phase 3: held-out measurements of the programs trained on this round."""
        score = self.sampler.tracker.score
        for index in indices:
            inputs, labels = self.probes[index]
            accuracy = _accuracy(self.learner, inputs, labels, self.settings.probe_accuracy)
            measurements = {"accuracy": accuracy}
            if score == "loss":
                measurements["loss"] = float(self.learner.loss(inputs, labels).mean())
            if score in ("disagreement", "bald"):
                measurements["uncertainty"] = float(self.learner.uncertainty(inputs, score).mean())
            self.sampler.observe(int(index), **measurements)

    def _sampling_metrics(self, counts: np.ndarray, train_loss: float) -> dict[str, float]:
        total = counts.sum()
        share = counts / total
        unlearnable = np.array([not p.learnable for p in self.space])
        noisy = np.array([p.flip_rate > 0 for p in self.space])
        hardest = np.zeros(len(self.space), dtype=bool)
        hardest[self.hardest] = True
        used = self.used / self.used.sum()
        metrics = {
            "samples": float(self.samples),
            "probe_labels": float(len(self.probes) * self.settings.probe_size),
            "train_loss": train_loss,
            "n_programs": float(len(self.space)),
            "share_unlearnable": float(share[unlearnable].sum()),
            "share_noisy": float(share[noisy].sum()),
            "share_hardest": float(share[hardest].sum()),
            "share_grown": float(share[self.initial:].sum()),
            "cum_share_unlearnable": float(used[unlearnable[: self.initial]].sum()),
            "cum_share_noisy": float(used[noisy[: self.initial]].sum()),
        }
        metrics.update({f"share/{p.name}": float(share[i])
                        for i, p in enumerate(self.space[: self.initial])})
        return metrics

    def evaluate(self) -> dict[str, float]:
        """Phase 4: verified accuracy on the fixed evaluation set of every initial program."""
        accuracy = {}
        for program, (inputs, _) in zip(self.space[: self.initial], self.evaluation, strict=True):
            outputs, _ = self.learner.predict(inputs)
            accuracy[program.name] = float(program.verify(inputs, outputs).mean())
        names = [p.name for p in self.space[: self.initial]]
        learnable = [p.name for p in self.space[: self.initial] if p.learnable and not p.flip_rate]
        metrics = {f"acc/{name}": accuracy[name] for name in names}
        metrics["acc_hardest"] = float(np.mean([accuracy[names[i]] for i in self.hardest]))
        metrics["acc_learnable"] = float(np.mean([accuracy[name] for name in learnable]))
        return metrics

    def grow(self, round_index: int) -> None:
        """Phase 5: ACCEL edits of the top-scoring programs join the space (up to a cap)."""
        options = self.settings.mutation
        rng = generator(self.seed, round_index, "seek-mutate")
        scores = self.sampler.scores()
        names = {p.name for p in self.space}
        new = []
        for index in np.argsort(-scores, kind="stable")[: options.top_k]:
            if len(self.space) + len(new) >= options.max_programs:
                break
            child = mutate(self.space[index], rng, bases=options.bases)
            if child.name not in names:
                names.add(child.name)
                new.append(child)
        self._add_programs(new)


def run_curriculum(settings: CurriculumConfig, seed: int, log, advance=lambda n=1: None,
                   device: str = "cpu") -> dict[str, float]:
    """Run one seed of a curriculum, logging per-round metrics with ``log(round, dict)``.

    Returns
    -------
    dict
        ``samples_to_target`` (training samples when the mean accuracy on the hardest
        programs first reached ``target_accuracy``; the whole budget if never),
        ``reached_target`` (1/0) and the final ``acc_hardest``; the same values are
        logged at the last round.
    """
    curriculum = Curriculum(settings, seed, device)
    reached_at = float("nan")
    metrics: dict[str, float] = {}
    for round_index in range(settings.rounds):
        metrics = curriculum.train_round(round_index)
        last = round_index == settings.rounds - 1
        if (round_index + 1) % settings.eval_every == 0 or last:
            metrics.update(curriculum.evaluate())
            if np.isnan(reached_at) and metrics["acc_hardest"] >= settings.target_accuracy:
                reached_at = metrics["samples"]
        every = settings.mutation.every
        if every and (round_index + 1) % every == 0:
            curriculum.grow(round_index)
        stop = settings.stop_at_target and not np.isnan(reached_at)
        if last or stop:
            # Unreached runs log their whole budget (a censored value, a lower bound) so
            # that every logged value is finite; reached_target says which it is.
            metrics["reached_target"] = float(not np.isnan(reached_at))
            budget_or_hit = metrics["samples"] if np.isnan(reached_at) else reached_at
            metrics["samples_to_target"] = budget_or_hit
        log(round_index, metrics)
        advance(1)
        if stop:
            advance(settings.rounds - round_index - 1)
            break
    return {key: metrics[key] for key in ("samples_to_target", "reached_target", "acc_hardest")}
