"""Fast paths of the generational loop: whole batches of seeds per array operation.

* :class:`Simulator` is the contract of a fast path (one class per family) and
  :func:`genloop.collapse.fast.driver.drive` the one loop that runs them;
  :func:`register_simulator` adds one.
* :class:`ExactCategorical` and :class:`ExactGaussian` simulate recursive fitting of the
  categorical and Gaussian families on sufficient statistics;
  :func:`replace_trajectory` does a whole ``replace`` run of the Gaussian at once, and
  :func:`simulate_gaussian` picks between the two. They are exactly equal in
  distribution to the sample-level loop (not bit-identical: they draw one generation's
  randomness for all seeds from one stream, see :mod:`genloop.collapse.fast.streams`).
* :class:`BatchedGaussianMixture` runs scikit-learn's EM on ``S`` datasets at once, with
  :func:`sample_mixtures` for the next generation's data; :class:`MixturePath` is the
  Gaussian-mixture path built on them.
* :func:`limited_threads` caps BLAS/OpenMP pools around tiny-matrix work.

All of them take a :class:`~genloop.collapse.policy.MixingPolicy` where a policy applies.
"""

from genloop.collapse.fast.batched_em import BatchedGaussianMixture, sample_mixtures
from genloop.collapse.fast.batched_gmm import MixturePath
from genloop.collapse.fast.exact_categorical import (
    CategoricalGeneration,
    CategoricalPath,
    ExactCategorical,
)
from genloop.collapse.fast.exact_gaussian import (
    ExactGaussian,
    GaussianGeneration,
    GaussianPath,
    simulate_gaussian,
)
from genloop.collapse.fast.gaussian_trajectory import GaussianTrajectory, replace_trajectory
from genloop.collapse.fast.simulator import Batch, Simulator, register_simulator, simulator_for
from genloop.collapse.fast.streams import batch_key
from genloop.collapse.fast.threads import limited_threads

__all__ = [
    "Batch",
    "BatchedGaussianMixture",
    "CategoricalGeneration",
    "CategoricalPath",
    "ExactCategorical",
    "ExactGaussian",
    "GaussianGeneration",
    "GaussianPath",
    "GaussianTrajectory",
    "MixturePath",
    "Simulator",
    "batch_key",
    "limited_threads",
    "register_simulator",
    "replace_trajectory",
    "sample_mixtures",
    "simulate_gaussian",
    "simulator_for",
]
