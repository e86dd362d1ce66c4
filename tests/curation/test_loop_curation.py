"""Curation and the ledger inside the sample loop (tier 1: exact counts and reasons).

The filters here are test-only (``drop_positive`` drops rows whose first value is > 0;
``drop_all`` drops everything), registered by patching the registry's ``resolve``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import genloop
import genloop.core.registry as registry
from genloop.core.config import resolve
from genloop.core.errors import ConfigError, GenloopError
from genloop.curation.filters.base import Filter
from genloop.provenance.ledger import load_ledger, load_pool, verify


class DropPositive(Filter):
    name = "drop_positive"

    def decide(self, batch):
        first = np.asarray(batch.X, dtype=float).reshape(len(batch), -1)[:, 0]
        keep = first <= 0
        return keep, np.where(keep, "", "first value > 0")


class DropAll(Filter):
    name = "drop_all"

    def decide(self, batch):
        return np.zeros(len(batch), bool), np.full(len(batch), "everything goes")


TEST_FILTERS = {"drop_positive": DropPositive, "drop_all": DropAll}


@pytest.fixture(autouse=True)
def test_filters(monkeypatch):
    original = registry.resolve

    def patched(kind, name):
        if kind == "filter" and name in TEST_FILTERS:
            return TEST_FILTERS[name]
        return original(kind, name)

    monkeypatch.setattr(registry, "resolve", patched)


BASE = {
    "name": "curation-test", "bench": "collapse", "seeds": "0..1",
    "family": {"name": "gaussian"}, "source": {"name": "gaussian", "dim": 2},
    "n": 40, "generations": 4, "holdout": 50, "metrics": ["log_variance"],
}
CURATED = BASE | {"curation": ["drop_positive"], "mixing": {"policy": "keep_fraction",
                                                           "fraction": 0.25}}


def metric(run, name):
    m = run.metrics
    return m[m.metric == name].sort_values(["seed", "generation"])


def test_ledger_accounts_for_every_pool_row_and_every_dropped_candidate(tmp_path):
    run = genloop.run(CURATED, out=tmp_path / "r")
    sizes = metric(run, "pool_size")
    for seed in (0, 1):
        ledger = load_ledger(run.path, seed=seed)
        in_pool = ledger[ledger.in_pool].groupby("generation").size()
        expected = sizes[sizes.seed == seed].set_index("generation")["value"].astype(int)
        assert in_pool.to_dict() == expected.to_dict()
        for g in range(5):
            assert len(load_pool(run.path, g, seed=seed)) == expected[g]
        dropped = ledger[~ledger.in_pool]
        # 30 candidates per generation; about half have x0 > 0 and are dropped
        assert len(dropped) == 120 - (in_pool.loc[1:].sum() - 4 * 10)
        assert set(dropped["filter.drop_positive"]) == {"first value > 0"}
        assert (dropped.origin != "real").all()
        pool = ledger[ledger.in_pool]
        fresh_gen = pool[pool.origin != "real"]
        assert set(fresh_gen["filter.drop_positive"]) == {""}
        assert set(pool[pool.origin == "real"]["filter.drop_positive"]) == {"-"}
        assert (pool.model_id[pool.origin == "gen:2"] == f"default/seed{seed}/gen2").all()
    data = load_pool(run.path, 3, seed=0)
    assert (data[data.origin != "real"].x0 <= 0).all()
    assert verify(run.path) == []


def test_dropped_shares_are_logged_with_the_pool_they_made(tmp_path):
    run = genloop.run(CURATED, out=tmp_path / "r")
    share = metric(run, "curation_dropped_share")
    per_filter = metric(run, "dropped.drop_positive")
    assert (share[share.generation == 0].value == 0).all()
    later = share[share.generation > 0].value
    # Half of N(0, 1)-ish candidates have x0 > 0: 30 per generation, 8 generations.
    assert 0.3 < later.mean() < 0.7
    assert np.allclose(share.value.to_numpy(), per_filter.value.to_numpy())


def test_without_curation_metrics_match_with_ledger_on_or_off(tmp_path):
    on = genloop.run(BASE | {"engine": "samples", "ledger": "on"}, out=tmp_path / "on")
    off = genloop.run(BASE | {"engine": "samples", "ledger": "off"}, out=tmp_path / "off")
    assert on.metrics.equals(off.metrics)
    assert (on.path / "ledger").is_dir() and not (off.path / "ledger").exists()
    assert off.meta["ledger"] == {"default": "off: ledger: off"}


def test_fast_engine_keeps_no_ledger_and_says_so(tmp_path):
    run = genloop.run(BASE, out=tmp_path / "r")
    assert run.meta["engine"]["default"] == "exact"
    assert run.meta["ledger"]["default"] == "off: the exact engine keeps no samples"
    assert not (run.path / "ledger").exists()


def test_ledger_auto_turns_off_above_the_file_limit(tmp_path, monkeypatch):
    import genloop.provenance.ledger as ledger

    monkeypatch.setattr(ledger, "LEDGER_FILE_LIMIT", 10)
    run = genloop.run(BASE | {"engine": "samples"}, out=tmp_path / "r")
    assert run.meta["ledger"]["default"].startswith("off: the run would write 30 ledger files")
    assert "ledger off" in run.meta["engine"]["default"]
    assert not (run.path / "ledger").exists()


def test_curation_on_a_fast_engine_is_a_config_error():
    with pytest.raises(ConfigError, match="engine: exact cannot curate"):
        resolve(CURATED | {"engine": "exact"})
    assert resolve(CURATED).config.engine == "auto"  # auto picks the sample loop


def test_an_empty_pool_names_the_generation_and_the_filter(tmp_path):
    recipe = BASE | {"curation": ["drop_all"], "seeds": 0}
    with pytest.raises(GenloopError, match=r"generation 1: .*'drop_all' dropped 100%"):
        genloop.run(recipe, out=tmp_path / "r")


def test_incoming_curation_filters_fresh_real_rows_too(tmp_path):
    recipe = BASE | {"seeds": 0, "curation": ["drop_positive"], "curate": "incoming",
                     "mixing": {"policy": "fresh", "fraction": 0.5}}
    run = genloop.run(recipe, out=tmp_path / "r")
    ledger = load_ledger(run.path)
    dropped = ledger[~ledger.in_pool]
    assert {"real", "gen:0"} <= set(dropped.origin)
    fresh = ledger[ledger.in_pool & (ledger.origin == "real") & (ledger.generation > 0)]
    assert set(fresh["filter.drop_positive"]) == {""}
    # fresh real rows are numbered after the original 40 and earlier generations' 20
    index = fresh.sample_id.str.rsplit("-", n=1).str[-1].astype(int)
    assert index.min() >= 40
    new = genloop.run(recipe | {"curate": "new"}, out=tmp_path / "n")
    assert set(load_ledger(new.path).query("not in_pool").origin) == {f"gen:{g}" for g in
                                                                       range(4)}



@pytest.mark.parametrize("crash_at", [2, 4])
def test_resume_rewrites_the_ledger_byte_for_byte(tmp_path, crash_at, crash_in_seed,
                                                   read_ledger_files):
    recipe = CURATED | {"checkpoint_seconds": 0.0, "generations": 6}
    reference = genloop.run(recipe, out=tmp_path / "ref")
    run_dir = crash_in_seed(recipe, tmp_path / "crashed", crash_at)
    resumed = genloop.run(None, resume=run_dir.path)
    assert resumed.metrics.equals(reference.metrics)

    assert read_ledger_files(resumed.path) == read_ledger_files(reference.path)
    assert verify(resumed.path) == []


def test_lm_prompts_become_parents(tmp_path):
    from genloop.collapse.loop import sample_candidates
    from genloop.provenance.pool import Pool

    class Continuer:
        sample_parents_ = None

        def sample(self, n, random_state=None):
            self.sample_parents_ = np.array([2, 0, 2])[:n]
            return np.arange(3.0 * n).reshape(n, 3)

    original = Pool.real(np.eye(3))
    candidates = sample_candidates(Continuer(), 3, seed=0, generation=1, original=original)
    assert list(candidates.parents) == [original.ids[2], original.ids[0], original.ids[2]]
    restored = Pool.from_arrays(candidates.to_arrays())
    assert list(restored.parents) == list(candidates.parents)
    assert list(restored.ids) == list(candidates.ids)
    merged = Pool.concat([original, candidates])
    assert list(merged.parent_ids()) == ["", "", "", *candidates.parents]
    assert isinstance(pd.Series(merged.ids).iloc[0], str)


def test_watermark_filter_with_miss_rate_zero_keeps_synthetic_share_at_zero(tmp_path):
    """Every block an n-gram writes with a strong watermark (δ = 4) is caught, so the pool
    holds fresh real blocks only; with miss rate 0.5 about half the model blocks stay
    (seeded: seed 0; tolerance: a share strictly between 0 and the unfiltered 0.5)."""
    import inspect

    pytest.importorskip("genloop.curation.filters.watermark")
    from genloop.families.ngram import NGram

    if "watermark_gamma" not in inspect.signature(NGram).parameters:
        pytest.skip("the n-gram family has no watermark yet")
    recipe = {
        "name": "watermark-loop", "bench": "collapse", "seeds": 0, "n": 40, "generations": 2,
        "holdout": 10, "metrics": [],
        "family": {"name": "ngram", "order": 3, "watermark_gamma": 0.25, "watermark_delta": 4.0},
        "source": {"name": "shakespeare", "tokenizer": "word", "block_size": 64,
                   "plays": ["macbeth"]},
        "mixing": {"policy": "fresh", "fraction": 0.5}, "curate": "incoming",
        "curation": [{"name": "watermark", "gamma": 0.25}],
    }
    run = genloop.run(recipe, out=tmp_path / "miss0")
    share = metric(run, "synthetic_share")
    assert (share.value == 0).all()
    ledger = load_ledger(run.path)
    assert (ledger[ledger.in_pool].origin == "real").all()
    assert set(ledger[~ledger.in_pool].origin) == {"gen:0", "gen:1"}
    leaky = recipe | {"curation": [{"name": "watermark", "gamma": 0.25, "miss_rate": 0.5}]}
    later = metric(genloop.run(leaky, out=tmp_path / "miss05"), "synthetic_share")
    assert 0.1 < later[later.generation > 0].value.mean() < 0.5


def test_mitigation_figure_and_table_for_a_study_with_filters(tmp_path):
    from genloop.collapse.figures import mitigation_table

    recipe = BASE | {"seeds": "0..2", "generations": 3, "engine": "samples",
                     "metrics": ["tail_mass"],
                     "variants": {"plain": {}, "filtered": {"curation": ["drop_positive"]}}}
    run = genloop.run(recipe, out=tmp_path / "r")
    names = {p.name for p in run.plot().paths}
    assert "mitigations.png" in names
    table = mitigation_table(run.metrics).set_index("variant")
    assert list(table.index) == ["filtered", "plain"] and (table.seeds == 3).all()
    assert table.loc["plain", "synthetic_share"] == 1.0


def test_yaml_on_and_off_booleans_mean_on_and_off():
    # YAML 1.1 reads `ledger: off` as False
    assert resolve(BASE | {"ledger": False}).config.ledger == "off"
    assert resolve(BASE | {"ledger": True}).config.ledger == "on"
