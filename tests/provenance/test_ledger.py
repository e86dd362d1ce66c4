"""The ledger writer and readers on hand-made pools (tier 1: exact rows and columns)."""

from __future__ import annotations

import numpy as np
import pytest

from genloop.core.errors import DataError
from genloop.provenance.hashing import content_hash
from genloop.provenance.ledger import Curated, LedgerWriter, load_ledger, load_pool, unit_folder
from genloop.provenance.pool import Pool, decode_strings, encode_strings


def writer(tmp_path, variant="v", seed=3, **kw):
    directory = tmp_path / "ledger" / unit_folder(variant, seed)
    (tmp_path / "config.yaml").write_text("name: x\n")
    return LedgerWriter(directory, variant, seed, **kw)


def test_sample_ids_name_hash_origin_and_index():
    real = Pool.real(np.array([[1.0, 2.0], [3.0, 4.0]]))
    gen = Pool.generated(np.array([[5.0, 6.0]]), 7)
    fresh = Pool.real(np.array([[1.0, 2.0]]), first_index=10)
    ids = Pool.concat([real, gen, fresh]).ids
    h = content_hash(np.array([1.0, 2.0]))[:16]
    assert list(ids) == [f"{h}-gr-0", f"{content_hash([3.0, 4.0])[:16]}-gr-1",
                         f"{content_hash([5.0, 6.0])[:16]}-g7-0", f"{h}-gr-10"]


def test_ids_and_parents_survive_take_subsample_and_checkpoints():
    pool = Pool.generated(np.arange(12.0).reshape(6, 2), 2,
                          parents=np.array(["a-gr-0", "", "b-gr-1", "", "", "c-gr-12"], object))
    part = pool.subsample(3, np.random.default_rng(0))
    assert set(part.ids) <= set(pool.ids)
    back = Pool.from_arrays(part.to_arrays())
    assert list(back.ids) == list(part.ids) and list(back.parents) == list(part.parents)
    assert list(decode_strings(encode_strings(np.array(["", "xy"])))) == ["", "xy"]


def test_ledger_rows_columns_and_verdicts(tmp_path):
    w = writer(tmp_path, filter_names=["f1", "f2"])
    original = Pool.real(np.array([[0.0], [1.0]]))
    candidates = Pool.generated(np.array([[2.0], [3.0], [4.0]]), 0)
    verdicts = {"f1": np.array(["", "too big", ""], object),
                "f2": np.array(["", "-", "odd"], object)}
    curated = Curated(ids=candidates.ids, verdicts=verdicts,
                      dropped=candidates.take(np.array([1, 2])))
    pool = Pool.concat([original.take(np.array([1])), candidates.take(np.array([0]))])
    w.write(0, original)
    w.write(1, pool, curated)
    ledger = load_ledger(tmp_path, generation=1)
    assert list(ledger.columns) == ["sample_id", "generation", "origin", "model_id", "parent_id",
                                    "content_hash", "in_pool", "filter.f1", "filter.f2"]
    assert ledger.in_pool.tolist() == [True, True, False, False]
    assert ledger.origin.tolist() == ["real", "gen:0", "gen:0", "gen:0"]
    assert ledger.model_id.tolist() == ["", "v/seed3/gen0", "v/seed3/gen0", "v/seed3/gen0"]
    assert ledger["filter.f1"].tolist() == ["-", "", "too big", ""]
    assert ledger["filter.f2"].tolist() == ["-", "", "-", "odd"]
    assert ledger.content_hash[0] == content_hash([1.0])
    data = load_pool(tmp_path, 1)
    assert data.columns.tolist() == ["sample_id", "origin", "x0"]
    assert data.x0.tolist() == [1.0, 2.0] and data.sample_id.tolist() == list(pool.ids)
    assert len(load_ledger(tmp_path)) == 2 + 4


def test_prompts_and_extra_columns_join_the_ledger(tmp_path):
    import pandas as pd

    from genloop.provenance.ledger import verify

    w = writer(tmp_path, filter_names=["f"])
    prompts = Pool.real(np.array([[7.0], [8.0]]), first_index=5)
    answers = Pool.generated(np.array([[7.0, 1.0], [8.0, 2.0]]), 0, parents=prompts.ids)
    curated = Curated(ids=answers.ids, verdicts={"f": np.array(["", "no"], object)},
                      dropped=answers.take(np.array([1])))
    extra = pd.DataFrame({"score": [0.5, 0.25], "note": ["a", "b"]}, index=answers.ids)
    w.write(0, answers.take(np.array([0])), curated, prompts=prompts, columns=extra)
    ledger = load_ledger(tmp_path, generation=0)
    # pool row, dropped candidate, then the prompts (in no pool, seen by no filter)
    assert ledger.sample_id.tolist() == [*answers.ids, *prompts.ids]
    assert ledger.in_pool.tolist() == [True, False, False, False]
    assert ledger.parent_id.tolist() == [*prompts.ids, "", ""]
    assert ledger["filter.f"].tolist() == ["", "no", "-", "-"]
    # extra columns follow the common ones, by sample id; rows without a value are null
    assert list(ledger.columns[-2:]) == ["score", "note"]
    assert ledger.score.tolist()[:2] == [0.5, 0.25] and ledger.score[2:].isna().all()
    assert ledger.note.tolist()[:2] == ["a", "b"] and ledger.note[2:].isna().all()
    # the chain is intact; only a run (genloop.run) writes the run manifest that ends it
    assert [p.split(" is ")[0] for p in verify(tmp_path)] == ["ledger/run.manifest.json"]


def test_categorical_and_text_pools_have_their_columns(tmp_path):
    w = writer(tmp_path, variant="cat", seed=0)
    w.write(0, Pool.real(np.array([3, 1, 3])))
    assert load_pool(tmp_path, 0, variant="cat").value.tolist() == [3, 1, 3]
    tokens = np.empty(2, dtype=object)
    tokens[:] = [np.array([104, 105]), np.array([33])]
    t = writer(tmp_path, variant="txt", seed=0, decode=lambda row: bytes(row.tolist()).decode())
    t.write(0, Pool.real(tokens))
    data = load_pool(tmp_path, 0, variant="txt")
    assert data.text.tolist() == ["hi", "!"] and list(data.tokens[0]) == [104, 105]


def test_readers_name_what_is_missing(tmp_path):
    with pytest.raises(DataError, match="no provenance ledger"):
        load_pool(tmp_path, 0)
    writer(tmp_path, variant="a", seed=0).write(0, Pool.real(np.zeros((2, 1))))
    writer(tmp_path, variant="b", seed=0).write(0, Pool.real(np.zeros((2, 1))))
    with pytest.raises(DataError, match="variants a, b"):
        load_pool(tmp_path, 0)
    with pytest.raises(DataError, match="no pool for generation 5"):
        load_pool(tmp_path, 5, variant="a")
    with pytest.raises(DataError, match="seed 9; seeds: 0"):
        load_ledger(tmp_path, variant="a", seed=9)
