"""WatermarkFilter: exact verdicts and reasons on hand-made all-green / all-red rows, the
short-row rule, the imperfection knobs, and watermarked model samples vs real rows."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from genloop.core.errors import ConfigError, DataError
from genloop.core.registry import resolve
from genloop.curation import watermark as wm
from genloop.curation.filters.base import Batch, CurationContext, Pipeline
from genloop.curation.filters.watermark import WatermarkFilter
from genloop.data.tokenize import as_token_blocks
from genloop.families.ngram import NGram

KEY = wm.DEFAULT_KEY


def coloured(length, gamma=0.25, green=True, key=KEY, vocab=50, start=0):
    """Every token after the first green (or red) after its predecessor."""
    sequence = [start]
    for _ in range(length - 1):
        mask = wm.green_mask([sequence[-1]], vocab, gamma, key)[0]
        sequence.append(int(np.flatnonzero(mask == green)[0]))
    return np.array(sequence, dtype=np.int64)


def batch(rows, origin=None, seed=0):
    X = as_token_blocks(rows)
    origin = np.zeros(len(X), dtype=int) if origin is None else np.asarray(origin)
    ids = np.array([f"s{i}" for i in range(len(X))])
    return Batch(X=X, origin=origin, ids=ids, generation=1, rng=np.random.default_rng(seed))


def text_context(vocab_size=50, kind="text"):
    source = SimpleNamespace(kind=kind, vocab_size=vocab_size)
    return CurationContext(
        original=as_token_blocks([np.arange(4)]),
        holdout=None,
        source=source,
        initial_model=None,
        rng=np.random.default_rng(0),
    )


def test_green_rows_are_dropped_with_their_z_red_and_short_rows_kept():
    rows = [coloured(64), coloured(64, green=False), coloured(15), coloured(16)]
    f = WatermarkFilter()
    f.prepare(text_context())
    mask, reasons = f.keep(batch(rows))
    # all green over T scored tokens: z = sqrt(T (1 − γ) / γ) = sqrt(3 T)
    assert mask.tolist() == [False, True, True, False]
    assert reasons.tolist() == [
        f"watermark z={np.sqrt(3 * 63):.1f}",
        "",
        "",
        f"watermark z={np.sqrt(3 * 15):.1f}",
    ]
    assert reasons[0] == "watermark z=13.7"
    assert np.isnan(f.last_z_[2])  # under min_tokens: no z is acted on


def test_threshold_gamma_key_and_ignore_repeated_change_the_verdict():
    row = coloured(30, gamma=0.5)  # z = sqrt(29) ≈ 5.4 at γ = 0.5
    assert not WatermarkFilter(gamma=0.5).keep(batch([row]))[0][0]
    assert WatermarkFilter(gamma=0.5, threshold=6.0).keep(batch([row]))[0][0]
    assert WatermarkFilter(gamma=0.5, key=KEY + 1).keep(batch([row]))[0][0]
    # a pair whose two bigrams are both green: 31 green of 31 (z ≈ 5.6) counted with
    # repeats, 2 of 2 (z ≈ 1.4) counted once each
    a, b = next(
        (a, b)
        for a in range(50)
        for b in range(a + 1, 50)
        if wm.is_green([a, b], [b, a], 0.5, KEY).all()
    )
    alternating = np.array([a, b] * 16)
    assert not WatermarkFilter(gamma=0.5).keep(batch([alternating]))[0][0]
    assert WatermarkFilter(gamma=0.5, ignore_repeated=True).keep(batch([alternating]))[0][0]


def test_miss_and_false_alarm_knobs():
    rows = [coloured(64)] * 200
    mask, reasons = WatermarkFilter(miss_rate=1.0).keep(batch(rows))
    assert mask.all() and set(reasons) == {""}
    mask, _ = WatermarkFilter(miss_rate=0.5).keep(batch(rows, seed=3))
    assert 60 < mask.sum() < 140  # seed 3, binomial(200, 0.5)
    real = [coloured(64, green=False)] * 10
    mask, reasons = WatermarkFilter(false_alarm_rate=1.0).keep(batch(real))
    assert not mask.any() and set(reasons) == {"false alarm"}


def test_two_dimensional_int_pools_and_registry_name():
    assert resolve("filter", "watermark") is WatermarkFilter
    assert WatermarkFilter.name == "watermark"
    rows = np.stack([coloured(20), coloured(20, green=False)])
    b = Batch(X=rows, origin=np.zeros(2, int), ids=np.array(["a", "b"]), generation=1)
    assert WatermarkFilter().keep(b)[0].tolist() == [False, True]


def test_errors_are_one_line():
    for params, match in [
        ({"gamma": 1.0}, "gamma=1.0"),
        ({"threshold": -1}, "threshold=-1"),
        ({"min_tokens": 1}, "min_tokens=1"),
        ({"miss_rate": 2.0}, "miss_rate"),
    ]:
        with pytest.raises(ConfigError, match=match) as error:
            WatermarkFilter(**params)
        assert "\n" not in str(error.value)
    with pytest.raises(ConfigError, match="text"):
        WatermarkFilter().prepare(text_context(kind="vectors"))
    f = WatermarkFilter()
    f.prepare(text_context(vocab_size=10))
    with pytest.raises(DataError, match="vocab_size 10"):
        f.keep(batch([np.arange(20)]))
    vectors = Batch(
        X=np.zeros((2, 3)), origin=np.zeros(2, int), ids=np.array(["a", "b"]), generation=1
    )
    with pytest.raises(DataError, match="non-integer"):
        WatermarkFilter().keep(vectors)


def test_with_miss_rate_zero_no_watermarked_row_reaches_the_pool(markov_blocks):
    """Seeds 0 and 1: a bigram over 60 tokens with γ = 0.25, δ = 2 (the defaults) writes
    300 rows of 64 tokens; mixed with 300 real rows of its Markov chain, the filter
    (miss_rate 0) drops every generated row and keeps every real one, so the kept pool's
    synthetic share is exactly 0. Measured: generated z ≥ 5.9, real z ≤ 3.0. Verified to
    fail when the sampler ignores the watermark (δ = 0: every generated row kept)."""
    real = markov_blocks(600, 64, 60)
    model = NGram(order=2, vocab_size=60, watermark_gamma=0.25)
    synthetic = model.fit(real[:300]).sample(300, random_state=1)
    rows = [*real[300:], *synthetic]
    origin = np.r_[np.full(300, -1), np.full(300, 1)]
    kept, verdicts = Pipeline([WatermarkFilter()]).apply(batch(rows, origin))
    assert kept[:300].all() and not kept[300:].any()
    assert np.mean(origin[kept] >= 0) == 0.0
    assert all(r.startswith("watermark z=") for r in verdicts["watermark"][300:])


def test_in_the_loop_the_filter_keeps_the_synthetic_share_at_zero(tmp_path):
    """Seed 0, the loop with ``curation: [{name: watermark}]``: a word unigram of Macbeth
    (high entropy: min z 4.7 over 500 samples at the defaults γ = 0.25, δ = 2) writes
    half of each incoming batch, fresh real blocks the other half; the filter drops
    every model block, so every pool's synthetic share is 0 and the ledger's pool rows
    are all real. Verified to fail with δ = 0 (synthetic share 0.5)."""
    import genloop
    from genloop.provenance.ledger import load_ledger

    recipe = {
        "name": "watermark-loop",
        "bench": "collapse",
        "seeds": 0,
        "n": 40,
        "generations": 3,
        "holdout": 10,
        "metrics": [],
        "family": {"name": "ngram", "order": 1, "watermark_gamma": 0.25},
        "source": {"name": "shakespeare", "tokenizer": "word", "plays": ["macbeth"]},
        "mixing": {"policy": "fresh", "fraction": 0.5},
        "curate": "incoming",
        "curation": [{"name": "watermark"}],
    }
    run = genloop.run(recipe, out=tmp_path / "run")
    share = run.metrics[run.metrics.metric == "synthetic_share"]
    assert len(share) == 4 and (share.value == 0).all()
    ledger = load_ledger(run.path)
    assert (ledger[ledger.in_pool].origin == "real").all()
    dropped = ledger[~ledger.in_pool]
    assert set(dropped.origin) == {"gen:0", "gen:1", "gen:2"}
    assert dropped["filter.watermark"].str.startswith("watermark z=").all()
