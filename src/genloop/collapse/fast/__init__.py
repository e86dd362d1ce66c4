"""Fast paths of the generational loop: whole batches of seeds per array operation.

* :class:`ExactCategorical` and :class:`ExactGaussian` simulate recursive fitting of the
  categorical and Gaussian families on sufficient statistics;
  :func:`replace_trajectory` does a whole ``replace`` run of the Gaussian at once, and
  :func:`simulate_gaussian` picks between the two. They are exactly equal in
  distribution to the sample-level loop (not bit-identical: they draw one generation's
  randomness for all seeds from one stream, see :mod:`genloop.collapse.fast.plan`).
* :class:`BatchedGaussianMixture` runs scikit-learn's EM on ``S`` datasets at once, with
  :func:`sample_mixtures` for the next generation's data; :func:`simulate_gmm` runs the
  whole Gaussian-mixture loop (fit, sample, mix) for a batch of seeds.
* :func:`limited_threads` caps BLAS/OpenMP pools around tiny-matrix work.

All of them take a :class:`PoolPlan` (the mixing policy as counts) where a policy applies.
"""

from genloop.collapse.fast.batched_em import BatchedGaussianMixture, sample_mixtures
from genloop.collapse.fast.batched_gmm import MixtureGeneration, mix_batched, simulate_gmm
from genloop.collapse.fast.exact_categorical import CategoricalGeneration, ExactCategorical
from genloop.collapse.fast.exact_gaussian import (
    ExactGaussian,
    GaussianGeneration,
    simulate_gaussian,
)
from genloop.collapse.fast.gaussian_trajectory import GaussianTrajectory, replace_trajectory
from genloop.collapse.fast.plan import PoolPlan, batch_key
from genloop.collapse.fast.threads import limited_threads

__all__ = [
    "BatchedGaussianMixture",
    "CategoricalGeneration",
    "ExactCategorical",
    "ExactGaussian",
    "GaussianGeneration",
    "GaussianTrajectory",
    "MixtureGeneration",
    "PoolPlan",
    "batch_key",
    "limited_threads",
    "mix_batched",
    "replace_trajectory",
    "sample_mixtures",
    "simulate_gaussian",
    "simulate_gmm",
]
