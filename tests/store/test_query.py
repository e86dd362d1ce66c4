"""DuckDB views over runs and sweeps (tier 1)."""

from __future__ import annotations

import pytest

import genloop
from genloop.core.errors import ConfigError, DataError
from genloop.store.query import connect, find_runs, query
from genloop.sweep import run_sweep

pytest.importorskip("duckdb", reason="DuckDB is the `query` extra")

RECIPE = {
    "name": "query-test",
    "bench": "collapse",
    "seeds": "0..1",
    "family": {"name": "gaussian"},
    "source": {"name": "gaussian", "dim": 1},
    "n": 30,
    "generations": 4,
    "holdout": 50,
    "metrics": ["log_variance"],
    "engine": "samples",
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    run_sweep(
        RECIPE,
        grid=["mixing.policy=replace,keep_fraction,accumulate"],
        out=root / "sweep-a",
        workers=1,
    )
    genloop.run(
        RECIPE
        | {
            "variants": {
                "mle": {"family.estimator": "mle"},
                "unbiased": {"family.estimator": "unbiased"},
            }
        },
        out=root / "plain",
    )
    return root


def test_the_issue_query_works_across_a_sweep(runs):
    frame = query(
        "select policy, generation, median(value) as m from metrics "
        "where metric='log_variance' group by all order by all",
        runs,
    )
    assert set(frame["policy"].dropna()) == {"replace", "keep_fraction", "accumulate"}
    assert len(frame[frame["policy"].notna()]) == 3 * 5
    # The plain run has no policy column of its own: NULL there.
    assert frame["policy"].isna().sum() == 5


def test_metrics_carry_run_kind_point_and_variant(runs):
    frame = query(
        "select run, kind, point, variant, count(*) as n from metrics group by all order by all",
        runs,
    )
    sweep_rows = frame[frame["kind"] == "sweep"]
    assert set(sweep_rows["run"]) == {"sweep-a"} and len(sweep_rows) == 3
    plain = frame[frame["kind"] == "run"]
    assert set(plain["variant"]) == {"mle", "unbiased"} and plain["point"].isna().all()


def test_configs_are_flattened_with_defaults(runs):
    frame = query(
        "select run, point, variant, mixing_policy, family_name, n, "
        "checkpoint_seconds from configs order by all",
        runs,
    )
    assert len(frame) == 3 + 2
    assert set(frame["mixing_policy"]) == {"replace", "keep_fraction", "accumulate"}
    assert (frame["n"] == 30).all() and (frame["checkpoint_seconds"] == 2.0).all()  # a default
    estimators = query(
        "select variant, family_estimator from configs where kind='run' order by variant", runs
    )
    assert estimators["family_estimator"].tolist() == ["mle", "unbiased"]


def test_runs_and_summaries_views(runs):
    table = query("select run, kind, recipe, points from runs order by run", runs)
    assert table["run"].tolist() == ["plain", "sweep-a"]
    assert table["recipe"].tolist() == ["query-test", "query-test"]
    summary = query(
        "select policy, median, ci_low, ci_high from summaries "
        "where metric = 'log_variance' and generation = 4",
        runs,
    )
    assert len(summary) == 3 and (summary["ci_low"] <= summary["median"]).all()


def test_points_are_not_listed_twice(runs):
    kinds = [kind for kind, _ in find_runs(runs)]
    assert sorted(kinds) == ["run", "sweep"]


def test_errors_are_one_line(runs, tmp_path):
    with pytest.raises(ConfigError, match="query failed: Catalog Error.*views: metrics"):
        query("select * from nothing", runs)
    with pytest.raises(DataError, match="runs folder not found"):
        query("select 1", tmp_path / "absent")
    con = connect(tmp_path)  # an empty folder still has the views
    assert con.execute("select count(*) from metrics").fetchone() == (0,)


def test_the_ledgers_view_holds_every_ledger_row(tmp_path):
    """The view used to glob ``ledger*.parquet`` and never found ``gen*.ledger.parquet``."""
    genloop.run("nature-gaussian", quick=True, variants=["mle"], seeds=[0],
                overrides={"engine": "samples", "generations": 2}, out=tmp_path / "led")
    counts = query("select origin, count(*) as n from ledgers group by origin order by origin",
                   tmp_path)
    n = genloop.load(tmp_path / "led").recipe.config.n
    # One ledger row per pool row: generation 0's pool is real, then one pool per generation.
    assert counts.set_index("origin")["n"].to_dict() == {"real": n, "gen:0": n, "gen:1": n}
