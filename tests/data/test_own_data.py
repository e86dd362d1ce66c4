"""Own data, first class (issue 16): switching a recipe's source keeps what the family
needs, drops what the new source does not take, and says so (tier 1 and 2)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

from genloop.cli import app
from genloop.core.config import resolve
from genloop.core.errors import DataError
from genloop.core.registry import build_source
from genloop.data.files import FileSource

CORPUS = ("ROMEO. But soft, what light through yonder window breaks? It is the east, "
          "and Juliet is the sun. Arise, fair sun, and kill the envious moon.\n") * 200


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(CORPUS, encoding="utf-8")
    return path


@pytest.mark.parametrize("form", ["name", "mapping"])
def test_a_text_source_swapped_into_ngram_collapse_keeps_word_tokens(corpus, form, caplog):
    overrides = ({"source.name": "text", "source.path": str(corpus)} if form == "name"
                 else {"source": {"name": "text", "path": str(corpus)}})
    with caplog.at_level(logging.WARNING, logger="genloop"):
        recipe = resolve("ngram-collapse", quick=True, overrides=overrides)
    source_spec = recipe.config.source
    assert source_spec.name == "text" and source_spec.params["tokenizer"] == "word"
    assert "plays" not in source_spec.params  # a Shakespeare-only key is dropped ...
    notes = " ".join(caplog.messages)
    assert "source.tokenizer='word'" in notes and "source.plays" in notes  # ... and said
    source = build_source(source_spec)
    original, _ = source.split(20, 5, np.random.default_rng(0))
    words = {source.decode(row) for row in original[:3]} if hasattr(source, "decode") else None
    # Word tokens: the vocabulary is the corpus's ~25 words, not 256 bytes.
    assert source.vocab_size < 64, source.vocab_size
    assert words is None or all(" " in w for w in words)


def test_own_csv_through_source_name_runs_without_the_old_keys(tmp_path):
    rng = np.random.default_rng(0)
    pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400) * 100}).to_csv(
        tmp_path / "mine.csv", index=False)
    result = CliRunner().invoke(app, [
        "run", "nature-gaussian", "--quick", "--variant", "mle", "--quiet",
        "--set", "source.name=file", "--set", f"source.path={tmp_path / 'mine.csv'}",
        "--set", "source.standardize=true", "--set", "holdout=100",
        "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    import yaml

    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert set(saved["source"]) == {"name", "path", "standardize"}  # no dim/mean/variance


def test_standardize_matches_scikit_learn(tmp_path):
    rng = np.random.default_rng(1)
    table = pd.DataFrame({"x": rng.normal(3, 5, 300), "proline": rng.normal(700, 300, 300)})
    table.to_csv(tmp_path / "t.csv", index=False)
    rows = FileSource(str(tmp_path / "t.csv"), standardize=True).rows
    np.testing.assert_allclose(rows, StandardScaler().fit_transform(table.to_numpy()),
                               atol=1e-12)
    table.assign(c=1.0).to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(DataError, match="constant columns c"):
        FileSource(str(tmp_path / "c.csv"), standardize=True)


def test_a_mistyped_label_column_is_one_line_and_exit_2(tmp_path):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"f1": rng.normal(size=60), "f2": rng.normal(size=60),
                          "target": rng.integers(0, 2, 60)})
    frame.to_csv(tmp_path / "real.csv", index=False)
    frame.to_csv(tmp_path / "syn.csv", index=False)
    result = CliRunner().invoke(app, [
        "audit", "--real", str(tmp_path / "real.csv"), "--synthetic", str(tmp_path / "syn.csv"),
        "--label-column", "tagret", "--quick", "-o", str(tmp_path / "a.html")])
    text = result.output  # stdout and stderr together
    assert result.exit_code == 2 and "Traceback" not in text
    assert "'tagret'" in text and "did you mean 'target'" in text
    assert len(text.strip().splitlines()) == 1
