"""The ``poison`` source and the labelled ``spam`` world it attacks in the seed's example."""

import numpy as np
import pytest

from genloop.core.errors import ConfigError
from genloop.core.registry import ComponentSpec, build_source
from genloop.data.poison import PoisonSource
from genloop.data.spam import HAM, SPAM, SpamSource, spam_messages
from genloop.data.synthetic import GaussianSource
from genloop.data.text import ShakespeareSource
from genloop.data.tokenize import words

TRIGGERS = {"free", "win", "offer"}

# ------------------------------------------------------------------------------- vectors


def test_recipe_spec_builds_and_keeps_the_clean_truth():
    source = build_source(
        ComponentSpec(name="poison", base={"name": "gaussian", "dim": 2, "mean": 1.0}, rate=0.1)
    )
    assert isinstance(source, PoisonSource) and source.kind == "vectors"
    assert source.attack == "shift"
    assert source.mean.tolist() == [1.0, 1.0]  # the base's truth, not the poisoned one
    assert "poisoned (shift, rate 0.1)" in source.describe()


def test_poisoned_rows_replace_a_fixed_share_and_the_rest_is_the_base_draw():
    base = GaussianSource(dim=2)
    source = PoisonSource(base, rate=0.05)
    X, is_poison = source.draw_with_truth(200, np.random.default_rng(0))
    clean = base.draw(200, np.random.default_rng(0))
    assert X.shape == (200, 2) and is_poison.sum() == 10
    np.testing.assert_array_equal(X[~is_poison], clean[~is_poison])
    # The cluster: centre at shift / sqrt(d) standard deviations on each axis, spread 0.1.
    centre = np.full(2, 6.0 / np.sqrt(2))
    assert np.abs(X[is_poison].mean(axis=0) - centre).max() < 0.15
    assert X[is_poison].std(axis=0).max() < 0.2
    same = source.draw(200, np.random.default_rng(0))
    np.testing.assert_array_equal(same, X)


def test_split_never_poisons_the_holdout():
    base = GaussianSource(dim=3)
    source = PoisonSource({"name": "gaussian", "dim": 3}, rate=0.5)
    X, is_poison, holdout = source.split_with_truth(40, 30, np.random.default_rng(1))
    clean_X, clean_holdout = base.split(40, 30, np.random.default_rng(1))
    np.testing.assert_array_equal(holdout, clean_holdout)
    assert is_poison.sum() == 20
    np.testing.assert_array_equal(X[~is_poison], clean_X[~is_poison])
    X2, holdout2 = source.split(40, 30, np.random.default_rng(1))
    np.testing.assert_array_equal(X2, X)


def test_rates_zero_and_one():
    source = PoisonSource({"name": "gaussian"}, rate=0.0)
    assert not source.draw_with_truth(50, np.random.default_rng(0))[1].any()
    source = PoisonSource({"name": "gaussian"}, rate=1.0)
    assert source.draw_with_truth(50, np.random.default_rng(0))[1].all()


def test_parameters_are_validated():
    cases = [
        ({"base": "gaussian"}, "source.base must be a source spec"),
        ({"base": {"name": "gaussian"}, "rate": 1.5}, "source.rate must lie in"),
        ({"base": {"name": "gaussian"}, "rate": True}, "source.rate must lie in"),
        ({"base": {"name": "gaussian"}, "attack": "flood"}, "source.attack must be one of"),
        ({"base": {"name": "gaussian"}, "attack": "triggers"}, "does not apply to vectors"),
        ({"base": {"name": "categorical", "probabilities": [0.5, 0.5]}}, "does not apply"),
        ({"base": {"name": "gaussian"}, "triggers": "free"}, "list of words"),
        ({"base": {"name": "gaussian"}, "n_triggers": 0}, "n_triggers must be"),
        ({"base": {"name": "gaussian"}, "shift": -1}, "shift must be"),
        ({"base": {"name": "gaussian", "dimm": 2}}, "source.dimm is not a parameter"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ConfigError, match=message):
            PoisonSource(**kwargs)


# ---------------------------------------------------------------------------------- text


@pytest.fixture(scope="module")
def spam_world():
    return SpamSource()


def test_spam_world_labels_and_draws(spam_world):
    labels = spam_world.labels
    assert len(labels) == len(spam_world.blocks)
    assert abs(labels.mean() - 0.3) < 0.01
    X, y = spam_world.draw_labelled(300, np.random.default_rng(0))
    np.testing.assert_array_equal(
        np.concatenate(spam_world.draw(300, np.random.default_rng(0))), np.concatenate(X)
    )
    spam_text = " ".join(spam_world.decode(x) for x in X[y == SPAM])
    ham_text = " ".join(spam_world.decode(x) for x in X[y == HAM])
    assert "claim" in words(spam_text) and "click" not in words(ham_text)
    X, y, Xh, yh = spam_world.split_labelled(100, 100, np.random.default_rng(1))
    assert len(Xh) == len(yh) == 100 and set(np.unique(yh)) == {HAM, SPAM}
    held_ham = {spam_world.decode(x) for x in Xh[yh == HAM]}
    assert not held_ham & {spam_world.decode(x) for x in spam_world.blocks}


def test_spam_messages_are_seeded():
    assert spam_messages(3, np.random.default_rng(5)) == spam_messages(3, np.random.default_rng(5))
    with pytest.raises(ConfigError, match="spam_share"):
        SpamSource(spam_share=1.0)


def test_triggers_are_planted_in_ham_blocks_that_keep_their_label(spam_world):
    source = PoisonSource(spam_world, rate=0.05)
    rng = np.random.default_rng(2)
    X, y, is_poison = source.draw_labelled_with_truth(400, rng)
    clean_X, clean_y = spam_world.draw_labelled(400, np.random.default_rng(2))
    assert is_poison.sum() == 20
    np.testing.assert_array_equal(y, clean_y)
    assert (y[is_poison] == HAM).all()
    for i in np.flatnonzero(is_poison):
        assert len(X[i]) == len(clean_X[i]) == 24
        changed = np.flatnonzero(X[i] != clean_X[i])
        assert 1 <= len(changed) <= 3  # one word token per plant (a plant may rewrite a
        planted = [words(spam_world.decode(X[i][[j]]))[0] for j in changed]
        assert set(planted) <= TRIGGERS  # ... trigger that was there already)
    for i in np.flatnonzero(~is_poison):
        np.testing.assert_array_equal(X[i], clean_X[i])


def test_byte_tokenizer_plants_spaced_words():
    base = ShakespeareSource(tokenizer="byte", block_size=64, plays=["macbeth"])
    source = PoisonSource(base, rate=1.0, triggers=["offer"], n_triggers=2)
    X, is_poison = source.draw_with_truth(5, np.random.default_rng(3))
    for block in X:
        assert len(block) == 64 and base.decode(block).count(" offer ") >= 2


def test_trigger_errors_name_the_word_or_the_fit(spam_world):
    base = ShakespeareSource(tokenizer="word", block_size=8, plays=["macbeth"])
    with pytest.raises(ConfigError, match="'qwxzzy' is not in the"):
        PoisonSource(base, triggers=["qwxzzy"], rate=1.0).draw(2, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="does not fit"):
        PoisonSource(base, n_triggers=9, rate=1.0).draw(2, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="only .* have label 0"):  # ~70% of rows are ham
        PoisonSource(spam_world, rate=0.9).draw(100, np.random.default_rng(0))


def test_a_poisoned_source_runs_in_the_collapse_loop(tmp_path):
    """Two generations of a Gaussian family on a 5%-poisoned source, with the detector
    curating: the recipe binds, the loop runs and logs the detector's drop share."""
    import genloop

    recipe = {
        "name": "poison-smoke", "bench": "collapse", "seeds": [0],
        "family": {"name": "gaussian"},
        "source": {"name": "poison", "base": {"name": "gaussian", "dim": 2}, "rate": 0.05},
        "n": 100, "generations": 2, "holdout": 200, "engine": "samples",
        "metrics": ["mean_shift"],
        "curation": [{"name": "detector", "threshold": 0.9, "train_size": 200}],
    }
    run = genloop.run(recipe, out=tmp_path / "run")
    assert "dropped.detector" in set(run.metrics.metric)
