"""Task programs: exact encodings, verification and lengths (tier 1 contracts)."""

from __future__ import annotations

import numpy as np
import pytest

from genloop.core.errors import ConfigError
from genloop.seek.task_space import build_task_space, make_program
from genloop.seek.tasks import (
    EQ,
    OP_TOKENS,
    PAD,
    SEQUENCE_TOKENS,
    VOCAB_SIZE,
    Layout,
    arithmetic,
    base_token,
    modular,
    noisy,
    random_targets,
    sequence,
)


def test_addition_encoding_is_exact_and_least_significant_first():
    program = arithmetic("+", 10, 3)
    inputs = np.array([[base_token(10), 7, 4, 1, OP_TOKENS["+"], 5, 0, 9, EQ]])  # 147 + 905
    assert program.input_len == 9 and program.output_len == 4
    np.testing.assert_array_equal(program.answers(inputs), [[2, 5, 0, 1]])  # 1052
    assert program.verify(inputs, np.array([[2, 5, 0, 1]])).tolist() == [True]
    assert program.verify(inputs, np.array([[2, 5, 0, 0]])).tolist() == [False]


@pytest.mark.parametrize(
    ("op", "base", "a", "b", "expected"),
    [("+", 2, 5, 3, 8), ("-", 16, 200, 15, 185), ("*", 3, 8, 7, 56), ("+", 16, 255, 1, 256)],
)
def test_sampled_answers_match_integer_arithmetic(op, base, a, b, expected):
    program = arithmetic(op, base, 2 if base == 16 else 4)
    inputs, targets = program.sample(500, np.random.default_rng(0))
    width = (program.input_len - 3) // 2
    digits = base ** np.arange(width)
    a_values = (inputs[:, 1 : 1 + width] * digits).sum(1)
    b_values = (inputs[:, 2 + width : 2 + 2 * width] * digits).sum(1)
    answer = {"+": a_values + b_values, "-": a_values - b_values, "*": a_values * b_values}[op]
    answer_digits = targets != PAD
    decoded = (np.where(answer_digits, targets, 0) * base ** np.arange(targets.shape[1])).sum(1)
    np.testing.assert_array_equal(decoded, answer)
    assert program.verify(inputs, targets).all()
    # A hand-made case in the same encoding.
    hand = np.full((1, program.input_len), PAD)
    hand[0, 0], hand[0, 1 + width], hand[0, -1] = base_token(base), OP_TOKENS[op], EQ
    hand[0, 1 : 1 + width] = (a // digits) % base
    hand[0, 2 + width : 2 + 2 * width] = (b // digits) % base
    out = program.answers(hand)[0]
    assert int((np.where(out != PAD, out, 0) * base ** np.arange(len(out))).sum()) == expected


def test_encodings_are_consistent_across_bases():
    # The same digit values are the same tokens in every base; only the marker differs.
    rng = np.random.default_rng(1)
    binary, _ = arithmetic("+", 2, 3).sample(50, rng)
    decimal = binary.copy()
    decimal[:, 0] = base_token(10)
    np.testing.assert_array_equal(decimal[:, 1:], binary[:, 1:])
    assert arithmetic("+", 10, 3).verify(decimal, arithmetic("+", 10, 3).answers(decimal)).all()
    # No input has two answers: 11 + 01 differs in base 2 and base 10 only via the marker.
    assert base_token(2) != base_token(10)
    assert not np.array_equal(arithmetic("+", 2, 3).answers(binary),
                              arithmetic("+", 10, 3).answers(decimal))


def test_subtraction_never_negative_and_answers_fit():
    inputs, targets = arithmetic("-", 10, 3).sample(300, np.random.default_rng(2))
    assert targets.min() >= 0 and targets.max() <= 9 and targets.shape == (300, 3)


def test_modular_and_sequence_answers():
    program = modular(7, "*")
    inputs, targets = program.sample(200, np.random.default_rng(3))
    a, b = inputs[:, 1], inputs[:, 3]
    np.testing.assert_array_equal(targets[:, 0], (a * b) % 7)
    assert (inputs[:, 5] == 7).all()  # p is part of the input
    seq = sequence("sort", 4)
    inputs, targets = seq.sample(100, np.random.default_rng(4))
    np.testing.assert_array_equal(targets, np.sort(inputs[:, 1:5], axis=1))
    rev = sequence("reverse", 3)
    x = np.array([[SEQUENCE_TOKENS["reverse"], 1, 2, 3, EQ]])
    np.testing.assert_array_equal(rev.answers(x), [[3, 2, 1]])


def test_random_targets_are_unlearnable_and_never_verify():
    like = arithmetic("+", 10, 2)
    program = random_targets(like)
    assert not program.learnable and like.learnable
    rng = np.random.default_rng(5)
    inputs, targets = program.sample(2000, rng)
    truth = like.answers(inputs)
    assert (targets == PAD).sum() == (truth == PAD).sum()  # same layout
    # Random digits match the true answer (3 digits) with probability 10⁻³.
    assert (targets == truth).all(axis=1).mean() < 0.01
    assert not program.verify(inputs, truth).any()
    assert program.name == "random(add/b10/d2)"


def test_noisy_labels_flip_at_the_rate_and_verify_against_truth():
    # Seeded: 4000 draws, flip rate 0.3 → standard error 0.007; tolerance 0.03.
    program = noisy(arithmetic("+", 10, 2), flip_rate=0.3)
    inputs, labels = program.sample(4000, np.random.default_rng(6))
    wrong = ~program.verify(inputs, labels)
    assert abs(wrong.mean() - 0.3) < 0.03
    assert program.verify(inputs, program.answers(inputs)).all()
    assert program.learnable


def test_task_space_has_common_lengths_and_unique_names():
    space = build_task_space({
        "arithmetic": {"ops": ["+"], "bases": [2, 10], "n_digits": [1, 4]},
        "modular": {"ps": [97], "ops": ["+"]},
        "sequence": {"tasks": ["copy", "sort"], "lengths": [6]},
        "random_targets": [{"kind": "arithmetic", "n_digits": 2}],
        "noisy": [{"kind": "arithmetic", "n_digits": 3, "flip_rate": 0.2}],
    })
    assert len(space) == 9 and len({p.name for p in space}) == 9
    assert {p.input_len for p in space} == {11} and {p.output_len for p in space} == {6}
    rng = np.random.default_rng(7)
    for program in space:
        inputs, targets = program.sample(20, rng)
        assert inputs.shape == (20, 11) and targets.shape == (20, 6)
        assert inputs.min() >= 0 and inputs.max() < VOCAB_SIZE
        if program.learnable and program.flip_rate == 0:
            assert program.verify(inputs, targets).all()
    # A 1-digit problem puts its digit where a 4-digit problem puts its lowest digit.
    short = next(p for p in space if p.name == "add/b10/d1")
    x, _ = short.sample(5, rng)
    assert (x[:, 2:5] == PAD).all() and (x[:, 5] == OP_TOKENS["+"]).all()


def test_make_program_matches_layout_and_rejects_bad_specs():
    layout = Layout(arith_digits=5)
    assert make_program({"kind": "arithmetic", "n_digits": 2}, layout).input_len == 13
    with pytest.raises(ConfigError, match="kind"):
        make_program({"kind": "poetry"})
    with pytest.raises(ConfigError, match="base"):
        arithmetic("+", 17, 2)
    with pytest.raises(ConfigError, match="unknown"):
        build_task_space({"arithmetic": {"digits": [2]}})
    with pytest.raises(ConfigError, match="more than once"):
        build_task_space([{"kind": "sequence"}, {"kind": "sequence"}])
    with pytest.raises(ConfigError, match="shape"):
        arithmetic().verify(np.zeros((2, 3)), np.zeros((2, 4)))
