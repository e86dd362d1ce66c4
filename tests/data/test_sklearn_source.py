"""SklearnSource: bundled datasets only, finite draws, columns, standardization, labels."""

from __future__ import annotations

import numpy as np
import pytest

from genloop.core.errors import ConfigError
from genloop.data.sklearn_source import SklearnSource


def test_digits_defaults_are_all_1797_rows_of_64_pixels():
    source = SklearnSource()
    assert source.rows.shape == (1797, 64) and source.rows.dtype == np.float64
    assert source.target.shape == (1797,)
    assert source.kind == "vectors" and source.n_states is None
    assert source.mean is None and source.mixture is None  # real data: no known truth
    assert "1797 rows" in source.describe()


@pytest.mark.parametrize(
    ("dataset", "shape"),
    [
        ("wine", (178, 13)),
        ("iris", (150, 4)),
        ("breast_cancer", (569, 30)),
        ("diabetes", (442, 10)),
    ],
)
def test_other_bundled_datasets_load(dataset, shape):
    assert SklearnSource(dataset).rows.shape == shape


def test_columns_by_name_and_index_keep_the_requested_order():
    source = SklearnSource("iris", columns=["petal length (cm)", 0])
    assert source.feature_names == ["petal length (cm)", "sepal length (cm)"]
    full = SklearnSource("iris").rows
    np.testing.assert_array_equal(source.rows, full[:, [2, 0]])


def test_standardize_uses_full_dataset_statistics_and_spares_constant_pixels():
    source = SklearnSource("digits", standardize=True)
    np.testing.assert_allclose(source.rows.mean(axis=0), 0.0, atol=1e-12)
    raw_std = SklearnSource("digits").rows.std(axis=0)
    np.testing.assert_allclose(source.rows.std(axis=0)[raw_std > 0], 1.0, rtol=1e-12)
    assert raw_std[0] == 0  # pixel_0_0 is blank in every digit
    np.testing.assert_array_equal(source.rows[:, 0], 0.0)
    assert np.all(np.isfinite(source.rows))


def test_split_indices_are_disjoint_and_rows_match_them():
    source = SklearnSource("wine")
    original_idx, holdout_idx = source.split_indices(100, 78, np.random.default_rng(0))
    assert len(set(original_idx)) == 100 and len(set(holdout_idx)) == 78
    assert set(original_idx).isdisjoint(holdout_idx)
    original, holdout = source.split(100, 78, np.random.default_rng(0))
    np.testing.assert_array_equal(original, source.rows[original_idx])
    np.testing.assert_array_equal(holdout, source.rows[holdout_idx])


def test_draw_with_labels_matches_draw_and_target():
    source = SklearnSource("digits")
    rows, labels = source.draw_with_labels(25, np.random.default_rng(4))
    np.testing.assert_array_equal(rows, source.draw(25, np.random.default_rng(4)))
    indices = source.sample_indices(25, np.random.default_rng(4))
    np.testing.assert_array_equal(labels, source.target[indices])


def test_same_generator_state_gives_identical_draws():
    source = SklearnSource("iris")
    np.testing.assert_array_equal(
        source.draw(40, np.random.default_rng(9)), source.draw(40, np.random.default_rng(9))
    )


def test_too_many_rows_names_the_dataset_and_its_size():
    source = SklearnSource("digits")
    with pytest.raises(ConfigError, match="'digits' holds 1797 rows"):
        source.draw(1798, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="'digits' holds 1797 rows; n=1500 plus holdout=500"):
        source.split(1500, 500, np.random.default_rng(0))


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"dataset": "california_housing"}, "needs a download.*fetch_california_housing"),
        ({"dataset": "fetch_openml"}, "needs a download"),
        ({"dataset": "mnist"}, "source.dataset='mnist' is unknown.*digits"),
        ({"dataset": 3}, "source.dataset"),
        ({"columns": ["nope"]}, "no column 'nope'"),
        ({"columns": [64]}, "index 64 is out of range"),
        ({"standardize": "yes"}, "source.standardize"),
    ],
)
def test_bad_settings_are_config_errors(params, fragment):
    with pytest.raises(ConfigError, match=fragment):
        SklearnSource(**params)
