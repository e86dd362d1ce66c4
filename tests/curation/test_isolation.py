"""isolation: drop synthetic rows (by provenance) beyond a share of the kept batch."""

import numpy as np
import pytest

from genloop.core.errors import ConfigError
from genloop.curation.filters.base import Batch
from genloop.curation.filters.isolation import Isolation


def make_batch(origin, seed=0):
    origin = np.asarray(origin)
    n = len(origin)
    return Batch(X=np.arange(n, dtype=float)[:, None], origin=origin,
                 ids=np.array([f"s{i}" for i in range(n)]), generation=4,
                 rng=np.random.default_rng(seed))


def test_max_share_zero_drops_every_synthetic_row():
    mask, reasons = Isolation().keep(make_batch([-1, 3, -1, 0, 3]))
    assert mask.tolist() == [True, False, True, False, False]
    assert reasons.tolist() == ["", "synthetic (gen:3)", "", "synthetic (gen:0)", "synthetic (gen:3)"]


def test_max_share_caps_the_synthetic_share_of_the_kept_batch():
    # 8 real + 10 synthetic rows, cap 20%: at most 2 synthetic rows stay (2 / 10 = 20%).
    origin = [-1] * 8 + [3] * 10
    mask, reasons = Isolation(max_share=0.2).keep(make_batch(origin))
    assert mask[:8].all() and mask[8:].sum() == 2
    assert set(reasons[8:][~mask[8:]]) == {"synthetic (gen:3) over max_share 0.2"}
    # the same stream chooses the same rows; another stream other ones
    again, _ = Isolation(max_share=0.2).keep(make_batch(origin))
    assert again.tolist() == mask.tolist()
    others = [Isolation(max_share=0.2).keep(make_batch(origin, seed))[0] for seed in range(1, 6)]
    assert any(o.tolist() != mask.tolist() for o in others)


@pytest.mark.parametrize(
    "share, n_real, n_synthetic, allowed",
    [(0.0, 5, 5, 0), (0.2, 8, 10, 2), (0.2, 7, 10, 1), (0.5, 3, 10, 3), (0.5, 3, 2, 2),
     (1.0, 0, 4, 4), (0.9, 0, 4, 0)],
)
def test_allowed_synthetic(share, n_real, n_synthetic, allowed):
    assert Isolation(max_share=share).allowed_synthetic(n_real, n_synthetic) == allowed


def test_all_real_or_all_synthetic_batches():
    mask, _ = Isolation(max_share=0.3).keep(make_batch([-1, -1]))
    assert mask.tolist() == [True, True]
    mask, reasons = Isolation(max_share=0.3).keep(make_batch([1, 1]))
    assert mask.tolist() == [False, False]
    mask, _ = Isolation(max_share=1.0).keep(make_batch([1, 1]))
    assert mask.tolist() == [True, True]


def test_max_share_is_validated():
    with pytest.raises(ConfigError, match="isolation.max_share"):
        Isolation(max_share=1.2)


def test_the_rows_kept_are_uniform_among_synthetic_rows():
    """Tier 2: with 10 real + 20 synthetic rows and a 1/3 cap, 5 synthetic rows stay; over
    2,000 streams (seeds 0..1999) each synthetic row stays with probability 5/20 = 0.25.
    Tolerance: every row's frequency within 0.04 of 0.25 (sd 0.0097, so > 4 sd). Keeping
    the first 5 synthetic rows instead gives frequencies 1 and 0 and fails."""
    origin = [-1] * 10 + [2] * 20
    counts = np.zeros(30)
    for seed in range(2000):
        counts += Isolation(max_share=1 / 3).keep(make_batch(origin, seed))[0]
    assert np.all(counts[:10] == 2000)
    assert np.abs(counts[10:] / 2000 - 0.25).max() < 0.04
