"""Audit statistics (tier 2), seeded, with the tolerance each test states.

"Within sampling error" means: |synthetic − real baseline| ≤ 3 × (the finding's stated
sampling error, the sd of the baseline over the seeded splits) + 0.03, the rule the report
uses for "ok" with a slightly wider floor.
"""

import numpy as np
import pandas as pd
import pytest

import genloop
from genloop.audit import audit
from genloop.audit.inputs import load_input
from genloop.core.errors import ConfigError
from genloop.data.digits import real_digits
from genloop.provenance.ledger import load_pool

# The default run audits in quick mode (3 splits, 3 detector folds, <= 600 rows); the
# full-size audit (5 splits, 5 folds) of the same data runs with -m slow.
MODES = [True, pytest.param(False, marks=pytest.mark.slow)]
SPLIT_MEASURES = ("rare categories kept", "rare words kept", "rare word pairs kept",
                  "mass beyond real 1%/99% quantiles", "precision", "recall", "density",
                  "overlap (1 - total variation)", "coverage")


def assert_like_real(result):
    """Tails, PRDC and detectability of a real-vs-real audit within sampling error."""
    frame = result.to_frame().set_index("measure")
    checked = [m for m in SPLIT_MEASURES if m in frame.index]
    assert len(checked) >= 5
    for measure in checked:
        row = frame.loc[measure]
        assert abs(row.synthetic - row.real) <= 3 * row.error + 0.03, (measure, row.to_dict())
    detected = result.details["detectability"]
    # 0.5 inside the detector's 95% bootstrap interval (widened by 0.02 for the refits)
    assert detected.auc_low - 0.02 <= 0.5 <= detected.auc_high + 0.02, detected


def digits_frame():
    rows, labels = real_digits()
    frame = pd.DataFrame(rows, columns=[f"p{i}" for i in range(64)])
    frame["digit"] = labels
    return frame


@pytest.mark.parametrize("quick", MODES)
def test_real_digits_split_looks_real(quick):
    """Seed 0: two random halves of the 1,797 digits, splits of 450 rows each."""
    frame = digits_frame()
    order = np.random.default_rng(0).permutation(len(frame))
    real, other = frame.iloc[order[:900]], frame.iloc[order[900:]]
    result = audit(real, other, label_column="digit", projection=False, max_rows=450,
                   quick=quick)
    assert_like_real(result)
    classes = result.details["classes"]
    assert set(classes["status"]) == {"present"}, classes


def test_real_categorical_split_looks_real():
    """Seed 1: 4,000 Zipf(1.3) draws over 300 states, halved; 5 splits."""
    rng = np.random.default_rng(1)
    p = 1.0 / np.arange(1, 301) ** 1.3
    values = rng.choice(300, size=4000, p=p / p.sum()).astype(str)
    result = audit(values[:2000].tolist(), values[2000:].tolist(), kind="categorical",
                   projection=False)
    assert_like_real(result)
    assert result.to_frame().set_index("measure").loc["real classes present"].status == "ok"


@pytest.fixture(scope="module")
def ngram_run(tmp_path_factory):
    """ngram-collapse --quick, seed 0, replace, 5 generations: pools 0 (real), 1 and 5."""
    return genloop.run("ngram-collapse", quick=True, seeds=[0], variants=["replace"],
                       overrides={"generations": 5, "metrics": []},
                       out=tmp_path_factory.mktemp("audit") / "ngram").path


@pytest.mark.parametrize("quick", MODES)
def test_real_text_split_looks_real(ngram_run, quick):
    """The 300 real blocks of the run, halved (seed 0)."""
    texts = load_pool(ngram_run, 0)["text"].to_numpy()
    order = np.random.default_rng(0).permutation(len(texts))
    result = audit(list(texts[order[:150]]), list(texts[order[150:]]), projection=False,
                   quick=quick)
    assert_like_real(result)


@pytest.mark.parametrize("quick", MODES)
def test_generation_five_lost_more_than_generation_one(ngram_run, quick):
    """Seed 0 run, audit seed 0: generation 5 keeps under half the rare words a real
    sample keeps and is detected (AUC > 0.9); generation 1 keeps more rare words and is
    harder to detect than generation 5."""
    def audited(generation):
        return audit(f"run:{ngram_run}@0", f"run:{ngram_run}@{generation}", projection=False,
                     quick=quick)

    first, fifth = audited(1), audited(5)
    rare1 = first.to_frame().set_index("measure").loc["rare words kept"]
    rare5 = fifth.to_frame().set_index("measure").loc["rare words kept"]
    assert rare5.synthetic < 0.5 * rare5.real and rare5.status == "bad"
    assert rare1.synthetic > rare5.synthetic + 0.1
    auc1, auc5 = first.details["detectability"], fifth.details["detectability"]
    assert auc5.auc > 0.9 and auc5.auc_low > 0.6
    assert auc1.auc < auc5.auc


def test_a_run_directory_with_a_generation_is_a_pool(ngram_run):
    pool = load_input(ngram_run, generation=5, variant="replace", seed=0)
    assert pool.kind == "text" and len(pool) == 300 and pool.name == f"run:{ngram_run}@5"
    with pytest.raises(ConfigError, match="--generation"):
        load_input(ngram_run)


def test_digits_with_a_missing_and_a_rare_class_are_named():
    """Seed 0: 'synthetic' = the other half of the digits without any 3 and with only
    three 7s; the classifier trained on the labelled real half names both."""
    frame = digits_frame()
    order = np.random.default_rng(0).permutation(len(frame))
    real, other = frame.iloc[order[:900]], frame.iloc[order[900:]]
    sevens = other[other["digit"] == 7].index[:3]
    keep = (other["digit"] != 3) & ((other["digit"] != 7) | other.index.isin(sevens))
    synthetic = other[keep].drop(columns=["digit"])
    result = audit(real, synthetic, label_column="digit", projection=False, quick=True)
    classes = result.details["classes"].set_index("class")["status"]
    assert classes["3"] == "missing" and classes["7"] == "rare"
    assert (classes.drop(["3", "7"]) == "present").all()
    assert result.verdicts[0].startswith("[bad] tails: missing: 3; much rarer than in real "
                                         "data: 7")


def test_projection_thins_the_tails_of_text(ngram_run):
    """Seed 0: a trigram refitted on a half-synthetic mix (generation-1 pool) for 3
    generations under replace writes fewer of the real rare words each time."""
    result = audit(f"run:{ngram_run}@0", f"run:{ngram_run}@1", mix="replace", generations=3,
                   seeds=[0], splits=2)
    table = result.details["projection"].table
    values = table.sort_values("generation")["value"].to_numpy()
    assert table["generation"].tolist() == [0, 1, 2, 3]
    assert values[3] < values[1] < values[0]
    finding = result.to_frame().set_index("section").loc["projection"]
    assert finding.reading.startswith("PROXY, not a forecast")


def test_projection_is_seeded():
    """Same seeds, same projected values (categorical proxy, keep_fraction=0.2)."""
    rng = np.random.default_rng(2)
    values = rng.choice(50, size=600, p=np.arange(50, 0, -1) / 1275).astype(str)
    runs = [audit(values[:300].tolist(), values[300:].tolist(), kind="categorical",
                  generations=3, seeds=[0, 1], splits=2).details["projection"].table
            for _ in range(2)]
    pd.testing.assert_frame_equal(runs[0], runs[1])
    assert sorted(runs[0]["seed"].unique()) == [0, 1] and runs[0]["generation"].max() == 3
