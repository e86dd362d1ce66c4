"""BLAS/OpenMP thread control for code that works on many tiny matrices.

The fast paths multiply stacks of 1x1 to 10x10 matrices. Threaded BLAS only adds
synchronisation to such calls: on a 2-core machine sklearn's ``GaussianMixture`` on
2x2 covariances runs ~20x slower with the default thread pools than with one thread.
:func:`limited_threads` caps the pools for the duration of a block.

A :class:`threadpoolctl.ThreadpoolController` is built once (inspecting the loaded
libraries costs ~0.5 ms) and reused (entering a limit then costs ~10 us), so the fast
paths can wrap every generation without measurable overhead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

_CONTROLLER = None


def _controller(refresh: bool = False):
    global _CONTROLLER
    if _CONTROLLER is None or refresh:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


@contextlib.contextmanager
def limited_threads(limit: int | None = 1, refresh: bool = False) -> Iterator[None]:
    """Cap BLAS and OpenMP thread pools at ``limit`` threads inside the block.

    Parameters
    ----------
    limit : int or None, default=1
        Threads allowed; ``None`` leaves the pools untouched (a no-op block).
    refresh : bool, default=False
        Re-inspect the loaded libraries (call once after importing a library that brings
        its own thread pool, e.g. torch, if the limit should apply to it too).
    """
    if limit is None:
        yield
        return
    with _controller(refresh).limit(limits=int(limit)):
        yield
