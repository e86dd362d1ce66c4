"""Poisoning acceptance: with r = 5% poison, a named filter or provenance rule removes
>= 90% of poison rows and < 5% of clean ones.

* vectors (a tight cluster 6 standard deviations out): the ``detector`` filter, trained on
  the clean held-out rows (the poison source never poisons them) against samples of
  generation 0's model, which was fitted on the poisoned pool and so reproduces the
  cluster;
* text (trigger words planted in ham blocks of the spam world): the ``isolation``
  provenance rule, when the attacker's rows arrive tagged as not verified-real.
  Content filters do not stop this backdoor: see docs/detection.md for label_noise's
  measured miss.
"""

import numpy as np
import pytest

from genloop.core.registry import ComponentSpec
from genloop.curation.filters.base import Batch, CurationContext, build_filter
from genloop.data.poison import PoisonSource
from genloop.families.gmm import GaussianMixture


def _batch(X, origin=None, seed=0):
    n = len(X)
    return Batch(X=X, origin=np.full(n, -1) if origin is None else origin,
                 ids=np.array([f"r{i}" for i in range(n)]), generation=1,
                 rng=np.random.default_rng(seed))


def removal_rates(mask, is_poison):
    """(share of poison rows dropped, share of clean rows dropped)."""
    return float((~mask[is_poison]).mean()), float((~mask[~is_poison]).mean())


def detector_on_poisoned_vectors(seed, dim=2, n_components=1, detector_spec=None):
    """Fit generation 0's GMM on a poisoned pool (1,000 rows, 5% poison), prepare the
    detector on the clean holdout (1,000 rows) vs that model, score a fresh poisoned
    draw of 1,000 rows; return the removal rates."""
    source = PoisonSource({"name": "gaussian", "dim": dim}, rate=0.05)
    X, _, holdout = source.split_with_truth(1000, 1000, np.random.default_rng(seed))
    model = GaussianMixture(n_components=n_components, random_state=seed).fit(X)
    spec = detector_spec or {"name": "detector", "threshold": 0.9}
    f = build_filter(ComponentSpec(**spec))
    f.prepare(CurationContext(X, holdout, source, model, np.random.default_rng(seed + 100)))
    Y, is_poison = source.draw_with_truth(1000, np.random.default_rng(seed + 200))
    mask, reasons = f.keep(_batch(Y))
    assert all(r.startswith("p_synthetic=") for r in reasons[~mask])
    return removal_rates(mask, is_poison)


def test_detector_with_a_clean_holdout_stops_a_shifted_cluster():
    """Seed 0, 2-D, GMM with 1 component, threshold 0.9. Tolerance: >= 90% of poison and
    < 5% of clean rows removed; measured over seeds 0-4 (2-D and 8-D, 1 and 2
    components): 100% of poison, at most 1.3% of clean rows."""
    poison_removed, clean_removed = detector_on_poisoned_vectors(seed=0)
    assert poison_removed >= 0.9
    assert clean_removed < 0.05


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("dim,n_components", [(2, 1), (2, 2), (8, 1), (8, 2)])
def test_detector_stops_a_shifted_cluster_across_seeds(seed, dim, n_components):
    """The fast test's claim over 5 seeds × {2-D, 8-D} × {1, 2} components."""
    poison_removed, clean_removed = detector_on_poisoned_vectors(seed, dim, n_components)
    assert poison_removed >= 0.9 and clean_removed < 0.05


def test_isolation_stops_tagged_trigger_poison_in_the_spam_world():
    """Spam world, 400 labelled blocks, 5% poison (seed 1). The attacker's rows arrive
    tagged with a non-real origin (0); ``isolation`` (max_share 0) drops all of them and
    no clean row (exact: provenance, not content)."""
    from genloop.data.spam import SpamSource

    source = PoisonSource(SpamSource(), rate=0.05)
    X, labels, is_poison = source.draw_labelled_with_truth(400, np.random.default_rng(1))
    origin = np.where(is_poison, 0, -1)
    f = build_filter(ComponentSpec(name="isolation", max_share=0.0))
    mask, _ = f.keep(_batch(X, origin=origin))
    assert removal_rates(mask, is_poison) == (1.0, 0.0)
