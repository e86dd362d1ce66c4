"""Metrics for image models (the VAE on real digits): spread, classes, Fréchet distance.

Each generation's model is judged on ``n`` fresh samples drawn with the metrics stream
(shared by the metrics of one generation through ``context.extra``):

* ``latent_spread``: the samples encoded by *generation 0's* encoder; the mean over
  latent dimensions of the standard deviation of the encoder means (the Nature paper's
  measure of lost variety), and its ratio to the original data's spread;
* ``digit_classes``: a classifier trained once on every real digit (cached per process)
  labels the samples: share of each class, classes covered, class entropy, and the
  share of the source's rare class;
* ``frechet_distance``: Fréchet distance between Gaussians fitted to the classifier's
  hidden-layer features of the samples and of real held-out digits (an FID for 8×8).
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
from scipy import linalg

from genloop.core.errors import ConfigError
from genloop.metrics.base import Metric, MetricContext

N_CLASSES = 10


def model_samples(context: MetricContext, n: int | None = None) -> np.ndarray:
    """The generation's model samples, drawn once and shared by this generation's metrics."""
    key = "_image_samples"
    if key not in context.extra:
        count = n or len(context.original)
        context.extra[key] = np.asarray(context.model.sample(count, random_state=context.rng))
    return context.extra[key]


@lru_cache(maxsize=1)
def digit_classifier():
    """An MLP (64 ReLU units) trained on all 1,797 real digits in [0, 1]; seed 0."""
    from sklearn.neural_network import MLPClassifier

    from genloop.data.digits import real_digits

    rows, labels = real_digits()
    return MLPClassifier(hidden_layer_sizes=(64,), max_iter=400, random_state=0).fit(rows, labels)


def features(rows: np.ndarray) -> np.ndarray:
    """Hidden-layer activations of the digit classifier, shape ``(n, 64)``."""
    classifier = digit_classifier()
    return np.maximum(rows @ classifier.coefs_[0] + classifier.intercepts_[0], 0.0)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to rows of ``a`` and ``b`` (n, d)."""
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    # A small ridge: dead ReLU features are constant, and a singular product has no
    # reliable square root.
    ridge = 1e-6 * np.eye(a.shape[1])
    cov_a, cov_b = np.cov(a, rowvar=False) + ridge, np.cov(b, rowvar=False) + ridge
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(cov_a @ cov_b)
    root = root.real if np.iscomplexobj(root) else root
    value = np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * root)
    return float(max(value, 0.0))


def _check_digit_rows(rows: np.ndarray, name: str) -> None:
    if rows.ndim != 2 or rows.shape[1] != 64:
        raise ConfigError(
            f"{name} judges 8x8 digits (64 features); the model gives rows of shape {rows.shape}"
        )


class LatentSpread(Metric):
    """Spread of the samples under generation 0's encoder (needs a model with ``encode``)."""

    name = "latent_spread"
    kinds = ("vectors",)

    def measure(self, context: MetricContext) -> dict[str, float]:
        encoder = context.initial_model
        if not hasattr(encoder, "encode"):
            raise ConfigError("latent_spread needs a family with an encoder (e.g. vae)")
        spread = float(encoder.encode(model_samples(context)).std(axis=0).mean())
        reference = float(encoder.encode(context.original).std(axis=0).mean())
        return {"latent_spread": spread, "latent_spread_ratio": spread / reference}


class DigitClasses(Metric):
    """Class shares of the samples by the real-digit classifier, coverage, rare class."""

    name = "digit_classes"
    kinds = ("vectors",)

    def __init__(self, min_share: float = 0.02, rare_class: int | None = None):
        if not 0.0 <= min_share < 1.0:
            raise ConfigError(f"digit_classes.min_share={min_share!r} must lie in [0, 1)")
        self.min_share, self.rare_class = float(min_share), rare_class

    def measure(self, context: MetricContext) -> dict[str, float]:
        rows = model_samples(context)
        _check_digit_rows(rows, self.name)
        predicted = digit_classifier().predict(np.clip(rows, 0.0, 1.0))
        shares = np.bincount(predicted, minlength=N_CLASSES) / max(1, len(predicted))
        values = {f"class_share_{k}": float(s) for k, s in enumerate(shares)}
        positive = shares[shares > 0]
        values["classes_covered"] = float(np.sum(shares >= self.min_share))
        values["class_entropy"] = float(-(positive * np.log(positive)).sum())
        rare = (
            self.rare_class
            if self.rare_class is not None
            else getattr(context.source, "rare_class", None)
        )
        if rare is not None:
            values["rare_class_share"] = float(shares[int(rare)])
        return values


class FrechetDistance(Metric):
    """Fréchet distance in the digit classifier's feature space, samples vs real digits."""

    name = "frechet_distance"
    kinds = ("vectors",)

    def measure(self, context: MetricContext) -> dict[str, float]:
        rows = model_samples(context)
        _check_digit_rows(rows, self.name)
        real = context.holdout if len(context.holdout) > 64 else context.original
        return {
            "frechet_distance": frechet_distance(features(np.clip(rows, 0.0, 1.0)), features(real))
        }
