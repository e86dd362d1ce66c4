"""Metrics for real-valued models: moments, collapse of variance, W2, tails, likelihood.

Each metric is a thin wrapper: it reads parameters out of the model and the source
(:mod:`genloop.metrics.model_views`) and calls a pure, batch-vectorised function
(:mod:`genloop.metrics.gaussian_math`, or :mod:`genloop.metrics.empirical`) that a fast
engine can call directly on arrays of many seeds.

The reference is the source's truth when known (``mean``/``covariance`` or
``mixture``), otherwise the original or held-out real data. A model's mean and
covariance are exact for Gaussians, Gaussian mixtures and Gaussian KDEs and otherwise
estimated from ``n_samples`` Monte-Carlo draws (default 20,000) with ``context.rng``.
"""

from __future__ import annotations

import numpy as np

from genloop.core.errors import ConfigError
from genloop.metrics.base import BatchMetricContext, Metric, MetricContext
from genloop.metrics.continuous_batch import (
    batch_moments,
    batch_reference_mean,
    gaussian_heldout_loglik,
    mixture_heldout_loglik,
    original_quantiles,
)
from genloop.metrics.empirical import empirical_tail_mass, empirical_w2
from genloop.metrics.gaussian_math import (
    component_geometric_std,
    component_std,
    covariance_logdet,
    gaussian_w2,
    mean_log_variance,
    mean_variance,
    mixture_l2,
    mixture_l2_squared,
    mixture_marginal_tail_mass,
)
from genloop.metrics.model_views import (
    model_gaussian,
    model_mixture,
    model_moments,
    reference_mean,
    sample_model,
    truth_gaussian,
    truth_mixture,
)

DEFAULT_MONTE_CARLO_SAMPLES = 20_000
__all__ = ["empirical_tail_mass", "empirical_w2"]  # re-exported: they used to live here

def _check_count(metric: str, key: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{metric}.{key} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _rows(data) -> np.ndarray:
    data = np.asarray(data, dtype=float)
    return data.reshape(len(data), -1)


class _MomentMetric(Metric):
    """Base for metrics that need the model's mean and covariance."""

    kinds = ("vectors",)
    # Moments of Gaussians and mixtures are exact functions of their parameters.
    batch_forms = ("gaussian", "mixture")

    def __init__(self, n_samples: int = DEFAULT_MONTE_CARLO_SAMPLES):
        self.n_samples = _check_count(self.name, "n_samples", n_samples, 2)

    def _moments(self, model, context: MetricContext):
        mean, covariance, _ = model_moments(model, context.rng, self.n_samples)
        return mean, covariance


# ---------------------------------------------------------------------------
# Metric classes
# ---------------------------------------------------------------------------


class MeanShift(_MomentMetric):
    """``mean_shift``: Euclidean distance from the model mean to the truth mean.

    The reference is the truth's mean when known, else the mean of the original data.
    """

    name = "mean_shift"

    def measure(self, context: MetricContext) -> dict[str, float]:
        mean, _ = self._moments(context.model, context)
        shift = np.linalg.norm(mean - reference_mean(context))
        return {"mean_shift": float(shift)}

    def measure_batch(self, context: BatchMetricContext) -> dict[str, np.ndarray]:
        mean, _ = batch_moments(context)
        return {"mean_shift": np.linalg.norm(mean - batch_reference_mean(context), axis=-1)}


class Variance(_MomentMetric):
    """``variance``: the model's per-dimension variance, averaged over dimensions."""

    name = "variance"

    def measure(self, context: MetricContext) -> dict[str, float]:
        _, covariance = self._moments(context.model, context)
        return {"variance": float(mean_variance(covariance))}

    def measure_batch(self, context: BatchMetricContext) -> dict[str, np.ndarray]:
        return {"variance": mean_variance(batch_moments(context)[1])}


class LogVariance(_MomentMetric):
    """The collapse law's quantities: log-variance now and its change since generation 0.

    * ``log_variance``: mean over dimensions of ``log sigma2_j`` of the model;
    * ``log_variance_change``: that minus the same for ``context.initial_model``;
    * ``variance_ratio``: ``exp(log_variance_change)``.

    For recursive MLE refitting of a 1-D Gaussian on ``n`` samples, theory says
    ``E[log_variance_change] = t * (psi((n-1)/2) + ln(2/n))``; for ``d > 1`` the law
    depends on the covariance type (spherical: ``t * (psi(d(n-1)/2) + ln(2/(dn)))``), see
    :func:`genloop.collapse.theory.gaussian_log_variance_drift`.
    """

    name = "log_variance"

    def measure(self, context: MetricContext) -> dict[str, float]:
        _, covariance = self._moments(context.model, context)
        values = {"log_variance": float(mean_log_variance(covariance))}
        if context.initial_model is not None:
            _, initial_covariance = self._moments(context.initial_model, context)
            change = values["log_variance"] - float(mean_log_variance(initial_covariance))
            values["log_variance_change"] = change
            values["variance_ratio"] = float(np.exp(change))
        return values

    def measure_batch(self, context: BatchMetricContext) -> dict[str, np.ndarray]:
        log_variance = mean_log_variance(batch_moments(context)[1])
        change = log_variance - mean_log_variance(batch_moments(context, initial=True)[1])
        return {
            "log_variance": log_variance,
            "log_variance_change": change,
            "variance_ratio": np.exp(change),
        }


class CovarianceLogDet(_MomentMetric):
    """``covariance_logdet``: log-determinant of the model's covariance (-inf if singular)."""

    name = "covariance_logdet"

    def measure(self, context: MetricContext) -> dict[str, float]:
        _, covariance = self._moments(context.model, context)
        return {"covariance_logdet": float(covariance_logdet(covariance))}

    def measure_batch(self, context: BatchMetricContext) -> dict[str, np.ndarray]:
        return {"covariance_logdet": covariance_logdet(batch_moments(context)[1])}


# Metrics that are flags about another metric, not values: tables leave them out and say
# in words what they flag (``flag_lines``). name -> (metric, reading when 1, reading when 0).
FLAG_METRICS = {
    "w2_exact": ("w2", "closed form between Gaussians",
                 "empirical (exact optimal transport between samples; biased upwards)"),
}


def flag_lines(metrics, shown=None) -> list[str]:
    """One line per flag metric present in a long-format ``metrics`` table.

    For example ``w2: closed form between Gaussians`` when every row's ``w2_exact`` is 1,
    or the share of rows of each kind when a run mixes them. ``shown``, when given, is the
    set of metrics a table shows: only their flags are worded.
    """
    lines = []
    for flag, (metric, when_set, when_unset) in FLAG_METRICS.items():
        if shown is not None and metric not in shown:
            continue
        values = metrics.loc[metrics["metric"] == flag, "value"]
        if values.empty:
            continue
        share = float((values == 1.0).mean())
        if share == 1.0:
            lines.append(f"{metric}: {when_set}")
        elif share == 0.0:
            lines.append(f"{metric}: {when_unset}")
        else:
            lines.append(f"{metric}: {when_set} in {share:.0%} of rows, otherwise {when_unset}")
    return lines


class Wasserstein2(Metric):
    """``w2``: 2-Wasserstein distance from the model to the truth; ``w2_exact`` says how.

    * ``w2_exact = 1.0``: both the model (``mean_``/``covariance_``) and the truth
      (``source.mean``/``covariance``) are Gaussian, and the closed form is used.
    * ``w2_exact = 0.0``: otherwise, an empirical estimate — exact optimal transport
      (:func:`empirical_w2`) between the held-out real rows (the original rows when
      there is no holdout), subsampled to at most ``max_points``, and as many model
      samples. It is biased upwards by sampling noise, so compare it across
      generations and with the generation-0 value rather than with 0.

    Parameters
    ----------
    max_points : int, default 2000
        Largest sample per side for the empirical estimate (the cost matrix has
        ``max_points^2`` entries).
    """

    name = "w2"
    kinds = ("vectors",)

    def __init__(self, max_points: int = 2000):
        self.max_points = _check_count(self.name, "max_points", max_points, 2)

    def measure(self, context: MetricContext) -> dict[str, float]:
        model = model_gaussian(context.model)
        truth = truth_gaussian(context.source)
        if model is not None and truth is not None:
            return {"w2": float(gaussian_w2(*model, *truth)), "w2_exact": 1.0}
        has_holdout = context.holdout is not None and len(context.holdout) > 0
        reference = _rows(context.holdout if has_holdout else context.original)
        if len(reference) > self.max_points:
            keep = context.rng.choice(len(reference), size=self.max_points, replace=False)
            reference = reference[keep]
        samples = sample_model(context.model, len(reference), context.rng)
        return {"w2": empirical_w2(samples, reference), "w2_exact": 0.0}

    def batch_unsupported(self, form: str, source) -> str | None:
        # Only the Gaussian-vs-Gaussian closed form is a function of parameters.
        if form != "gaussian" or truth_gaussian(source) is None:
            return "metric 'w2' is exact from parameters only for a Gaussian model and truth"
        return None

    def measure_batch(self, context: BatchMetricContext) -> dict[str, np.ndarray]:
        truth_mean, truth_covariance = truth_gaussian(context.source)
        w2 = gaussian_w2(
            context.means[:, 0], context.covariances[:, 0], truth_mean, truth_covariance
        )
        return {"w2": w2, "w2_exact": np.ones(len(w2))}


class TailMass(Metric):
    """``tail_mass``: model mass beyond the original data's per-dimension quantiles.

    The thresholds are the ``low`` and ``high`` quantiles of each dimension of
    ``context.original``; the value is averaged over dimensions, so real data gives
    about ``low + 1 - high`` (0.02 by default). ``tail_mass_ratio`` divides by that
    number: 1 means tails as heavy as the data's, below 1 means thinned tails. Exact
    (normal CDF of each marginal) for Gaussians, mixtures and Gaussian KDEs, else
    Monte-Carlo with ``n_samples`` draws.

    Parameters
    ----------
    low, high : float, default 0.01 and 0.99
        Quantile levels with ``0 <= low < high <= 1``.
    n_samples : int, default 20000
        Monte-Carlo draws for models without a closed form.
    """

    name = "tail_mass"
    kinds = ("vectors",)
    batch_forms = ("gaussian", "mixture")

    def __init__(
        self, low: float = 0.01, high: float = 0.99, n_samples: int = DEFAULT_MONTE_CARLO_SAMPLES
    ):
        for key, value in (("low", low), ("high", high)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"tail_mass.{key} must be a number, got {value!r}")
        if not 0 <= low < high <= 1 or low + 1 - high <= 0:
            raise ConfigError(f"tail_mass needs 0 <= low < high <= 1, got low={low}, high={high}")
        self.low, self.high = float(low), float(high)
        self.n_samples = _check_count(self.name, "n_samples", n_samples, 1)

    def measure(self, context: MetricContext) -> dict[str, float]:
        lower, upper = np.quantile(_rows(context.original), [self.low, self.high], axis=0)
        mixture = model_mixture(context.model)
        if mixture is not None:
            weights, means, covariances = mixture
            variances = np.diagonal(covariances, axis1=-2, axis2=-1)
            mass = mixture_marginal_tail_mass(weights, means, variances, lower, upper)
        else:
            samples = sample_model(context.model, self.n_samples, context.rng)
            mass = empirical_tail_mass(samples, lower, upper)
        nominal = self.low + 1 - self.high
        return {"tail_mass": float(mass), "tail_mass_ratio": float(mass) / nominal}

    def measure_batch(self, context: BatchMetricContext) -> dict[str, np.ndarray]:
        lower, upper = original_quantiles(context, self.low, self.high)
        variances = np.diagonal(context.covariances, axis1=-2, axis2=-1)
        mass = mixture_marginal_tail_mass(context.weights, context.means, variances, lower, upper)
        return {"tail_mass": mass, "tail_mass_ratio": mass / (self.low + 1 - self.high)}


class HeldoutLogLik(Metric):
    """``heldout_loglik``: mean ``model.score_samples`` over the held-out real rows.

    Skipped (returns ``{}``) when there is no held-out data.
    """

    name = "heldout_loglik"
    kinds = ("vectors",)
    batch_forms = ("gaussian", "mixture")

    def measure(self, context: MetricContext) -> dict[str, float]:
        if context.holdout is None or len(context.holdout) == 0:
            return {}
        scores = np.asarray(context.model.score_samples(context.holdout), dtype=float)
        return {"heldout_loglik": float(scores.mean())}

    def measure_batch(self, context: BatchMetricContext) -> dict[str, np.ndarray]:
        if context.holdout is None or context.holdout.shape[1] == 0:
            return {}
        if context.form == "gaussian":
            return {"heldout_loglik": gaussian_heldout_loglik(context)}
        return {"heldout_loglik": mixture_heldout_loglik(context)}


class MixtureL2(Metric):
    """``gmm_l2``: closed-form L2 distance between the model's and the truth's densities.

    Both must be Gaussian mixtures (a Gaussian counts as one component, a Gaussian KDE
    as one component per training row); see :func:`gaussian_math.mixture_l2`. Skipped
    (returns ``{}``) when the truth is unknown or the model has no mixture form.
    """

    name = "gmm_l2"
    kinds = ("vectors",)
    batch_forms = ("gaussian", "mixture")

    def measure(self, context: MetricContext) -> dict[str, float]:
        truth = truth_mixture(context.source)
        model = model_mixture(context.model)
        if truth is None or model is None:
            return {}
        return {"gmm_l2": float(mixture_l2(*model, *truth))}

    def measure_batch(self, context: BatchMetricContext) -> dict[str, np.ndarray]:
        truth = truth_mixture(context.source)
        if truth is None:
            return {}
        model = (context.weights, context.means, context.covariances)
        return {"gmm_l2": mixture_l2(*model, *truth)}


class MixtureL2SquaredToStart(Metric):
    """``gmm_l2sq_gen0``: squared L2 distance from the model's density to generation 0's fit.

    ``∫ (f_t(x) - f_0(x))^2 dx`` in closed form (:func:`gaussian_math.mixture_l2_squared`),
    where ``f_0`` is ``context.initial_model``, the model fitted on the real data: the
    distance Shumailov et al. (Nature 2024) plot for their GMM, measured from the first
    fit rather than from the truth (``gmm_l2`` measures from the truth, unsquared). It is
    0 at generation 0. Skipped (``{}``) when either model has no mixture form.
    """

    name = "gmm_l2sq_gen0"
    kinds = ("vectors",)
    batch_forms = ("gaussian", "mixture")

    def measure(self, context: MetricContext) -> dict[str, float]:
        if context.initial_model is None:
            return {}
        model = model_mixture(context.model)
        initial = model_mixture(context.initial_model)
        if model is None or initial is None:
            return {}
        return {"gmm_l2sq_gen0": float(mixture_l2_squared(*model, *initial))}

    def measure_batch(self, context: BatchMetricContext) -> dict[str, np.ndarray]:
        model = (context.weights, context.means, context.covariances)
        initial = (context.initial_weights, context.initial_means, context.initial_covariances)
        return {"gmm_l2sq_gen0": mixture_l2_squared(*model, *initial)}


class ComponentStd(Metric):
    """Spread of the model's components: ``sqrt`` of each component's mean variance.

    Returns ``component_std`` (median over components), ``component_std_min`` and
    ``component_std_max``, and ``component_std_geometric`` (median over components of
    det(Σ_k)^(1/(2d)), the volume-equivalent standard deviation, which also registers
    collapse along a single axis). A Gaussian is one component; a Gaussian KDE's
    components all have the bandwidth. Skipped (``{}``) for models without a mixture
    form.
    """

    name = "component_std"
    kinds = ("vectors",)
    batch_forms = ("gaussian", "mixture")

    def measure(self, context: MetricContext) -> dict[str, float]:
        mixture = model_mixture(context.model)
        if mixture is None:
            return {}
        stds = component_std(np.diagonal(mixture[2], axis1=-2, axis2=-1))
        return {
            "component_std": float(np.median(stds)),
            "component_std_min": float(stds.min()),
            "component_std_max": float(stds.max()),
            "component_std_geometric": float(np.median(component_geometric_std(mixture[2]))),
        }

    def measure_batch(self, context: BatchMetricContext) -> dict[str, np.ndarray]:
        stds = component_std(np.diagonal(context.covariances, axis1=-2, axis2=-1))
        geometric = component_geometric_std(context.covariances)
        return {
            "component_std": np.median(stds, axis=-1),
            "component_std_min": stds.min(axis=-1),
            "component_std_max": stds.max(axis=-1),
            "component_std_geometric": np.median(geometric, axis=-1),
        }
