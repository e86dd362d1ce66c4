"""A resume checks what it resumes, and one process writes a run directory (issue 15,
items 4 and 5): an edited config is one line naming its keys, never a silent mix of two
experiments; a second process on a locked directory exits 2 naming the holder's PID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import yaml
from typer.testing import CliRunner

import genloop
from genloop.cli import app
from genloop.core.errors import ConfigError
from genloop.provenance.ledger import verify
from genloop.sweep import run_sweep

runner = CliRunner()
RECIPE = {
    "name": "guard", "bench": "collapse", "seeds": "0..3", "engine": "samples",
    "family": {"name": "gaussian"}, "source": {"name": "gaussian", "dim": 1},
    "n": 20, "generations": 4, "holdout": 20, "metrics": ["log_variance"],
}


def edit(path, **changes):
    config = yaml.safe_load(path.read_text())
    config.update(changes)
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def test_resume_of_an_edited_config_names_the_keys_and_never_mixes(tmp_path, crash_in_seed):
    out = tmp_path / "run"
    crash_in_seed(RECIPE, out, crash_at=2, seed=2)  # seeds 0-1 finished, 2 mid-way, 3 not started
    edit(out / "config.yaml", n=30, generations=6)
    result = runner.invoke(app, ["run", "--resume", str(out), "--quiet"])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        f"error: {out}: config.yaml changed since the run started (generations, n); finished "
        "units ran the old config. Restore it, or pass --force-new-config to rerun the changed "
        "units afresh"]
    assert not (out / "metrics.parquet").exists()

    result = runner.invoke(app, ["run", "--resume", str(out), "--quiet", "--force-new-config"])
    assert result.exit_code == 0, result.output
    metrics = genloop.load(out).metrics
    # every seed ran the new config: seven generations each, none from the old one
    assert metrics.groupby("seed").generation.max().tolist() == [6, 6, 6, 6]
    assert verify(out) == []


def test_an_unedited_resume_still_continues(tmp_path, crash_in_seed):
    out = tmp_path / "run"
    crash_in_seed(RECIPE, out, crash_at=2, seed=2)
    result = runner.invoke(app, ["run", "--resume", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "ledger sha256 " in result.output and "--expect" in result.output
    assert sorted(genloop.load(out).metrics.seed.unique()) == [0, 1, 2, 3]


def test_force_new_config_needs_resume():
    result = runner.invoke(app, ["run", "nature-gaussian", "--force-new-config"])
    assert result.exit_code == 2 and "--force-new-config goes with --resume" in result.output


def test_resume_of_an_edited_sweep_point_names_the_point_and_keys(tmp_path):
    out = tmp_path / "sweep"
    sweep = run_sweep(RECIPE | {"seeds": "0..1"}, grid=["mixing.policy=replace,accumulate"],
                      out=out, workers=1)
    point = next(iter(sweep.points))
    edit(out / "points" / point / "config.yaml", n=30)
    with pytest.raises(ConfigError) as caught:
        run_sweep(resume=out, workers=1)
    assert str(caught.value) == (f"point {point}: config.yaml differs from the config sweep.json "
                                 "saved (n); restore it, or start a new sweep")
    # a point is a run directory: resuming it alone checks the same
    with pytest.raises(ConfigError, match=r"config.yaml changed since the run started \(n\)"):
        genloop.run(None, resume=out / "points" / point)


CLI = [sys.executable, "-c", "from genloop.cli import app; app()"]


def test_a_second_process_on_a_locked_run_exits_2_naming_the_holder(tmp_path):
    recipe = tmp_path / "long.yaml"
    out = tmp_path / "run"
    recipe.write_text(yaml.safe_dump(RECIPE | {"seeds": 0, "generations": 100_000,
                                               "ledger": "off",
                                               "mixing": {"policy": "keep_fraction",
                                                          "fraction": 0.5}}))
    env = os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)}
    first = subprocess.Popen([*CLI, "run", str(recipe), "--out", str(out), "--quiet"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        # config.yaml is written under the lock: once it exists, the first run holds it
        while not (out / "config.yaml").is_file() and time.monotonic() < deadline:
            assert first.poll() is None, "the first run ended before it started"
            time.sleep(0.1)
        second = subprocess.run([*CLI, "run", "--resume", str(out), "--quiet"], env=env,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 2, second.stderr
        lines = " ".join(second.stderr.split())  # rich may wrap the one line
        assert f"is in use by genloop process {first.pid}" in lines
        assert "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # the kernel released the killed holder's lock: the next writer may take it
    from genloop.core.run_dir import RunDir

    with RunDir(out).lock():
        assert (out / ".lock").read_text() == f"{os.getpid()}\n"


def test_the_lock_is_released_and_reentrant(tmp_path):
    from genloop.core.errors import DataError
    from genloop.core.run_dir import RunDir

    run = RunDir(tmp_path)
    stray = tmp_path / "units" / ".a.parquet.123.tmp"
    stray.parent.mkdir()
    stray.write_text("left by a killed writer")
    with run.lock(), run.lock():  # nested in one process: one lock
        assert not stray.exists()  # temporaries are cleaned by the lock holder only
        assert (tmp_path / ".lock").read_text() == f"{os.getpid()}\n"
        code = ("import sys; from genloop.core.run_dir import RunDir\n"
                f"RunDir({str(tmp_path)!r}).lock().__enter__()")
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               env=os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)})
        assert DataError.__name__ in other.stderr and str(os.getpid()) in other.stderr
    with run.lock():  # released at the end of the outer block
        pass


def test_a_sweep_point_in_use_stops_the_sweep(tmp_path):
    out = tmp_path / "sweep"
    sweep = run_sweep(RECIPE | {"seeds": 0}, grid=["mixing.policy=replace,accumulate"], out=out,
                      workers=1)
    point = out / "points" / next(iter(sweep.points))
    code = ("import sys, time; from genloop.core.run_dir import RunDir\n"
            f"with RunDir({str(point)!r}).lock():\n"
            "    print('locked', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              env=os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert holder.stdout.readline().strip() == "locked"
        from genloop.core.errors import DataError

        with pytest.raises(DataError, match=f"is in use by genloop process {holder.pid} "):
            run_sweep(resume=out, workers=1)
    finally:
        holder.kill()
        holder.wait()
