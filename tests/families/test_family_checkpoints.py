"""Checkpoints: to_arrays -> safetensors -> from_arrays restores every family exactly."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import load, save

from genloop.core.errors import DataError
from genloop.families.categorical import Categorical
from genloop.families.gaussian import Gaussian
from genloop.families.gmm import GaussianMixture
from genloop.families.kde import KernelDensity

_VECTORS = np.random.default_rng(0).standard_normal((120, 3)) + np.repeat([[0], [6]], 60, axis=0)
_STATES = np.random.default_rng(1).integers(0, 5, size=(80, 1))

CASES = [
    (Categorical(n_states=7, smoothing=0.5), _STATES),
    (Categorical(), _STATES),
    (Gaussian(), _VECTORS),
    (Gaussian(estimator="unbiased", covariance_type="spherical"), _VECTORS),
    (GaussianMixture(n_components=2, random_state=0), _VECTORS),
    (GaussianMixture(n_components=2, covariance_type="tied", random_state=0), _VECTORS),
    (GaussianMixture(n_components=2, covariance_type="diag", random_state=0), _VECTORS),
    (GaussianMixture(n_components=2, covariance_type="spherical", random_state=0), _VECTORS),
    (KernelDensity(bandwidth="silverman"), _VECTORS),
    (KernelDensity(bandwidth=0.4, kernel="tophat"), _VECTORS),
]


def _case_id(value):
    return "X" if isinstance(value, np.ndarray) else repr(value)


@pytest.mark.parametrize(("model", "data"), CASES, ids=_case_id)
def test_round_trip_through_safetensors_is_exact(model, data):
    model.fit(data)
    arrays = model.to_arrays()
    assert all(array.dtype in (np.float64, np.int64) for array in arrays.values())
    restored = type(model).from_arrays(load(save(arrays)), **model.get_params())
    for name in (name for name in arrays if name.endswith("_")):  # the rest are params
        np.testing.assert_array_equal(getattr(restored, name), getattr(model, name))
    assert restored.n_features_in_ == model.n_features_in_
    np.testing.assert_array_equal(restored.score_samples(data), model.score_samples(data))
    np.testing.assert_array_equal(
        restored.sample(50, np.random.default_rng(5)), model.sample(50, np.random.default_rng(5))
    )


@pytest.mark.parametrize(("model", "data"), CASES[::2], ids=_case_id)
def test_missing_checkpoint_array_is_a_data_error_naming_it(model, data):
    arrays = model.fit(data).to_arrays()
    name = max(arrays, key=lambda key: arrays[key].size)  # a required array, not a diagnostic
    del arrays[name]
    with pytest.raises(DataError, match=repr(name)):
        type(model).from_arrays(arrays, **model.get_params())


@pytest.mark.parametrize(
    ("model", "key", "other"),
    [
        (GaussianMixture(2, covariance_type="diag", random_state=0), "covariance_type", "full"),
        (KernelDensity(bandwidth=0.4, kernel="tophat"), "kernel", "gaussian"),
    ],
    ids=["gmm", "kde"],
)
def test_layout_parameters_travel_with_the_checkpoint(model, key, other):
    arrays = model.fit(_VECTORS).to_arrays()
    # Without params the checkpoint alone restores the right layout / kernel...
    restored = type(model).from_arrays(arrays)
    assert restored.get_params()[key] == model.get_params()[key]
    np.testing.assert_array_equal(restored.score_samples(_VECTORS), model.score_samples(_VECTORS))
    # ...and a conflicting parameter is an error, not silently misread arrays.
    with pytest.raises(DataError, match=f"fitted with {key}="):
        type(model).from_arrays(arrays, **{key: other})


def test_mixture_checkpoint_without_its_covariance_type_is_checked_against_params():
    arrays = GaussianMixture(2, covariance_type="diag", random_state=0).fit(_VECTORS).to_arrays()
    del arrays["covariance_type"]
    with pytest.raises(DataError, match="expected .* for covariance_type='full'"):
        GaussianMixture.from_arrays(arrays, covariance_type="full")
