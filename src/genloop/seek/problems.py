"""Problems of a self-training run: ``a op b`` with operands of 1..max_digits digits.

One arithmetic task program per operand length (:mod:`genloop.seek.tasks`), all
in one shared layout, and the helpers that draw, measure, verify and print problems of
mixed lengths. ``settings`` is a :class:`~genloop.seek.self_training.SelfTrainingConfig`.
"""

from __future__ import annotations

import numpy as np

_DIGIT_CHARS = "0123456789abcdef"


def problem_programs(settings) -> list:
    """The task programs ``a op b`` with operands of 1..max_digits digits, in that order.

    They share one layout (operand slots ``max_digits`` wide, least-significant digit
    first, ``PAD`` above an operand's length; :mod:`genloop.seek.tasks`), so digit
    ``i`` of a short problem sits where digit ``i`` of a long one does.
    """
    from genloop.seek.task_space import build_task_space

    lengths = list(range(1, settings.max_digits + 1))
    space = {"arithmetic": {"ops": [settings.op], "bases": [settings.base], "n_digits": lengths}}
    programs = build_task_space(space)
    return sorted(programs, key=lambda p: p.params["n_digits"])


def digits_at_round(settings, round_index: int) -> int:
    """The longest operand drawn in round ``round_index`` (0 = the labelled seed set)."""
    if round_index == 0:
        return settings.seed_digits
    if settings.widen_every == 0:
        return settings.max_digits
    widened = settings.seed_digits + -(-round_index // settings.widen_every)
    return min(settings.max_digits, widened)


def draw_problems(programs, max_digits: int, n: int, rng: np.random.Generator):
    """``n`` labelled problems whose operand length is uniform on ``1..max_digits``.

    Returns
    -------
    inputs : ndarray of shape (n, input_len), int64
    targets : ndarray of shape (n, output_len), int64
        The true answers.
    digits : ndarray of shape (n,), int64
        The operand length of each problem.
    """
    digits = np.sort(rng.integers(1, max_digits + 1, size=n))
    inputs = np.zeros((n, programs[0].input_len), dtype=np.int64)
    targets = np.zeros((n, programs[0].output_len), dtype=np.int64)
    for d in np.unique(digits):
        rows = np.flatnonzero(digits == d)
        inputs[rows], targets[rows] = programs[d - 1].sample(len(rows), rng)
    order = rng.permutation(n)  # shuffle so that row order says nothing about length
    return inputs[order], targets[order], digits[order]


def operand_digits(inputs: np.ndarray) -> np.ndarray:
    """The operand length of each arithmetic input (non-``PAD`` tokens of the first slot)."""
    from genloop.seek.tasks import PAD

    width = (inputs.shape[1] - 3) // 2
    return (inputs[:, 1 : 1 + width] != PAD).sum(axis=1)


def verify_answers(programs, inputs: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Whether each answer is correct, by the program of its problem's length: (n,) bool."""
    correct = np.zeros(len(inputs), dtype=bool)
    digits = operand_digits(inputs)
    for d in np.unique(digits):
        rows = np.flatnonzero(digits == d)
        correct[rows] = programs[d - 1].verify(inputs[rows], outputs[rows])
    return correct


def _number(tokens: np.ndarray) -> str:
    """A least-significant-first digit slot (``PAD`` above the number) as a string."""
    from genloop.seek.tasks import MAX_BASE

    digits = [int(t) for t in tokens if 0 <= t < MAX_BASE]
    return "".join(_DIGIT_CHARS[d] for d in reversed(digits)) or "?"


def describe_problems(inputs: np.ndarray) -> np.ndarray:
    """Readable ``a op b`` of arithmetic inputs (tasks layout): object array of shape (n,)."""
    from genloop.seek.tasks import OP_TOKENS

    ops = {token: op for op, token in OP_TOKENS.items()}
    width = (inputs.shape[1] - 3) // 2
    text = [
        f"{_number(row[1 : 1 + width])}{ops.get(int(row[1 + width]), '?')}"
        f"{_number(row[2 + width : 2 + 2 * width])}"
        for row in inputs
    ]
    return np.array(text, dtype=object)


def describe_answers(answers: np.ndarray) -> np.ndarray:
    """Readable answers (most significant digit first): object array of shape (n,)."""
    return np.array([_number(row) for row in answers], dtype=object)
