"""Fast paths of the generational loop: whole batches of seeds per array operation.

* :class:`ExactCategorical` and :class:`ExactGaussian` simulate recursive fitting of the
  categorical and Gaussian families on sufficient statistics. They are exactly equal in
  distribution to the sample-level loop (not bit-identical: they draw one generation's
  randomness for all seeds from one stream, see :mod:`genloop.engine.fast.plan`).
* :class:`BatchedGaussianMixture` runs scikit-learn's EM on ``S`` datasets at once, with
  :func:`sample_mixtures` for the next generation's data.
* :func:`limited_threads` caps BLAS/OpenMP pools around tiny-matrix work.

All of them take a :class:`PoolPlan` (the mixing policy as counts) where a policy applies.
"""

from genloop.engine.fast.batched_em import BatchedGaussianMixture, sample_mixtures
from genloop.engine.fast.exact_categorical import CategoricalGeneration, ExactCategorical
from genloop.engine.fast.exact_gaussian import ExactGaussian, GaussianGeneration
from genloop.engine.fast.plan import PoolPlan, batch_key
from genloop.engine.fast.threads import limited_threads

__all__ = [
    "BatchedGaussianMixture",
    "CategoricalGeneration",
    "ExactCategorical",
    "ExactGaussian",
    "GaussianGeneration",
    "PoolPlan",
    "batch_key",
    "limited_threads",
    "sample_mixtures",
]
