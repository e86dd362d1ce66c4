"""Audit measures on hand-made inputs (tier 1): exact PRDC, tails, classes, mixing policies."""

import numpy as np
import pandas as pd
import pytest

from genloop.audit.fidelity import categorical_prdc, prdc, text_diversity
from genloop.audit.splits import status_of
from genloop.audit.tails import (
    class_finding,
    class_table,
    column_tail_mass,
    item_counts,
    rare_kept,
)
from genloop.collapse.policy import parse_mix
from genloop.core.errors import ConfigError


def test_prdc_on_points_on_a_line():
    # Real balls (k=1): radius 1 around 0, 1, 2, 3. Fake radii: 9.5 (each other).
    real = np.array([[0.0], [1.0], [2.0], [3.0]])
    fake = np.array([[0.5], [10.0]])
    values = prdc(real, fake, k=1)
    assert values == {
        "precision": 0.5,   # 0.5 is in a real ball, 10 is not
        "recall": 1.0,      # every real point lies within 9.5 of the fake at 0.5
        "density": 1.0,     # 0.5 sits in two real balls: 2 / (k=1 · m=2)
        "coverage": 0.5,    # the balls of 0 and 1 hold a fake, those of 2 and 3 do not
    }


def test_prdc_of_a_set_against_itself_is_one():
    points = np.random.default_rng(0).normal(size=(50, 3))
    values = prdc(points, points, k=5)
    assert values["precision"] == values["recall"] == values["coverage"] == 1.0
    assert values["density"] >= 1.0


def test_categorical_analogues():
    real = np.array(["a", "a", "b", "c"])
    synthetic = np.array(["a", "b", "b", "d"])
    assert categorical_prdc(real, synthetic) == {
        "precision": 0.75,   # a, b, b are real categories; d is not
        "recall": 0.75,      # a, a, b appear in the synthetic data; c does not
        "density": 0.5,      # overlap: min(.5,.25) + min(.25,.5) + min(.25,0)
        "coverage": 2 / 3,   # a and b of a, b, c
    }


def test_rare_categories_and_words_kept():
    reference = np.array(["a"] * 5 + ["b"] * 3 + ["c", "d", "e"])
    # counts 5, 3, 1, 1, 1: the median count is 1, so c, d, e are rare
    kept = rare_kept(reference, np.array(["a", "c", "e", "z"]), "categorical", 0.5)
    assert kept == pytest.approx(2 / 3)
    texts = np.array(["the cat sat", "the dog sat", "the owl"])
    assert item_counts(texts, "text")["the"] == 3
    assert item_counts(texts, "text", 2)[("the", "cat")] == 1
    # word counts: the 3, sat 2, cat/dog/owl 1 -> rare {cat, dog, owl}
    assert rare_kept(texts, np.array(["a cat and an owl"]), "text", 0.5) == pytest.approx(2 / 3)


def test_column_tail_mass():
    reference = np.column_stack([np.arange(101.0), np.zeros(101)])  # quantiles 1 and 99
    sample = np.array([[0.0, 0.0], [50.0, 0.0], [100.0, 1.0], [99.0, 0.0]])
    mass, informative = column_tail_mass(reference, sample)
    assert mass.tolist() == [0.5, 0.25] and informative.tolist() == [True, False]


def test_class_table_names_missing_and_rare_classes():
    real = np.array(["0"] * 100 + ["1"] * 100 + ["2"] * 40 + ["3"])
    # class 2: expected 40/241 · 280 = 46.5 synthetic rows, 10 observed (< a quarter): rare;
    # class 3: expected 1.2, none observed: absent, too rare to judge
    synthetic = np.array(["0"] * 140 + ["1"] * 130 + ["2"] * 10)
    table = class_table(real, synthetic)
    assert table["class"].tolist() == ["3", "2", "0", "1"]  # rarest first
    assert table["status"].tolist() == ["absent", "rare", "present", "present"]
    assert table["expected"].iloc[1] == pytest.approx(40 / 241 * 280)
    # three equal classes, expected 50 each: 110 is over twice that, 20 under half
    skewed = class_table(np.repeat(["0", "1", "2"], 50), np.repeat(["0", "1", "2"], [110, 20, 20]))
    assert skewed.set_index("class")["status"].to_dict() == {
        "0": "over-represented", "1": "rare", "2": "rare"}
    gone = class_table(real, np.array(["0"] * 50 + ["1"] * 50))  # class 2 expected 16.6
    finding = class_finding(gone, "labels as written")
    assert finding.status == "bad" and finding.reading.startswith("missing: 2; 1 classes")
    assert finding.synthetic == pytest.approx(3 / 4)


def test_text_diversity_of_repeats():
    values = text_diversity(np.array(["a b a b", "a b a b"]))
    assert values["distinct-1"] == 2 / 8 and values["vocabulary"] == 2.0
    assert values["self-BLEU"] == pytest.approx(1.0)
    assert values["repetition rate"] == 0.0  # one 4-gram per record: nothing repeats in-row


def test_status_rule():
    assert status_of(0.9, 1.0, 0.05) == "ok"       # within 3 errors
    assert status_of(0.75, 1.0, 0.05) == "warn"    # within 6 errors
    assert status_of(0.5, 1.0, 0.05) == "bad"
    assert status_of(1.5, 1.0, 0.05) == "ok"       # better than real
    assert status_of(1.5, 1.0, 0.05, None) == "bad"  # two-sided


def test_parse_mix():
    assert parse_mix("keep_fraction=0.2") == {"policy": "keep_fraction", "fraction": 0.2}
    assert parse_mix("replace") == {"policy": "replace"}
    assert parse_mix("mix=0.6,0.3,0.1") == {"policy": "mix", "alpha": 0.6, "beta": 0.3,
                                            "gamma": 0.1}
    assert parse_mix({"policy": "accumulate"}) == {"policy": "accumulate"}
    for bad in ("keep=0.2", "keep_fraction=abc", "mix=1,2", ""):
        with pytest.raises(ConfigError, match="mix"):
            parse_mix(bad)


def test_findings_frame_and_verdict_order():
    from genloop.audit import AuditResult
    from genloop.audit.splits import Finding

    result = AuditResult([
        Finding("tails", "a", 1.0, 1.0, 0.0, "fine", "ok"),
        Finding("fidelity", "b", 0.1, 1.0, 0.0, "poor", "bad"),
    ])
    assert result.verdicts == ["[bad] fidelity: poor", "[ok] tails: fine"]
    assert isinstance(result.to_frame(), pd.DataFrame) and len(result.to_frame()) == 2
