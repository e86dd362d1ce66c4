"""Names are data, never paths (issue 15, items 1 and 2): one line and exit 2, no file
outside the run directory, and every shipped recipe's names still valid."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from genloop.cli import app
from genloop.core.config import known_recipes, load_raw, resolve
from genloop.core.errors import ConfigError, DataError
from genloop.core.names import check_name
from genloop.core.run_dir import RunDir, child

runner = CliRunner()


@pytest.mark.parametrize("name", ["keep-10%", "fresh-20%+watermark-miss0.1", "kde-h0.1",
                                  "policy=replace,n=100", "gamma 0.5", "a" * 100, 3])
def test_safe_names_pass(name):
    assert check_name("variants", name) == str(name)


@pytest.mark.parametrize("name", ["keep/10pct", "/abs/x", "../../../x", "a\\b", "a\0b", ".",
                                  "..", ".hidden", "-x", " x", "x ", "", "a" * 101, "tab\tx"])
def test_unsafe_names_are_one_line_naming_key_and_value(name):
    with pytest.raises(ConfigError) as caught:
        check_name("variants", name)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("variants: ")
    assert repr(name[:40]) in message


def test_every_shipped_recipe_keeps_valid_names():
    for path in known_recipes().values():
        raw = load_raw(path)
        check_name("name", raw["name"])
        for variant in raw.get("variants") or {}:
            check_name("variants", variant)


@pytest.mark.parametrize("override", [
    "variants={mle: {}, keep/10pct: {mixing.policy: keep_fraction}}",  # item 1: results vanish
    "variants={mle: {}, /abs/x: {}}",
    "variants={mle: {}, ../../../x: {}}",
    "name=/abs/path",
    "name=../../../x",
    'name="a\\0b"',
    "name=" + "n" * 300,
])
def test_run_with_an_unsafe_name_exits_2_and_writes_nothing(tmp_path, monkeypatch, override):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", "nature-gaussian", "--quick", "--quiet", "--set",
                                 override, "--out", str(tmp_path / "X")])
    assert result.exit_code == 2, result.output
    assert "is not a valid name" in result.output or "characters long" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing, anywhere


def test_recipe_file_with_an_unsafe_name_is_rejected(tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: ../../../x\nbench: collapse\n")
    with pytest.raises(ConfigError, match="name: '../../../x' is not a valid name"):
        resolve(recipe)


def test_paths_are_built_inside_the_run_directory(tmp_path):
    run = RunDir(tmp_path / "run")
    assert run.unit_file("mle__seed000001") == tmp_path / "run" / "units" / \
        "mle__seed000001.parquet"
    for unit in ("keep/10pct__seed000001", "../../x", "/abs/x"):
        for build in (run.unit_file, run.partial_dir, run.ledger_dir, run.artifact_dir):
            with pytest.raises(DataError, match="lies outside"):
                build(unit)
    for build in (run.ledger_dir, run.artifact_dir):
        with pytest.raises(DataError, match="lies outside"):
            build("..")
    with pytest.raises(DataError, match="lies outside"):
        child(tmp_path, "../escape")
    assert not (tmp_path / "run").exists()
