"""dedup: exact duplicates by content hash and near-duplicate text, with exact reasons."""

import numpy as np
import pytest

from genloop.core.errors import ConfigError, DataError
from genloop.curation.filters.base import Batch, CurationContext
from genloop.curation.filters.dedup import Dedup

FOX = "the quick brown fox jumps over the lazy dog today"
FOX_TONIGHT = "the quick brown fox jumps over the lazy dog tonight"  # J = 7/9, estimate 0.79
FOX_NOW = "the quick brown fox jumps over the lazy dog now please"  # J(FOX) = 7/10
OTHER = "completely different words here for sure"


def make_batch(X, texts=None, generation=1):
    n = len(X)
    return Batch(
        X=X,
        origin=np.full(n, generation - 1),
        ids=np.array([f"g{generation}-{i}" for i in range(n)]),
        generation=generation,
        texts=texts,
    )


def make_context(original, source=None):
    return CurationContext(
        original=original, holdout=None, source=source, initial_model=None,
        rng=np.random.default_rng(0),
    )


def test_exact_duplicates_of_vectors_cite_the_first_occurrence():
    X = np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0], [-0.0, 1.0], [0.0, 1.0], [1.0, 2.0]])
    mask, reasons = Dedup().keep(make_batch(X))
    assert mask.tolist() == [True, True, False, True, False, False]
    assert reasons.tolist() == [
        "", "", "exact duplicate of g1-0", "", "exact duplicate of g1-3",
        "exact duplicate of g1-0",
    ]


def test_exact_duplicates_of_categorical_values_and_token_arrays():
    mask, reasons = Dedup().keep(make_batch(np.array([3, 1, 3, 3, 2])))
    assert mask.tolist() == [True, True, False, False, True]
    tokens = np.empty(3, dtype=object)
    tokens[:] = [np.array([1, 2, 3]), np.array([1, 2]), np.array([1, 2, 3])]
    mask, reasons = Dedup().keep(make_batch(tokens))
    assert mask.tolist() == [True, True, False]
    assert reasons[2] == "exact duplicate of g1-0"


def test_empty_batch():
    mask, reasons = Dedup(near=True).keep(make_batch(np.zeros((0, 2)), texts=[]))
    assert mask.shape == (0,) and reasons.shape == (0,)


def test_near_duplicates_drop_later_members_with_their_similarity():
    texts = [FOX, OTHER, FOX_TONIGHT, FOX_NOW, OTHER, ""]
    X = np.empty(len(texts), dtype=object)
    X[:] = [np.array([i]) for i in range(len(texts))]  # distinct token rows: no exact dups
    mask, reasons = Dedup(near=True, threshold=0.75).keep(make_batch(X, texts))
    assert mask.tolist() == [True, True, False, True, False, True]
    assert reasons.tolist() == [
        "", "", "near duplicate of g1-0 (J≈0.79)", "", "near duplicate of g1-1 (J≈1.00)", "",
    ]


def test_near_duplicates_cite_kept_rows_only():
    # A ~ B and B ~ C but A !~ C: B goes (near A), C stays (its only near twin was dropped).
    a = " ".join(f"a{i}" for i in range(10))
    b = " ".join([f"a{i}" for i in range(1, 10)] + ["b"])
    c = " ".join([f"a{i}" for i in range(2, 10)] + ["b", "c"])
    X = np.array([[0], [1], [2]])
    mask, reasons = Dedup(near=True, threshold=0.7, shingle=1).keep(make_batch(X, [a, b, c]))
    assert mask.tolist() == [True, False, True]
    assert reasons[1].startswith("near duplicate of g1-0")


def test_exact_duplicate_is_reported_as_exact_before_near():
    X = np.array([[0], [1], [0]])
    mask, reasons = Dedup(near=True).keep(make_batch(X, [FOX, FOX_TONIGHT, FOX]))
    assert reasons.tolist() == ["", "", "exact duplicate of g1-0"]


def test_near_dedup_of_token_ids_without_texts():
    X = np.empty(3, dtype=object)
    X[:] = [np.arange(20), np.r_[np.arange(19), 99], np.arange(50, 70)]
    mask, reasons = Dedup(near=True).keep(make_batch(X))
    assert mask.tolist() == [True, False, True]
    assert reasons[1] == "near duplicate of g1-0 (J≈0.84)"


def test_near_dedup_of_vectors_is_a_data_error():
    with pytest.raises(DataError, match="near=false"):
        Dedup(near=True).keep(make_batch(np.zeros((3, 2))))


def test_memory_of_real_rows_and_earlier_batches():
    dedup = Dedup(against_real=True, against_history=True)
    dedup.prepare(make_context(np.array([[9.0], [8.0]])))
    mask, reasons = dedup.keep(make_batch(np.array([[1.0], [8.0], [2.0]]), generation=1))
    assert reasons.tolist() == ["", "exact duplicate of real[1]", ""]
    mask, reasons = dedup.keep(make_batch(np.array([[2.0], [9.0], [3.0]]), generation=2))
    assert reasons.tolist() == ["exact duplicate of g1-2", "exact duplicate of real[0]", ""]
    # prepare starts a new seed: the history is forgotten, the real rows remembered again
    dedup.prepare(make_context(np.array([[9.0]])))
    mask, reasons = dedup.keep(make_batch(np.array([[2.0], [9.0]]), generation=1))
    assert reasons.tolist() == ["", "exact duplicate of real[0]"]


def test_default_has_no_memory_across_batches():
    dedup = Dedup()
    dedup.keep(make_batch(np.array([[1.0]])))
    mask, _ = dedup.keep(make_batch(np.array([[1.0]])))
    assert mask.tolist() == [True]


class TextSource:
    kind = "text"

    def decode(self, tokens):
        return " ".join(f"w{t}" for t in tokens)


def test_near_memory_of_decoded_real_text_and_history():
    real = np.empty(1, dtype=object)
    real[:] = [np.arange(20)]
    dedup = Dedup(near=True, threshold=0.75, against_real=True, against_history=True)
    dedup.prepare(make_context(real, TextSource()))
    near_real = " ".join(f"w{t}" for t in [*range(19), 77])  # J = 17/19
    texts = [near_real, FOX]
    X = np.array([[0], [1]])
    mask, reasons = dedup.keep(make_batch(X, texts, generation=1))
    assert mask.tolist() == [False, True]
    assert reasons[0].startswith("near duplicate of real[0] (J≈")
    mask, reasons = dedup.keep(make_batch(np.array([[5]]), [FOX_TONIGHT], generation=2))
    assert reasons.tolist() == ["near duplicate of g1-1 (J≈0.79)"]


def test_against_real_needs_prepare():
    with pytest.raises(ConfigError, match="prepare"):
        Dedup(against_real=True).keep(make_batch(np.zeros((1, 1))))


@pytest.mark.parametrize(
    "kwargs, key",
    [({"threshold": 1.5}, "dedup.threshold"), ({"shingle": 0}, "dedup.shingle"),
     ({"num_perm": 1}, "dedup.num_perm"), ({"miss_rate": 2}, "miss_rate")],
)
def test_parameters_are_validated(kwargs, key):
    with pytest.raises(ConfigError, match=key):
        Dedup(**kwargs)


def test_dedup_share_matches_the_expected_number_of_distinct_values():
    """Tier 2: n draws from k equally likely categorical states keep exactly the distinct
    values; E[distinct] = k (1 - (1 - 1/k)^n). Seed 0, k=50, n=60, 200 repetitions: the
    mean kept count lies within 0.5 of 35.12 (its standard error is ~0.19)."""
    rng = np.random.default_rng(0)
    k, n = 50, 60
    kept = [Dedup().keep(make_batch(rng.integers(0, k, n)))[0].sum() for _ in range(200)]
    assert np.mean(kept) == pytest.approx(k * (1 - (1 - 1 / k) ** n), abs=0.5)
