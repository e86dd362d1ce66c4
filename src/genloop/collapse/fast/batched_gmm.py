"""The Gaussian-mixture fast path: batched EM, batched sampling and mixing of all seeds.

Unlike the exact paths this one works on real points: every seed's pool is a row of a
``(S, P, d)`` array (all seeds' pools have the same size at every generation, whatever
the policy), each generation fits all seeds with :class:`BatchedGaussianMixture`, draws
the new samples with one call, and mixes the next pools with the policy's rules
(:meth:`genloop.collapse.policy.MixingPolicy.next_rows`, uniform subsets without
replacement).

It equals the per-seed sklearn loop in distribution: EM from a given initialisation
matches sklearn to rounding, and the k-means initialisation is the same algorithm
(greedy k-means++ then Lloyd), drawn from a different stream. ``init_params=
"sklearn-kmeans"`` makes the initialisation draw-for-draw sklearn's, at sklearn's cost.
"""

from __future__ import annotations

import numpy as np

from genloop.collapse.fast.batched_em import BatchedGaussianMixture
from genloop.collapse.fast.mixture_math import sample_mixtures
from genloop.collapse.fast.simulator import Batch, Simulator
from genloop.collapse.fast.streams import batch_generator
from genloop.core.errors import GenloopError

BATCHED_COVARIANCE_TYPES = ("full", "diag", "spherical")
# Prefix of this path's random streams: ":fit", ":sample" and ":mix" per generation.
_PURPOSE = "batched-gmm"


class MixturePath(Simulator):
    """The Gaussian-mixture family's fast path: batched EM on every seed's pool rows.

    For ``full``, ``diag`` and ``spherical`` covariances with ``n_init: 1``. Generation 0
    is fitted per seed with the family itself (as the sample loop fits it); generation g
    samples ``n_new`` rows from every seed's mixture g-1 (stream ``(key, g-1, ":sample")``),
    mixes the next pools with the policy (``(key, g-1, ":mix")``, which also draws the
    fresh real rows) and refits all seeds at once (``(key, g, ":fit")``).
    """

    family = "genloop.families.gmm:GaussianMixture"
    engine = "batched"
    form = "mixture"

    @classmethod
    def unsupported(cls, template, source) -> str:
        if template.covariance_type not in BATCHED_COVARIANCE_TYPES:
            return (f"gmm covariance_type={template.covariance_type!r} "
                    f"(batched: {', '.join(BATCHED_COVARIANCE_TYPES)})")
        if template.n_init != 1:
            return f"gmm n_init={template.n_init} (batched: 1)"
        return ""

    @classmethod
    def truth(cls, source):
        if source.mixture is not None:
            return source.mixture
        if source.mean is not None and source.covariance is not None:
            d = len(np.atleast_1d(source.mean))
            return (np.ones(1), np.reshape(source.mean, (1, d)),
                    np.reshape(source.covariance, (1, d, d)))
        return None

    def __init__(self, batch: Batch):
        from genloop.collapse.loop import fit_model
        from genloop.provenance.pool import Pool

        template = self.template = batch.template
        self.batch, self.key = batch, batch.key
        fits = [
            fit_model(template, Pool.real(batch.original[i]), int(seed), 0)
            for i, seed in enumerate(batch.seeds)
        ]
        self.first = fits[0]
        self.weights = np.stack([m.weights_ for m in fits])
        self.means = np.stack([m.means_ for m in fits])
        self.covariances = np.stack([m.covariances_ for m in fits])
        self.pool = batch.original
        self.generation = 0
        self.model = BatchedGaussianMixture(
            template.n_components,
            covariance_type=template.covariance_type,
            tol=template.tol,
            reg_covar=template.reg_covar,
            max_iter=template.max_iter,
            init_params=template.init_params,
        )

    def step(self, generation: int) -> None:
        batch, policy, previous = self.batch, self.batch.policy, generation - 1
        new, _ = sample_mixtures(
            batch_generator(self.key, previous, _PURPOSE + ":sample"),
            self.weights, self.means, self.covariances, self.template.covariance_type,
            policy.n_new,
        )
        mix_rng = batch_generator(self.key, previous, _PURPOSE + ":mix")
        fresh = None
        if policy.draws_fresh:
            seeds = len(batch.seeds)
            fresh, _ = sample_mixtures(
                mix_rng,
                *(np.broadcast_to(t, (seeds,) + np.shape(t)) for t in batch.truth),
                "full",
                policy.n_original,
            )
        self.pool = policy.next_rows(mix_rng, self.pool, batch.original, new, fresh)
        model = self.model
        model.fit(self.pool, random_state=batch_generator(self.key, generation, _PURPOSE + ":fit"))
        if np.any(model.failed_):
            seed = int(batch.seeds[np.argmax(model.failed_)])
            raise GenloopError(
                f"seed {seed}, generation {generation}: a mixture component's covariance "
                f"became singular in batched EM; increase family.reg_covar "
                f"(now {self.template.reg_covar})"
            )
        self.weights, self.means = model.weights_, model.means_
        self.covariances = model.covariances_
        self.generation = generation

    def parameters(self) -> dict[str, np.ndarray]:
        d = self.means.shape[-1]
        return {
            "weights": self.weights,
            "means": self.means,
            "covariances": full_covariances(self.covariances, self.template.covariance_type, d),
        }

    def snapshot(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        if self.generation == 0:
            return self.first.to_arrays(), self.pool[0]
        from genloop.families.gaussian import text_to_array

        model = self.model
        arrays = {
            "weights_": self.weights[0],
            "means_": self.means[0],
            "covariances_": self.covariances[0],
            "precisions_cholesky_": model.precisions_cholesky_[0],
            "converged_": np.asarray(int(model.converged_[0]), dtype=np.int64),
            "n_iter_": np.asarray(model.n_iter_[0], dtype=np.int64),
            "lower_bound_": np.asarray(model.lower_bound_[0], dtype=np.float64),
            "covariance_type": text_to_array(self.template.covariance_type),
        }
        return arrays, self.pool[0]


def full_covariances(covariances: np.ndarray, covariance_type: str, d: int) -> np.ndarray:
    """scikit-learn's covariance layout of (S, k) mixtures expanded to (S, k, d, d)."""
    if covariance_type == "full":
        return covariances
    variances = covariances
    if covariance_type == "spherical":
        variances = np.repeat(covariances[..., None], d, axis=-1)
    return variances[..., :, None] * np.eye(d)
