"""VAE: scikit-learn's estimator checks, the latent samplers, parameter errors."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from genloop.core.errors import ConfigError  # noqa: E402
from genloop.families.vae import VAE  # noqa: E402


def tiny(**params):
    defaults = dict(latent_dim=2, hidden=8, epochs=1, device="cpu", random_state=0)
    return VAE(**(defaults | params))


def test_vae_passes_every_sklearn_estimator_check():
    # score_samples draws the same latent noise for every row, so scores are invariant
    # to row order and subsets (sample-order / subset invariance checks).
    results = check_estimator(tiny(), on_fail=None)
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert failed == []


def test_score_is_deterministic_and_a_lower_bound_shaped_like_rows():
    rows = np.random.default_rng(0).normal(size=(60, 4))
    model = tiny(epochs=3).fit(rows)
    first, second = model.score_samples(rows), model.score_samples(rows[::-1])[::-1]
    np.testing.assert_allclose(first, second, rtol=1e-5)
    assert model.encode(rows).shape == (60, 2)


def test_fitted_latent_sampler_uses_the_encoder_gaussian():
    """latent='fitted' decodes draws from N(latent_mean_, latent_cov_) with the caller's
    Generator, exactly (fails when 'fitted' draws from the prior)."""
    rows = np.random.default_rng(1).normal(loc=3.0, size=(80, 3))
    model = tiny(epochs=5, latent="fitted").fit(rows)
    model.latent_mean_ = model.latent_mean_ + 4.0  # make prior and fitted clearly differ
    rng = np.random.default_rng(0)  # the same stream sample() will use
    z = rng.multivariate_normal(model.latent_mean_, model.latent_cov_, size=4000)
    drawn = model.sample(4000, random_state=np.random.default_rng(0))
    import torch

    with torch.no_grad():
        decoded = model.net_["decoder"](torch.as_tensor(z, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(drawn, decoded * model.scale_ + model.mean_, rtol=1e-5, atol=1e-5)


def test_output_sample_adds_decoder_noise():
    rows = np.random.default_rng(0).normal(size=(40, 3))
    mean_model = tiny().fit(rows)
    noisy = tiny(output="sample").fit(rows)
    a = mean_model.sample(50, random_state=3)
    b = noisy.sample(50, random_state=3)
    assert not np.allclose(a, b) and a.shape == b.shape == (50, 3)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"latent": "posterior"}, "latent='posterior'"),
        ({"epochs": -1}, "epochs=-1"),
        ({"lr": 0}, "lr=0"),
        ({"device": "tpu"}, "device='tpu'"),
    ],
)
def test_parameter_errors(params, message):
    with pytest.raises(ConfigError, match=message):
        tiny(**params).fit(np.zeros((5, 2)))
