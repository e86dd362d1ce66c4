"""SIGKILL of a parallel sweep's parent leaves no process behind (issue 15, item 6).

Only the parent is killed (not its process group): the workers and multiprocessing's
resource tracker must notice on their own and end, whenever the kill lands — before the
pool exists, while workers are still importing, or mid-unit. A survivor would also keep
the caller's stdout open, so a CI job that reads it would hang; reading the pipe to its
end is part of the check.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

RECIPE = {
    "name": "orphan-test",
    "bench": "collapse",
    "seeds": "0..3",
    "family": {"name": "gaussian"},
    "source": {"name": "gaussian", "dim": 1},
    "n": 30,
    "generations": 3000,  # each unit runs far longer than the kill window
    "holdout": 50,
    "metrics": ["log_variance"],
    "engine": "samples",
}
CLI = [sys.executable, "-c", "from genloop.cli import app; app()"]


def session_members(sid: int) -> list[int]:
    """The pids of every live (non-zombie) process in session ``sid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the command name, which is in parentheses and may hold spaces.
        fields = stat.rsplit(")", 1)[1].split()
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            members.append(int(entry.name))
    return members


def spawned_worker(parent: int) -> bool:
    """True once ``parent`` has started a multiprocessing worker (still importing)."""
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                if b"spawn_main" in (entry / "cmdline").read_bytes():
                    return True
        except (OSError, ValueError, IndexError):
            continue
    return False


def kill_parent_at(tmp_path: Path, moment: float, after_spawn: bool = False) -> list[int]:
    """Start the sweep, SIGKILL its parent process after ``moment`` seconds (counted from
    its first worker's start with ``after_spawn``), and return the processes of its
    session still alive once stdout closes (or 30 s pass)."""
    recipe = tmp_path / "orphan.yaml"
    recipe.write_text(yaml.safe_dump(RECIPE))
    out = tmp_path / f"sweep-{moment:.3f}"
    process = subprocess.Popen(
        [*CLI, "sweep", str(recipe), "--grid", "mixing.policy=replace,accumulate",
         "--out", str(out), "--workers", "2", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    if after_spawn:
        deadline = time.monotonic() + 60
        while not spawned_worker(process.pid) and time.monotonic() < deadline:
            time.sleep(0.005)
    time.sleep(moment)
    process.send_signal(signal.SIGKILL)
    process.wait()
    # Every survivor holds the pipe's write end: EOF means all of them ended.
    deadline = time.monotonic() + 30
    os.set_blocking(process.stdout.fileno(), False)
    while time.monotonic() < deadline:
        try:
            chunk = process.stdout.read()
        except BlockingIOError:
            chunk = None
        if chunk == b"":
            break
        time.sleep(0.05)
    survivors = session_members(process.pid)
    for pid in survivors:  # leave the machine clean even when the test fails
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.stdout.close()
    return survivors


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("moment", [0.0, 0.05])
def test_sigkill_while_workers_start_leaves_none(tmp_path, moment):
    # The window that left orphans: workers spawned, still importing, no death signal yet.
    assert kill_parent_at(tmp_path, moment, after_spawn=True) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkill_mid_sweep_leaves_no_worker(tmp_path):
    assert kill_parent_at(tmp_path, 1.6) == []


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkill_at_twenty_random_moments(tmp_path):
    moments = sorted(random.Random(15).uniform(0.0, 3.0) for _ in range(20))
    left = {round(m, 3): kill_parent_at(tmp_path, m) for m in moments}
    assert {m: pids for m, pids in left.items() if pids} == {}
