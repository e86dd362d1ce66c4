"""Executors: run a list of work units in this process, a local process pool, or Ray.

All three share one interface, :meth:`Executor.run`, and one worker function,
:func:`run_unit_task`. A unit writes only its own files (result Parquet, checkpoint
folder, artifacts), and the parent writes every shared file (configs, meta, aggregates)
before dispatch or after collection, so workers never race on a file.

Ray is imported only inside :class:`RayExecutor`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from genloop.core.errors import ConfigError, GenloopError


@dataclass(frozen=True)
class UnitTask:
    """One work unit of a sweep: a grid point's variant × seed (or batch of seeds).

    Attributes
    ----------
    point : str
        The grid point id.
    run_dir : str
        The point's run directory (its ``config.yaml`` says what to run).
    unit, variant : str
    seeds : tuple of int
    engine : str or None
        The batch engine of a fast-path unit, ``None`` for one seed.
    steps : int
        Weight of the unit on the progress bar.
    """

    point: str
    run_dir: str
    unit: str
    variant: str
    seeds: tuple[int, ...]
    engine: str | None
    steps: int


@lru_cache(maxsize=64)
def _recipe(run_dir: str):
    # A worker runs many units of the same point: validate its config once.
    from genloop.core.config import resolve
    from genloop.core.run_dir import RunDir

    return resolve(RunDir(run_dir).read_config())


def run_unit_task(task: UnitTask) -> dict:
    """Run one unit (in whatever process calls it); returns ``{unit, engine, seconds}``."""
    from genloop.core.run_dir import RunDir
    from genloop.core.runner import run_unit

    started = time.perf_counter()
    engine = run_unit(
        _recipe(task.run_dir), RunDir(task.run_dir), task.variant, list(task.seeds), task.engine
    )
    return {
        "unit": task.unit,
        "engine": engine,
        "seconds": round(time.perf_counter() - started, 3),
        "pid": os.getpid(),
    }


def _die_with_parent(parent: int) -> None:
    """Worker initializer: end this worker as soon as the sweep's process ``parent`` dies.

    Without it, workers of a parent killed with SIGKILL would finish their units alone,
    keep the caller's stdout open (a CI job reading it hangs) and might write the same unit
    files as a rerun of the sweep. On Linux the kernel sends SIGKILL on the parent's death
    (``PR_SET_PDEATHSIG``); that only covers deaths after this call, so a parent that died
    while the worker was still starting (imports take a second) is caught by comparing
    ``os.getppid()`` with the pid the parent passed. Elsewhere a daemon thread polls it.
    """
    import signal
    import sys
    import threading

    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:  # the parent died before the call above
                    os._exit(1)
                return
        except (OSError, AttributeError):  # no prctl in this libc: poll instead
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watch, name="genloop-parent-watch", daemon=True).start()


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


OnDone = Callable[[UnitTask, dict], None]
OnError = Callable[[UnitTask, str], None]


class Executor:
    """Runs units and reports each one as it finishes.

    Parameters
    ----------
    workers : int
        Units running at once.
    retries : int
        Extra attempts for a unit that raised or whose worker died.
    """

    name = "base"

    def __init__(self, workers: int = 1, retries: int = 1):
        if workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {workers}")
        if retries < 0:
            raise ConfigError(f"--retries must be 0 or more, got {retries}")
        self.workers = workers
        self.retries = retries

    def run(self, tasks: list[UnitTask], on_done: OnDone, on_error: OnError) -> None:
        """Run every task; call ``on_done(task, result)`` or ``on_error(task, message)``."""
        raise NotImplementedError


class SerialExecutor(Executor):
    """Units one after another in this process (``--workers 1``; easiest to debug)."""

    name = "serial"

    def run(self, tasks, on_done, on_error):
        for task in tasks:
            for attempt in range(self.retries + 1):
                try:
                    result = run_unit_task(task)
                except GenloopError as exc:  # a user mistake: retrying cannot help
                    on_error(task, str(exc))
                    break
                except Exception as exc:
                    if attempt == self.retries:
                        on_error(task, first_line(exc))
                else:
                    on_done(task, result)
                    break


class LocalExecutor(Executor):
    """A pool of worker processes on this machine (the default backend).

    Workers are started with ``spawn`` (a fresh interpreter: no inherited threads or
    locks) and reused for many units. A worker that dies (killed, out of memory) breaks
    the pool; the pool is rebuilt and the unfinished units are resubmitted, each at most
    ``retries`` extra times.
    """

    name = "local"

    def run(self, tasks, on_done, on_error):
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        attempts = {task: 0 for task in tasks}
        pending = list(tasks)
        context = multiprocessing.get_context("spawn")
        while pending:
            pool = ProcessPoolExecutor(
                max_workers=min(self.workers, len(pending)),
                mp_context=context,
                initializer=_die_with_parent,
                initargs=(os.getpid(),),
            )
            futures = {pool.submit(run_unit_task, task): task for task in pending}
            pending = []
            broken = False
            try:
                while futures:
                    done, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for future in done:
                        task = futures.pop(future)
                        try:
                            result = future.result()
                        except GenloopError as exc:  # a user mistake: retrying cannot help
                            on_error(task, str(exc))
                        except BrokenProcessPool:
                            broken = True
                            self._retry(task, attempts, pending, on_error, "worker died")
                        except Exception as exc:
                            self._retry(task, attempts, pending, on_error, first_line(exc))
                        else:
                            on_done(task, result)
                    if broken:
                        # Every other future of a broken pool fails too: resubmit them.
                        for task in futures.values():
                            pending.append(task)
                        futures = {}
            finally:
                pool.shutdown(wait=True, cancel_futures=True)

    def _retry(self, task, attempts, pending, on_error, message):
        attempts[task] += 1
        if attempts[task] > self.retries:
            on_error(task, message)
        else:
            pending.append(task)


class RayExecutor(Executor):
    """Ray tasks, one per unit, on a local Ray or an existing cluster (``address``).

    Ray retries a unit whose worker died or that raised (``max_retries=retries``,
    ``retry_exceptions=True``). Every node must see the sweep directory at the same path
    (a shared file system); the units write their results there themselves.
    """

    name = "ray"

    def __init__(self, workers: int = 1, retries: int = 1, address: str | None = None):
        super().__init__(workers, retries)
        self.address = address

    def run(self, tasks, on_done, on_error):
        try:
            import ray
        except ImportError:
            raise ConfigError("--backend ray needs Ray: pip install 'genloop[ray]'") from None
        started_here = not ray.is_initialized()
        if started_here:
            options = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
            if self.address:
                ray.init(address=self.address, **options)
            else:
                ray.init(num_cpus=self.workers, **options)
        try:
            remote = ray.remote(num_cpus=1, max_retries=self.retries, retry_exceptions=True)(
                run_unit_task
            )
            refs = {remote.remote(task): task for task in tasks}
            while refs:
                done, _ = ray.wait(list(refs), num_returns=1)
                task = refs.pop(done[0])
                try:
                    result = ray.get(done[0])
                except Exception as exc:
                    cause = getattr(exc, "cause", None) or exc
                    on_error(
                        task, str(cause) if isinstance(cause, GenloopError) else first_line(cause)
                    )
                else:
                    on_done(task, result)
        finally:
            if started_here:
                ray.shutdown()


def make_executor(
    backend: str, workers: int | None = None, retries: int = 1, ray_address: str | None = None
) -> Executor:
    """The executor for ``--backend`` (``local`` or ``ray``) and ``--workers``.

    ``workers`` defaults to the number of CPU cores; ``local`` with one worker runs the
    units in this process.
    """
    workers = (os.cpu_count() or 1) if workers is None else workers
    if backend == "local":
        cls = SerialExecutor if workers == 1 else LocalExecutor
        return cls(workers, retries)
    if backend == "ray":
        return RayExecutor(workers, retries, ray_address)
    raise ConfigError(f"unknown backend {backend!r}; allowed: local, ray")
