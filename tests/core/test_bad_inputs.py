"""Bad input ends in one line on stderr and exit 2, never a traceback (issue 15, items 7–8).

Each case is a reproducer from the issue: a recipe file, ``--set`` overrides or data that
used to end in a Python traceback (item 7) or to pass with a nonsense result (item 8).
"""

from __future__ import annotations

import errno
import json

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from genloop.cli import app

runner = CliRunner()

TINY = {
    "name": "tiny",
    "bench": "collapse",
    "seeds": "0..1",
    "family": {"name": "gaussian"},
    "source": {"name": "gaussian", "dim": 1},
    "n": 20,
    "generations": 2,
    "holdout": 20,
    "metrics": ["log_variance"],
}


def one_line_error(result, *fragments: str) -> str:
    """Assert exit 2 and a single ``error:`` line on stderr (notes aside); return it."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if not line.startswith("note:")]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def recipe_file(tmp_path, text: str | bytes | dict, name: str = "r.yaml"):
    path = tmp_path / name
    if isinstance(text, dict):
        text = yaml.safe_dump(text)
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def run(tmp_path, recipe, *args):
    return runner.invoke(app, ["run", str(recipe), "--out", str(tmp_path / "out"), "--quiet",
                               *args])


TINY_YAML = yaml.safe_dump(TINY)


# --- recipe files ---------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "fragments"), [
    pytest.param(TINY_YAML.encode() + "description: caf\xe9\n".encode("latin-1"),
                 ("not UTF-8", "0xe9", "offset"), id="latin-1"),
    pytest.param(TINY_YAML.encode("utf-16"), ("not UTF-8", "offset 0"), id="utf-16"),
    pytest.param(b"\x00\x01\x02\xff" * 50, ("not UTF-8",), id="binary"),
    pytest.param("a: " + "[" * 500 + "]" * 500, ("deeper than",), id="nested-500-lists"),
    pytest.param("".join(f"{' ' * (2 * i)}k{i}:\n" for i in range(500)) + " " * 1000 + "v: 1",
                 ("deeper than",), id="nested-500-maps"),
    pytest.param(TINY_YAML + "n: 30\n", ("'n' appears twice", "lines"), id="duplicate-key"),
    pytest.param(TINY_YAML + "quick: [1, 2]\n", ("quick must map",), id="quick-list"),
    pytest.param(TINY_YAML + "quick: {null: 5}\n", ("key None in quick",), id="quick-null-key"),
    pytest.param(TINY_YAML + "variants: {a: 5}\n", ("variant 'a' must map",), id="variant-int"),
    pytest.param(TINY_YAML + "grid: {" + ", ".join(f"k{i}: [{', '.join(['1'] * 20)}]"
                                                   for i in range(5)) + "}\n",
                 ("3,200,000 points", "at most"), id="grid-3M"),
    pytest.param(TINY_YAML + "bench: [collapse]\n", ("appears twice",), id="bench-dup"),
])
def test_bad_recipe_files(tmp_path, content, fragments):
    result = run(tmp_path, recipe_file(tmp_path, content))
    one_line_error(result, *fragments)


@pytest.mark.parametrize(("overrides", "fragments"), [
    (["bench={}"], ("bench must name a bench",)),
    (["variants.mle=5"], ("variant 'mle' must map",)),
    (["mixing.policy=mix", "mixing.alpha=.nan", "mixing.beta=0.5", "mixing.gamma=0.5"],
     ("mixing.alpha", "finite")),
    (["source.variance=1e300"], ("source.variance", "1e+15")),
    (["source.variance=1.0e+300"], ("source.variance", "out of range")),
    (["n=10000000000"], ("config key 'n'", "100000000")),
    (["n=1.0e+10"], ("n",)),
    (["source.dim=1e6"], ("dim",)),
    (["family.name=[red]RED[/red]"], ("'[red]RED[/red]'",)),
    (["x=" + "[" * 200 + "]" * 200], ("deeper than",)),
    (["mixing={policy: replace, policy: mix}"], ("'policy' appears twice",)),
    (["quick=[1, 2]"], ("quick must map",)),
])
def test_bad_overrides(tmp_path, overrides, fragments):
    args = [a for item in overrides for a in ("--set", item)]
    result = run(tmp_path, recipe_file(tmp_path, TINY), *args)
    one_line_error(result, *fragments)


def test_rich_markup_in_a_path_is_shown_as_typed(tmp_path):
    result = runner.invoke(app, ["run", "[/bold]x.yaml"])
    one_line_error(result, "[/bold]x.yaml")


def test_grokking_infinite_learning_rate(tmp_path):
    result = runner.invoke(app, ["run", "grokking", "--quick", "--set", "grokking.lr=.inf",
                                 "--out", str(tmp_path / "out")])
    one_line_error(result, "grokking.lr")


def test_monitor_rule_on_an_unknown_metric(tmp_path):
    result = runner.invoke(app, ["run", "grokking", "--quick", "--set",
                                 "monitor.rules=[{metric: test_los, patience: 5}]",
                                 "--out", str(tmp_path / "out")])
    one_line_error(result, "test_los", "test_loss")


def test_seek_task_space_of_the_wrong_shape():
    for value in ("5", "[1, 2]", "{arithmetic: 5}", "{arithmetic: {ops: 7}}",
                  "{programs: [{kind: arithmetic, n_digits: x}]}", "{random_targets: [7]}",
                  "[{kind: noisy, program: 5}]"):
        result = runner.invoke(app, ["run", "seek-curriculum", "--quick", "--set",
                                     f"curriculum.task_space={value}"])
        one_line_error(result, "task_space")


def test_accumulate_subsample_budget_one_on_the_fast_engine(tmp_path):
    # The sample loop said "fitting Gaussian on 1 rows failed"; the exact path raised
    # numpy's LinAlgError.
    result = runner.invoke(app, ["run", "nature-gaussian", "--quick", "--seeds", "0..1",
                                 "--set", "engine=exact", "--set",
                                 "mixing.policy=accumulate_subsample", "--set",
                                 "mixing.budget=1", "--out", str(tmp_path / "out"), "--quiet"])
    one_line_error(result, "mixing.budget", "1 rows")


def test_disk_full_says_the_run_resumes(tmp_path, monkeypatch):
    from genloop.core import run_dir

    write = run_dir.atomic_write_with

    def full(path, writer):
        if "units" in str(path):  # config.yaml and meta.json fit; the first unit does not
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return write(path, writer)

    monkeypatch.setattr(run_dir, "atomic_write_with", full)
    result = run(tmp_path, recipe_file(tmp_path, TINY))
    one_line_error(result, "no space left", f"--resume {tmp_path / 'out'}", "once space is freed")


# --- data files -------------------------------------------------------------------------------


def file_recipe(tmp_path, data_path, **source):
    return recipe_file(tmp_path, TINY | {"source": {"name": "file", "path": str(data_path),
                                                     **source}})


def test_npy_header_claiming_1e11_rows(tmp_path):
    path = tmp_path / "huge.npy"
    header = {"descr": "<f8", "fortran_order": False, "shape": (10**11, 2)}
    with path.open("wb") as handle:
        np.lib.format.write_array_header_1_0(handle, header)
        handle.write(b"\0" * 64)
    one_line_error(run(tmp_path, file_recipe(tmp_path, path)), str(path), "rows")


def test_parquet_list_columns(tmp_path):
    import pandas as pd

    path = tmp_path / "lists.parquet"
    pd.DataFrame({"a": [[1.0, 2.0]] * 60}).to_parquet(path)
    recipe = file_recipe(tmp_path, path, kind="categorical")
    one_line_error(run(tmp_path, recipe), str(path), "lists or structs")
    synth = vectors_csv(tmp_path / "s.csv")
    result = runner.invoke(app, ["audit", "--real", str(path), "--synthetic", str(synth),
                                 "--quick", "-o", str(tmp_path / "a.html")])
    one_line_error(result, str(path), "lists or structs")


def test_csv_with_200k_columns_is_refused_early(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(200_000)) + "\n"
                    + ",".join(["1"] * 200_000) + "\n")
    one_line_error(run(tmp_path, file_recipe(tmp_path, path)), "columns", "at most")


def test_semicolon_csv_is_read_with_its_delimiter(tmp_path):
    from genloop.data.files import FileSource

    path = tmp_path / "semi.csv"
    path.write_text("a;b\n" + "".join(f"{i}.5;{2 * i}\n" for i in range(50)))
    source = FileSource(str(path))
    assert source.column_names == ["a", "b"] and source.rows.shape == (50, 2)


# --- audit and query -------------------------------------------------------------------------


def vectors_csv(path, rows=80, seed=0):
    values = np.random.default_rng(seed).normal(size=(rows, 2))
    path.write_text("x,y\n" + "".join(f"{a},{b}\n" for a, b in values))
    return path


def test_audit_out_is_a_directory(tmp_path):
    real, synth = vectors_csv(tmp_path / "r.csv"), vectors_csv(tmp_path / "s.csv", seed=1)
    result = runner.invoke(app, ["audit", "--real", str(real), "--synthetic", str(synth),
                                 "-o", str(tmp_path), "--quick"])
    one_line_error(result, str(tmp_path), "directory")


def test_audit_nan_weight_in_mix(tmp_path):
    real, synth = vectors_csv(tmp_path / "r.csv"), vectors_csv(tmp_path / "s.csv", seed=1)
    result = runner.invoke(app, ["audit", "--real", str(real), "--synthetic", str(synth),
                                 "--mix", "mix=nan,0.5,0.5", "--quick", "-o",
                                 str(tmp_path / "a.html")])
    one_line_error(result, "--mix", "finite")


def test_jsonl_nested_100k_deep(tmp_path):
    real = tmp_path / "r.jsonl"
    real.write_text('{"text": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
                    + json.dumps({"text": "a b c"}) + "\n")
    synth = tmp_path / "s.jsonl"
    synth.write_text("".join(json.dumps({"text": f"w{i} x y"}) + "\n" for i in range(50)))
    result = runner.invoke(app, ["audit", "--real", str(real), "--synthetic", str(synth),
                                 "--quick", "-o", str(tmp_path / "a.html")])
    one_line_error(result, str(real))


def test_semicolon_csv_audit_is_not_one_categorical_column(tmp_path):
    from genloop.audit.inputs import load_input

    path = tmp_path / "semi.csv"
    path.write_text("a;b\n" + "".join(f"{i}.5;{2 * i}\n" for i in range(50)))
    data = load_input(path)
    assert data.kind == "vectors" and data.columns == ["a", "b"]


def test_query_skips_a_run_with_a_bad_config(tmp_path):
    good = runner.invoke(app, ["run", str(recipe_file(tmp_path, TINY)), "--out",
                               str(tmp_path / "runs" / "good"), "--quiet"])
    assert good.exit_code == 0, good.output
    bad = tmp_path / "runs" / "bad"
    bad.mkdir()
    (bad / "config.yaml").write_text(yaml.safe_dump(TINY | {"variants": {"default": 5}}))
    (bad / "meta.json").write_text("{}")
    result = runner.invoke(app, ["query", "select count(*) as n from runs", "--runs",
                                 str(tmp_path / "runs"), "--csv"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "bad" in result.stderr and "Traceback" not in result.output


# --- text encodings --------------------------------------------------------------------------


def test_latin1_text_warns_instead_of_silently_replacing(tmp_path, caplog):
    from genloop.data.text import load_documents

    path = tmp_path / "latin.txt"
    path.write_bytes("caf\xe9 na\xefve r\xe9sum\xe9\n".encode("latin-1"))
    with caplog.at_level("WARNING", logger="genloop"):
        documents = load_documents(str(path))
    assert "\ufffd" in documents[""]
    assert "not UTF-8" in caplog.text and "offset 3" in caplog.text and "4 invalid" in caplog.text


def test_utf16_text_is_decoded_and_binary_refused(tmp_path):
    from genloop.core.errors import DataError
    from genloop.data.text import load_documents

    path = tmp_path / "wide.txt"
    path.write_text("hello world\n", encoding="utf-16")
    assert load_documents(str(path)) == {"": "hello world\n"}
    binary = tmp_path / "blob.txt"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataError, match="binary"):
        load_documents(str(binary))


# --- already fixed on main: kept as CLI reproducers -------------------------------------------


@pytest.mark.parametrize("seeds", ["[.inf]", "99999999999999999999", "0..100000000",
                                   "[1.7, 2.2]", "[true, false]"])
def test_bad_seeds_in_a_recipe(tmp_path, seeds):
    result = run(tmp_path, recipe_file(tmp_path, TINY_YAML.replace("seeds: 0..1",
                                                                   f"seeds: {seeds}")))
    one_line_error(result, "seeds")


def test_sweep_grid_is_sized_before_it_is_built(tmp_path):
    values = ",".join(str(v) for v in range(2, 2002))
    result = runner.invoke(app, ["sweep", str(recipe_file(tmp_path, TINY)), "--grid",
                                 f"n={values}", "--grid", f"holdout={values}", "--out",
                                 str(tmp_path / "sweep"), "--quiet"])
    one_line_error(result, "4,000,000 points", "10,000")


def test_markup_in_a_run_directory_is_printed_as_typed(tmp_path):
    out = tmp_path / "[bold]run[/bold]"
    result = runner.invoke(app, ["run", str(recipe_file(tmp_path, TINY)), "--out", str(out)])
    assert result.exit_code == 0, result.output
    flat = "".join(result.stdout.split())
    assert f"rundirectory:{out}".replace(" ", "") in flat
    assert "[bold]run[/bold]" in flat  # the table's title too


# --- the limits leave valid input alone -------------------------------------------------------


def test_a_saved_config_listing_300k_seeds_still_resolves():
    from genloop.core.config import resolve

    recipe = resolve(TINY | {"seeds": list(range(300_000))})
    assert len(recipe.seeds) == 300_000


def test_strict_loader_is_still_safe_and_allows_merge_keys():
    from genloop.core.config import parse_yaml
    from genloop.core.errors import ConfigError

    assert parse_yaml("base: &b {n: 1, m: 2}\nother: {<<: *b, n: 3}\n")["other"] == {
        "n": 3, "m": 2}
    with pytest.raises(ConfigError, match="cannot read"):
        parse_yaml("!!python/object/apply:os.system [echo hi]")


def test_a_damaged_config_yaml_is_one_line(tmp_path):
    """A run directory whose config.yaml is not UTF-8 (disk damage, a binary copy) gives one
    line naming the file for show and --resume, not a UnicodeDecodeError traceback."""
    from typer.testing import CliRunner

    from genloop.cli import app

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_bytes(b"name: x\n\xff\xfe bench: collapse\n")
    for args in (["show", str(run)], ["run", "--resume", str(run)]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "config.yaml" in result.output and "not UTF-8" in result.output
        assert "Traceback" not in result.output


def test_a_saved_config_is_read_as_strictly_as_a_recipe(tmp_path):
    """config.yaml goes through the recipe reader's YAML (a duplicated key is one line, not
    a silent last-wins), without its size cap (a large run's saved seed list)."""
    from typer.testing import CliRunner

    from genloop.cli import app

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("name: x\nn: 10\nn: 20\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["show", str(run)])
    assert result.exit_code == 2, result.output
    assert "'n' appears twice" in result.output and "Traceback" not in result.output
