"""Shared bits of the benchmark scripts: machine description and timing.

Each benchmark measures the fast path and its baseline in the same process, one after
the other, and prints the ratio; absolute times depend on the machine and its load.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time


def machine_summary() -> str:
    """One line: cores, CPU model, OpenBLAS settings and the current load."""
    model = platform.processor() or "unknown CPU"
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in lscpu.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    blas = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP_", "MKL_"))}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"nproc={os.cpu_count()}  cpu={model}  blas_env={blas or 'unset'}  load(1 min)={load:.2f}"
    )


def timed(function, *args, **kwargs):
    """Run ``function`` once; return (result, seconds)."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def best_of(repeats: int, function, *args, **kwargs):
    """Run ``function`` ``repeats`` times; return (last result, fastest seconds).

    The minimum is the usual estimate for short timings on a shared machine: other
    processes only ever add time.
    """
    best, result = float("inf"), None
    for _ in range(repeats):
        result, seconds = timed(function, *args, **kwargs)
        best = min(best, seconds)
    return result, best


def report(title: str, rows: list[tuple[str, str]]) -> None:
    """Print a small aligned table."""
    print(f"\n== {title}")
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
