"""Detection power of the green-list watermark, each generation.

:class:`WatermarkPower` draws fresh samples from the generation's model (continuations
of held-out real prompts for models with ``generate``, free samples otherwise), cuts
them to several lengths, and reports the share the z-test detects at each length, next
to the share of held-out *real* blocks it flags (the false-positive rate).
"""

from __future__ import annotations

import numbers

import numpy as np

from genloop.core.errors import ConfigError
from genloop.curation.watermark import (
    DEFAULT_KEY,
    DEFAULT_THRESHOLD,
    check_watermark,
    green_counts,
    z_from_counts,
)
from genloop.metrics.base import Metric, MetricContext


class WatermarkPower(Metric):
    """Watermark detection rate vs sample length, and the false-positive rate on real text.

    :meth:`measure` returns ``watermark_detect_len{L}`` for each length ``L``,
    ``watermark_detect`` (whole samples), ``watermark_z_mean`` (mean z of whole samples),
    and, when there are held-out blocks, ``watermark_false_positive`` (share of held-out
    real blocks detected) and ``watermark_z_real_mean``.

    Parameters
    ----------
    gamma : float in (0, 1), optional
        Green share to test with; default the model's ``watermark_gamma``, or 0.25 for
        a model without a watermark (the rates then show the test on unwatermarked text).
    key : int, optional
        Hash key; default the model's ``watermark_key`` (else 15485863).
    threshold : float, default 4.0
        A sequence is detected when ``z ≥ threshold``.
    lengths : list of int, default [8, 16, 32, 64]
        Sample prefixes tested (``L`` tokens, ``L − 1`` of them scored); a length longer
        than every sample is left out of the output.
    n_samples : int, default 100
        Fresh samples per generation (held-out prompts are used in order, at most as
        many as there are).
    ignore_repeated : bool, default False
        Score each distinct bigram of a sequence once.
    """

    name = "watermark_power"
    kinds = ("text",)

    def __init__(
        self,
        gamma: float | None = None,
        key: int | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        lengths=(8, 16, 32, 64),
        n_samples: int = 100,
        ignore_repeated: bool = False,
    ):
        check_watermark(
            "watermark_power",
            0.25 if gamma is None else gamma,
            key=DEFAULT_KEY if key is None else key,
            threshold=threshold,
        )
        if isinstance(lengths, (str, bytes)) or not all(
            isinstance(L, numbers.Integral) and not isinstance(L, bool) and L >= 2 for L in lengths
        ):
            raise ConfigError(
                f"watermark_power: lengths={lengths!r} must be a list of integers ≥ 2"
            )
        if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
            raise ConfigError(f"watermark_power: n_samples={n_samples!r} must be an integer ≥ 1")
        self.gamma, self.key, self.threshold = gamma, key, float(threshold)
        self.lengths = sorted(int(L) for L in lengths)
        self.n_samples, self.ignore_repeated = n_samples, bool(ignore_repeated)

    def _settings(self, model) -> tuple[float, int]:
        gamma = self.gamma if self.gamma is not None else getattr(model, "watermark_gamma", None)
        key = self.key if self.key is not None else getattr(model, "watermark_key", DEFAULT_KEY)
        return float(0.25 if gamma is None else gamma), int(key)

    def _samples(self, context: MetricContext):
        model = context.model
        if hasattr(model, "generate") and len(context.holdout):
            prompts = context.holdout[: self.n_samples]
            return model.generate(prompts, random_state=context.rng)
        return model.sample(self.n_samples, random_state=context.rng)

    def _z(self, rows, gamma, key) -> np.ndarray:
        green, scored = green_counts(rows, None, gamma, key, self.ignore_repeated)
        return z_from_counts(green, scored, gamma)

    def measure(self, context: MetricContext) -> dict[str, float]:
        gamma, key = self._settings(context.model)
        samples = [np.asarray(s).reshape(-1) for s in self._samples(context)]
        values = {}
        for L in self.lengths:
            prefixes = [s[:L] for s in samples if len(s) >= L]
            if prefixes:
                z = self._z(prefixes, gamma, key)
                values[f"watermark_detect_len{L}"] = float(np.mean(z >= self.threshold))
        z = self._z(samples, gamma, key)
        values["watermark_detect"] = float(np.mean(np.nan_to_num(z, nan=-np.inf) >= self.threshold))
        values["watermark_z_mean"] = float(np.nanmean(z)) if np.isfinite(z).any() else np.nan
        if len(context.holdout):
            real = self._z(list(context.holdout), gamma, key)
            values["watermark_false_positive"] = float(
                np.mean(np.nan_to_num(real, nan=-np.inf) >= self.threshold)
            )
            finite = np.isfinite(real).any()
            values["watermark_z_real_mean"] = float(np.nanmean(real)) if finite else np.nan
        return values
