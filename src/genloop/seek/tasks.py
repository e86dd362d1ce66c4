"""Task programs: parameterised data generators with an exact verifier.

A :class:`TaskProgram` draws ``(inputs, targets)`` token arrays and checks any answer by
recomputing the true one. Every program speaks one shared vocabulary, so one learner can
train on a whole task space:

* digit ``d`` is token ``d`` in every base (``0 ≤ d < MAX_BASE``), and an arithmetic input
  starts with a marker token for its base: ``[BASE_b, a₀ … a_{D−1}, op, b₀ … b_{D−1}, =]``.
  Because the base is part of the input, programs for different bases are mutually
  consistent (no input has two different answers) and can be learnt together.
* numbers are written least-significant digit first, in fixed-width slots padded with
  ``PAD`` above the program's ``n_digits``: digit ``i`` sits at the same position for every
  length, which lets what is learnt on short numbers transfer to long ones.
* answers are fixed-length too (``PAD`` after the last digit); ``verify`` is exact
  equality with the canonical encoding of the true answer.

Unlearnable programs (:func:`random_targets`) keep the input distribution and replace the
answer by uniformly random digits; noisy programs (:func:`noisy`) replace a share of the
labels by wrong answers but are verified against the truth. ``TaskProgram.learnable`` is
ground truth for metrics and tests only: samplers never read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from genloop.core.errors import ConfigError

MAX_BASE = 16  # digits 0..15 are tokens 0..15
PAD, SEP, EQ = 16, 17, 18
OP_TOKENS = {"+": 19, "-": 20, "*": 21}
MOD = 22  # marks a modular-arithmetic input
SEQUENCE_TOKENS = {"copy": 23, "reverse": 24, "sort": 25}
BASE_OFFSET = 26  # BASE_b = BASE_OFFSET + b − 2 for b in 2..MAX_BASE
VOCAB_SIZE = BASE_OFFSET + MAX_BASE - 1
OP_NAMES = {"+": "add", "-": "sub", "*": "mul"}
SEQUENCE_ALPHABET = 10  # sequence tasks use the digits 0..9 as symbols


def base_token(base: int) -> int:
    """The marker token that opens an arithmetic input in ``base``."""
    return BASE_OFFSET + base - 2


@dataclass(frozen=True)
class Layout:
    """Slot widths shared by a task space, so that every program has the same lengths.

    Attributes
    ----------
    arith_digits : int
        Digits per operand slot of arithmetic programs (the space's largest ``n_digits``).
    mod_digits : int
        Base-10 digits per number slot of modular programs.
    seq_length : int
        Symbols per slot of sequence programs.
    input_len, output_len : int
        Padded lengths of every program's inputs and answers; 0 means "the program's own".
    """

    arith_digits: int = 0
    mod_digits: int = 0
    seq_length: int = 0
    input_len: int = 0
    output_len: int = 0


def _digits(values: np.ndarray, base: int, width: int) -> np.ndarray:
    """Least-significant-first digits of non-negative ``values``: shape (n, width)."""
    powers = base ** np.arange(width, dtype=np.int64)
    return (values[:, None] // powers[None, :]) % base


def _from_digits(digits: np.ndarray, base: int) -> np.ndarray:
    """Inverse of :func:`_digits` for (n, width) digit arrays."""
    return (digits * base ** np.arange(digits.shape[1], dtype=np.int64)[None, :]).sum(axis=1)


def _pad(array: np.ndarray, length: int) -> np.ndarray:
    """Right-pad (n, k) token rows with PAD to (n, length)."""
    out = np.full((array.shape[0], length), PAD, dtype=np.int64)
    out[:, : array.shape[1]] = array
    return out


@dataclass(eq=False)
class TaskProgram:
    """A parameterised data generator with an exact verifier.

    Attributes
    ----------
    name : str
        Unique per parameters, e.g. ``"add/b10/d3"``, ``"random(add/b10/d3)"``.
    params : dict
        The spec the program was made from (``kind`` plus its parameters).
    input_len, output_len : int
        Fixed lengths of inputs and answers (``PAD`` inside).
    learnable : bool
        False for random-target programs. Ground truth for metrics and tests only.
    layout : Layout
        The slot widths the program was encoded with (mutations keep it).
    """

    name: str
    params: dict
    input_len: int
    output_len: int
    learnable: bool
    layout: Layout
    draw_inputs: Callable[[int, np.random.Generator], np.ndarray] = field(repr=False)
    solve: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    answer_alphabet: int = 10  # digits a random answer is drawn from
    flip_rate: float = 0.0  # share of labels replaced by wrong answers (noisy programs)
    random_labels: bool = False  # labels independent of inputs (unlearnable)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` labelled examples.

        Returns
        -------
        inputs : ndarray of shape (n, input_len), int64
        targets : ndarray of shape (n, output_len), int64
            The true answers, except for random-target programs (random digits in the
            answer's positions) and noisy programs (a ``flip_rate`` share are wrong).
        """
        if n < 0:
            raise ConfigError(f"sample n={n}; must be ≥ 0")
        inputs = self.draw_inputs(int(n), rng)
        targets = self.solve(inputs)
        if self.random_labels:
            return inputs, self._random_answers(targets, rng)
        if self.flip_rate > 0.0:
            flipped = rng.random(n) < self.flip_rate
            wrong = self._random_answers(targets[flipped], rng)
            # A random answer can equal the truth by chance; bump its first digit so that
            # a flipped label is always wrong and the flip rate is exact.
            same = (wrong == targets[flipped]).all(axis=1)
            wrong[same, 0] = (wrong[same, 0] + 1) % self.answer_alphabet
            targets[flipped] = wrong
        return inputs, targets

    def _random_answers(self, like: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Uniform random digits in the non-PAD positions of ``like`` (same layout)."""
        answers = rng.integers(0, self.answer_alphabet, size=like.shape, dtype=np.int64)
        return np.where(like == PAD, PAD, answers)

    def answers(self, inputs: np.ndarray) -> np.ndarray:
        """The true answers to ``inputs``: shape (n, output_len)."""
        return self.solve(self._checked(inputs, self.input_len, "inputs"))

    def verify(self, inputs: np.ndarray, outputs: np.ndarray) -> np.ndarray:
        """Whether each of ``outputs`` (n, output_len) is the correct answer to ``inputs``.

        Exact: the true answer is recomputed from the input (noisy programs are checked
        against the truth, not their noisy labels). A random-target program has no correct
        answer (its labels are independent of the input), so nothing verifies.

        Returns
        -------
        ndarray of shape (n,), bool
        """
        inputs = self._checked(inputs, self.input_len, "inputs")
        outputs = self._checked(outputs, self.output_len, "outputs")
        if inputs.shape[0] != outputs.shape[0]:
            raise ConfigError(f"{self.name}: {len(inputs)} inputs but {len(outputs)} outputs")
        if self.random_labels:
            return np.zeros(len(inputs), dtype=bool)
        return (self.solve(inputs) == outputs).all(axis=1)

    def _checked(self, array: np.ndarray, length: int, what: str) -> np.ndarray:
        array = np.asarray(array)
        if array.ndim != 2 or array.shape[1] != length:
            raise ConfigError(f"{self.name}: {what} of shape {array.shape}; expected (n, {length})")
        return array.astype(np.int64, copy=False)


def _finish(program: TaskProgram) -> TaskProgram:
    """Pad a program's inputs and answers to its layout's common lengths."""
    layout = program.layout
    in_len = max(program.input_len, layout.input_len)
    out_len = max(program.output_len, layout.output_len)
    if (in_len, out_len) == (program.input_len, program.output_len):
        return program
    own_in, draw, solve = program.input_len, program.draw_inputs, program.solve
    return replace(
        program,
        input_len=in_len,
        output_len=out_len,
        draw_inputs=lambda n, rng: _pad(draw(n, rng), in_len),
        solve=lambda inputs: _pad(solve(inputs[:, :own_in]), out_len),
    )


def arithmetic(op: str = "+", base: int = 10, n_digits: int = 3, layout: Layout | None = None):
    """``a op b`` on ``n_digits``-digit numbers in ``base``; the base is part of the input.

    Operands are uniform on ``[0, base**n_digits)`` (written with leading zeros); for
    ``-`` they are ordered so that ``a ≥ b``. Answers have ``n_digits + 1`` digits for
    ``+``, ``n_digits`` for ``-`` and ``2·n_digits`` for ``*``.
    """
    if op not in OP_TOKENS:
        raise ConfigError(f"arithmetic op={op!r}; allowed: {', '.join(OP_TOKENS)}")
    if not 2 <= base <= MAX_BASE:
        raise ConfigError(f"arithmetic base={base}; allowed: 2..{MAX_BASE}")
    layout = layout or Layout()
    width = max(layout.arith_digits, n_digits)
    if n_digits < 1 or base ** (2 * n_digits) >= 2**62:
        raise ConfigError(f"arithmetic n_digits={n_digits}; must be ≥ 1 and fit in int64")
    answer_digits = {"+": n_digits + 1, "-": n_digits, "*": 2 * n_digits}[op]
    answer_width = {"+": width + 1, "-": width, "*": 2 * width}[op]

    def draw(n: int, rng: np.random.Generator) -> np.ndarray:
        a = rng.integers(0, base**n_digits, size=n, dtype=np.int64)
        b = rng.integers(0, base**n_digits, size=n, dtype=np.int64)
        if op == "-":
            a, b = np.maximum(a, b), np.minimum(a, b)
        tokens = [
            np.full((n, 1), base_token(base)),
            _pad(_digits(a, base, n_digits), width),
            np.full((n, 1), OP_TOKENS[op]),
            _pad(_digits(b, base, n_digits), width),
            np.full((n, 1), EQ),
        ]
        return np.concatenate(tokens, axis=1).astype(np.int64)

    def solve(inputs: np.ndarray) -> np.ndarray:
        a = _from_digits(inputs[:, 1 : 1 + n_digits], base)
        b = _from_digits(inputs[:, 2 + width : 2 + width + n_digits], base)
        result = {"+": a + b, "-": a - b, "*": a * b}[op]
        return _pad(_digits(result, base, answer_digits), answer_width)

    program = TaskProgram(
        name=f"{OP_NAMES[op]}/b{base}/d{n_digits}",
        params={"kind": "arithmetic", "op": op, "base": base, "n_digits": n_digits},
        input_len=2 * width + 3,
        output_len=answer_width,
        learnable=True,
        layout=layout,
        draw_inputs=draw,
        solve=solve,
        answer_alphabet=base,
    )
    return _finish(program)


def modular(p: int = 97, op: str = "+", layout: Layout | None = None) -> TaskProgram:
    """``a op b mod p`` with ``a, b`` uniform on ``[0, p)``; ``p`` is part of the input.

    Input ``[MOD, a, op, b, SEP, p, =]`` with every number in base-10 digits
    (least-significant first); the answer is ``(a op b) mod p``.
    """
    if op not in OP_TOKENS:
        raise ConfigError(f"modular op={op!r}; allowed: {', '.join(OP_TOKENS)}")
    if not 2 <= p <= 10**6:
        raise ConfigError(f"modular p={p}; allowed: 2..1000000")
    layout = layout or Layout()
    width = max(layout.mod_digits, len(str(p)))

    def draw(n: int, rng: np.random.Generator) -> np.ndarray:
        a = rng.integers(0, p, size=n, dtype=np.int64)
        b = rng.integers(0, p, size=n, dtype=np.int64)
        tokens = [
            np.full((n, 1), MOD),
            _digits(a, 10, width),
            np.full((n, 1), OP_TOKENS[op]),
            _digits(b, 10, width),
            np.full((n, 1), SEP),
            _digits(np.full(n, p, dtype=np.int64), 10, width),
            np.full((n, 1), EQ),
        ]
        return np.concatenate(tokens, axis=1).astype(np.int64)

    def solve(inputs: np.ndarray) -> np.ndarray:
        a = _from_digits(inputs[:, 1 : 1 + width], 10)
        b = _from_digits(inputs[:, 2 + width : 2 + 2 * width], 10)
        result = {"+": a + b, "-": a - b, "*": a * b}[op] % p
        return _digits(result, 10, width)

    program = TaskProgram(
        name=f"mod{p}/{OP_NAMES[op]}",
        params={"kind": "modular", "p": p, "op": op},
        input_len=3 * width + 4,
        output_len=width,
        learnable=True,
        layout=layout,
        draw_inputs=draw,
        solve=solve,
    )
    return _finish(program)


def sequence(task: str = "copy", length: int = 5, layout: Layout | None = None) -> TaskProgram:
    """Copy, reverse or sort ``length`` symbols drawn uniformly from the digits 0..9."""
    if task not in SEQUENCE_TOKENS:
        raise ConfigError(f"sequence task={task!r}; allowed: {', '.join(SEQUENCE_TOKENS)}")
    if length < 1:
        raise ConfigError(f"sequence length={length}; must be ≥ 1")
    layout = layout or Layout()
    width = max(layout.seq_length, length)

    def draw(n: int, rng: np.random.Generator) -> np.ndarray:
        symbols = rng.integers(0, SEQUENCE_ALPHABET, size=(n, length), dtype=np.int64)
        marker = np.full((n, 1), SEQUENCE_TOKENS[task])
        return np.concatenate([marker, _pad(symbols, width), np.full((n, 1), EQ)], axis=1)

    def solve(inputs: np.ndarray) -> np.ndarray:
        symbols = inputs[:, 1 : 1 + length]
        answer = {"copy": symbols, "reverse": symbols[:, ::-1], "sort": np.sort(symbols, axis=1)}
        return _pad(answer[task], width)

    program = TaskProgram(
        name=f"seq/{task}/l{length}",
        params={"kind": "sequence", "task": task, "length": length},
        input_len=width + 2,
        output_len=width,
        learnable=True,
        layout=layout,
        draw_inputs=draw,
        solve=solve,
    )
    return _finish(program)


def random_targets(like: TaskProgram) -> TaskProgram:
    """``like``'s inputs with uniformly random answer digits: unlearnable by construction."""
    return replace(
        like,
        name=f"random({like.name})",
        params={"kind": "random_targets", "like": dict(like.params)},
        learnable=False,
        random_labels=True,
        flip_rate=0.0,
    )


def noisy(program: TaskProgram, flip_rate: float = 0.3) -> TaskProgram:
    """``program`` with a ``flip_rate`` share of labels replaced by wrong answers."""
    if not 0.0 <= flip_rate < 1.0:
        raise ConfigError(f"noisy flip_rate={flip_rate}; allowed: [0, 1)")
    return replace(
        program,
        name=f"noisy{flip_rate:g}({program.name})",
        params={"kind": "noisy", "flip_rate": flip_rate, "program": dict(program.params)},
        flip_rate=float(flip_rate),
    )
