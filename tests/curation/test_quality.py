"""quality: keep rows by log-likelihood under a reference model (high or typical)."""

import numpy as np
import pytest
from scipy import stats

from genloop.core.errors import ConfigError
from genloop.curation.filters.base import Batch, CurationContext
from genloop.curation.filters.quality import Quality
from genloop.families.gaussian import Gaussian


class LookupModel:
    """score_samples returns the first column of each row (a hand-made log-likelihood)."""

    def score_samples(self, X):
        if X.dtype == object:
            return np.array([float(np.sum(row)) for row in X])
        return np.asarray(X, dtype=float)[:, 0]


def make_batch(X, model=None):
    n = len(X)
    return Batch(X=X, origin=np.zeros(n, dtype=int), ids=np.array([f"s{i}" for i in range(n)]),
                 generation=1, model=model)


def prepared(quality, holdout=None, model=None):
    quality.prepare(CurationContext(original=np.zeros((1, 1)), holdout=holdout, source=None,
                                    initial_model=model or LookupModel(),
                                    rng=np.random.default_rng(0)))
    return quality


def column(values):
    return np.asarray(values, dtype=float)[:, None]


def test_high_by_threshold():
    mask, reasons = prepared(Quality(threshold=-2)).keep(make_batch(column([-1, -3, -2, 0.5])))
    assert mask.tolist() == [True, False, True, True]
    assert reasons.tolist() == ["", "score -3 < threshold -2", "", ""]


def test_high_by_quantile_drops_a_fixed_share_ties_by_position():
    X = column([-1, -5, -2, -5, 0, -3, -4, -6, -7, -0.5])
    mask, reasons = prepared(Quality(quantile=0.2)).keep(make_batch(X))
    assert mask.tolist() == [True, True, True, True, True, True, True, False, False, True]
    assert reasons[7] == "score -6 in the lowest 20% of the batch"
    assert reasons[8] == "score -7 in the lowest 20% of the batch"
    # a tie at the cut: the earlier row goes first
    mask, _ = prepared(Quality(quantile=0.25)).keep(make_batch(column([-5, 0, -5, 1])))
    assert mask.tolist() == [False, True, True, True]
    mask, _ = prepared(Quality(quantile=0.0)).keep(make_batch(column([-5, 0])))
    assert mask.tolist() == [True, True]


def test_nan_and_minus_inf_scores_go_first():
    X = column([np.nan, -np.inf, 0.0, 1.0])
    mask, reasons = prepared(Quality(quantile=0.5)).keep(make_batch(X))
    assert mask.tolist() == [False, False, True, True]
    assert reasons.tolist() == ["no score (nan)", "score -inf in the lowest 50% of the batch", "", ""]


def test_typical_band_from_holdout_scores():
    holdout = column(np.arange(11, dtype=float) - 10)  # scores -10..0: band [-9.5, -0.5]
    X = column([-9.6, -9.5, -5, -0.5, -0.4])
    quality = prepared(Quality(keep="typical", quantile=0.1), holdout=holdout)
    mask, reasons = quality.keep(make_batch(X))
    assert mask.tolist() == [False, True, True, True, False]
    assert reasons.tolist() == [
        "score -9.6 below the typical band [-9.5, -0.5]", "", "", "",
        "score -0.4 above the typical band [-9.5, -0.5]",
    ]


def test_per_token_scores_of_token_sequences():
    X = np.empty(3, dtype=object)
    X[:] = [np.array([-1.0, -1.0]), np.array([-1.0, -1.0, -1.0, -1.0, -4.0]), np.array([])]
    # totals -2, -8, 0; per token -1, -1.6, NaN (empty row)
    mask, reasons = prepared(Quality(threshold=-1.5)).keep(make_batch(X))
    assert mask.tolist() == [True, False, False]
    assert reasons.tolist() == ["", "score -1.6 < threshold -1.5", "no score (nan)"]
    mask, _ = prepared(Quality(threshold=-1.5, per_token=False)).keep(make_batch(X[:2]))
    assert mask.tolist() == [False, False]


def test_reference_batch_scores_under_the_batch_model():
    class Negated(LookupModel):
        def score_samples(self, X):
            return -super().score_samples(X)

    quality = Quality(threshold=0, reference="batch")
    mask, _ = quality.keep(make_batch(column([-1, 1]), model=Negated()))
    assert mask.tolist() == [True, False]
    with pytest.raises(ConfigError, match="reference: batch"):
        quality.keep(make_batch(column([1.0])))


@pytest.mark.parametrize(
    "kwargs, match",
    [({"keep": "low"}, "quality.keep"), ({"reference": "x"}, "quality.reference"),
     ({"quantile": 1.0}, "quality.quantile"), ({"keep": "typical", "threshold": 0}, "threshold")],
)
def test_parameters_are_validated(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Quality(**kwargs)


def test_missing_prepare_or_holdout_is_a_config_error():
    with pytest.raises(ConfigError, match="prepare"):
        Quality().keep(make_batch(column([0.0])))
    with pytest.raises(ConfigError, match="holdout"):
        prepared(Quality(keep="typical"), holdout=None)


def kept_variance_closed_form(low, high, scale=1.0):
    """Variance of z ~ N(0, scale²) restricted to low <= |z| <= high."""
    def partial(c):  # E[z²; |z| <= c] and P(|z| <= c) for the standard normal
        return (2 * stats.norm.cdf(c) - 1) - 2 * c * stats.norm.pdf(c), 2 * stats.norm.cdf(c) - 1

    (m_hi, p_hi), (m_lo, p_lo) = partial(high / scale), partial(low / scale)
    return scale**2 * (m_hi - m_lo) / (p_hi - p_lo)


def test_high_cuts_tails_more_than_typical_on_a_gaussian():
    """Tier 2, seed 0. Real data N(0, 1); the initial model is a Gaussian fitted on 2,000
    real rows; 5,000 held-out rows; batches of 20,000 rows. With quantile 0.2, on a real
    sample `high` keeps |x| < 1.28 (kept variance 0.44) and `typical` keeps
    0.126 < |x| < 1.64 (0.70): both lower the variance, `high` much more. On candidates
    from a collapsed model N(0, 0.7²) (variance 0.49), `high` lowers the variance further
    (0.21) while `typical` drops the over-likely centre and keeps it (0.50). Tolerance:
    0.03 on each variance (its standard error is < 0.01)."""
    rng = np.random.default_rng(0)
    model = Gaussian().fit(rng.normal(size=(2000, 1)))
    holdout = rng.normal(size=(5000, 1))
    real = rng.normal(size=(20000, 1))
    collapsed = 0.7 * rng.normal(size=(20000, 1))
    high = prepared(Quality(keep="high", quantile=0.2), holdout, model)
    typical = prepared(Quality(keep="typical", quantile=0.2), holdout, model)
    z_lo, z_hi, z_high = stats.norm.ppf(0.55), stats.norm.ppf(0.95), stats.norm.ppf(0.9)
    for X, scale in ((real, 1.0), (collapsed, 0.7)):
        kept_high = X[high.keep(make_batch(X))[0]]
        kept_typical = X[typical.keep(make_batch(X))[0]]
        # `high` drops the lowest 20% of the batch: |x| < the batch's 80% quantile of |x|
        expected_high = kept_variance_closed_form(0, scale * z_high, scale)
        assert kept_high.var() == pytest.approx(expected_high, abs=0.03)
        # `typical` keeps the band of real scores: z_lo <= |x| <= z_hi, whatever the scale
        expected_typical = kept_variance_closed_form(z_lo, z_hi, scale)
        assert kept_typical.var() == pytest.approx(expected_typical, abs=0.03)
        assert kept_typical.var() > kept_high.var() + 0.1
