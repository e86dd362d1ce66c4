"""The audit as a whole (tier 1): the callable package, copies of holdout rows."""

import numpy as np

from genloop.audit import audit as genloop_audit


def test_the_package_is_callable_as_the_function():
    import genloop.audit

    result = genloop.audit(np.arange(40.0).reshape(20, 2), np.arange(40.0).reshape(20, 2) + 0.5,
                           projection=False, quick=True, folds=2)
    assert result.to_frame()["section"].iloc[0] == "tails"


def test_copies_of_holdout_texts_are_counted():
    real = [f"line {i} of the real text with words" for i in range(40)]
    holdout = [f"held out line {i} that nobody trained on today" for i in range(20)]
    synthetic = holdout[:5] + [f"a new line {i} written by a model here" for i in range(35)]
    frame = genloop_audit(real, synthetic, holdout=holdout, projection=False, quick=True,
                          folds=2).to_frame().set_index("measure")
    assert frame.loc["exact copies of holdout rows", "synthetic"] == 5 / 40
    assert frame.loc["near copies of holdout texts", "synthetic"] == 5 / 40
