"""The filter contract: Filter.keep with its imperfection knobs, Pipeline, build_pipeline."""

from dataclasses import replace

import numpy as np
import pytest

from genloop.core.errors import ConfigError
from genloop.core.registry import ComponentSpec
from genloop.curation.filters.base import (
    KEPT,
    NOT_SEEN,
    Batch,
    Filter,
    Pipeline,
    build_pipeline,
)
from genloop.curation.filters.dedup import Dedup
from genloop.curation.filters.isolation import Isolation


class DropOdd(Filter):
    """Drops rows whose first value is odd; records which rows it was shown."""

    name = "drop_odd"

    def __init__(self, miss_rate=0.0, false_alarm_rate=0.0):
        super().__init__(miss_rate=miss_rate, false_alarm_rate=false_alarm_rate)
        self.shown: list[list[str]] = []

    def decide(self, batch):
        self.shown.append(batch.ids.tolist())
        odd = batch.X[:, 0] % 2 == 1
        return ~odd, np.where(odd, "odd", KEPT)


class DropAboveThree(DropOdd):
    name = "drop_above_three"

    def decide(self, batch):
        self.shown.append(batch.ids.tolist())
        big = batch.X[:, 0] > 3
        return ~big, np.where(big, "above 3", KEPT)


def make_batch(values, seed=0):
    X = np.asarray(values, dtype=float)[:, None]
    n = len(X)
    return Batch(X=X, origin=np.zeros(n, dtype=int), ids=np.array([f"s{i}" for i in range(n)]),
                 generation=1, rng=np.random.default_rng(seed),
                 texts=[f"t{v}" for v in values])


def test_pipeline_runs_filters_in_order_and_marks_unseen_rows():
    odd, big = DropOdd(), DropAboveThree()
    kept, verdicts = Pipeline([odd, big]).apply(make_batch([0, 1, 2, 3, 4, 5, 6]))
    assert kept.tolist() == [True, False, True, False, False, False, False]
    assert list(verdicts) == ["drop_odd", "drop_above_three"]
    assert verdicts["drop_odd"].tolist() == ["", "odd", "", "odd", "", "odd", ""]
    assert verdicts["drop_above_three"].tolist() == ["", "-", "", "-", "above 3", "-", "above 3"]
    # the second filter saw only the survivors of the first
    assert odd.shown == [["s0", "s1", "s2", "s3", "s4", "s5", "s6"]]
    assert big.shown == [["s0", "s2", "s4", "s6"]]


def test_a_filter_after_everything_was_dropped_is_not_called():
    odd, big = DropOdd(), DropAboveThree()
    kept, verdicts = Pipeline([odd, big]).apply(make_batch([1, 3]))
    assert kept.tolist() == [False, False]
    assert verdicts["drop_above_three"].tolist() == [NOT_SEEN, NOT_SEEN]
    assert big.shown == []


def test_batch_take_keeps_rows_texts_and_stream():
    batch = make_batch([0, 1, 2])
    part = batch.take(np.array([True, False, True]))
    assert part.ids.tolist() == ["s0", "s2"] and part.texts == ["t0", "t2"]
    assert part.rng is batch.rng and part.generation == 1
    assert part.parents is None
    with_parents = replace(batch, parents=np.array(["p0", "p1", "p2"], dtype=object))
    assert with_parents.take(np.array([False, True, True])).parents.tolist() == ["p1", "p2"]


def test_knobs_off_give_the_filters_own_verdict_without_drawing():
    batch = make_batch(list(range(6)))
    state = batch.rng.bit_generator.state
    mask, reasons = DropOdd().keep(batch)
    assert mask.tolist() == [True, False] * 3
    assert batch.rng.bit_generator.state == state


def test_miss_and_false_alarm_rates_match_their_probabilities():
    """Tier 2, seed 0, 20,000 rows (half odd): with miss_rate 0.3 the share of odd rows
    kept is 0.3 and with false_alarm_rate 0.2 the share of even rows dropped is 0.2.
    Tolerance 0.02 (the standard errors are ~0.0065 and ~0.0057, so > 3 sd)."""
    values = np.arange(20000)
    odd = values % 2 == 1
    mask, reasons = DropOdd(miss_rate=0.3, false_alarm_rate=0.2).keep(make_batch(values))
    assert mask[odd].mean() == pytest.approx(0.3, abs=0.02)
    assert (~mask[~odd]).mean() == pytest.approx(0.2, abs=0.02)
    # kept rows say nothing; dropped even rows are false alarms; dropped odd rows are caught
    assert set(reasons[mask]) == {KEPT}
    assert set(reasons[~mask & ~odd]) == {"false alarm"}
    assert set(reasons[~mask & odd]) == {"odd"}


def test_knobs_are_reproducible_from_the_batch_stream():
    first = DropOdd(miss_rate=0.5).keep(make_batch(list(range(50)), seed=3))[0]
    again = DropOdd(miss_rate=0.5).keep(make_batch(list(range(50)), seed=3))[0]
    other = DropOdd(miss_rate=0.5).keep(make_batch(list(range(50)), seed=4))[0]
    assert first.tolist() == again.tolist() != other.tolist()


@pytest.mark.parametrize("knob", ["miss_rate", "false_alarm_rate"])
@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_rates_outside_zero_one_are_config_errors(knob, value):
    with pytest.raises(ConfigError, match=f"filter.{knob} must lie in \\[0, 1\\]"):
        DropOdd(**{knob: value})


def test_a_verdict_of_the_wrong_length_is_an_error():
    class Short(Filter):
        def decide(self, batch):
            return np.ones(1, dtype=bool), np.array([""])

    with pytest.raises(RuntimeError, match="wrong length"):
        Short().keep(make_batch([0, 1]))


def test_pipeline_rejects_a_filter_listed_twice():
    with pytest.raises(ConfigError, match="'drop_odd' twice"):
        Pipeline([DropOdd(), DropOdd()])


def test_build_pipeline_binds_recipe_specs_in_order():
    specs = [ComponentSpec(name="dedup", miss_rate=0.1),
             ComponentSpec(name="isolation", max_share=0.2)]
    pipeline = build_pipeline(specs)
    assert [type(f) for f in pipeline.filters] == [Dedup, Isolation]
    assert pipeline.filters[0].miss_rate == 0.1 and pipeline.filters[1].max_share == 0.2


@pytest.mark.parametrize(
    "spec, message",
    [(ComponentSpec(name="nope"), "unknown filter 'nope'; known filter names: "),
     (ComponentSpec(name="dedup", bogus=1), "filter.bogus is not a parameter of filter 'dedup'"),
     (ComponentSpec(name="dedup", miss_rate=2), "filter.miss_rate must lie in [0, 1]"),
     (ComponentSpec(name="isolation", max_share="lots"), "isolation")],
)
def test_build_pipeline_errors_are_one_line(spec, message):
    with pytest.raises(ConfigError) as error:
        build_pipeline([spec])
    assert message in str(error.value)
    assert "\n" not in str(error.value)
