"""Saving figures: the one place every bench writes a PNG, so a notebook can keep the figures.

Benches draw with matplotlib and save each figure to ``<run>/figures``. Inside
:func:`keeping_figures` (``Run.plot`` uses it) each saved figure is also collected, so the
Python API can hand back figure objects that display inline in a notebook, besides the
PNG paths. Figures drawn through pyplot are closed after saving either way: a closed
figure still renders (``fig.savefig``, a notebook's display), it is only released from
pyplot's registry, so that drawing many runs does not pile figures up in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

_KEPT: ContextVar[list | None] = ContextVar("genloop_kept_figures", default=None)


def save_figure(fig: Any, path: str | Path, **savefig: Any) -> Path:
    """Write ``fig`` to ``path`` (``savefig`` keywords pass through) and return the path.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        A figure made with ``matplotlib.figure.Figure`` or ``pyplot``.
    path : str or Path
        Where the PNG goes.
    **savefig
        Passed to :meth:`matplotlib.figure.Figure.savefig` (``dpi``, ``bbox_inches``).

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    fig.savefig(path, **savefig)
    kept = _KEPT.get()
    if kept is not None:
        kept.append(fig)
    manager = getattr(fig.canvas, "manager", None)
    if manager is not None:  # made by pyplot: release it from pyplot's registry
        import matplotlib.pyplot as plt

        plt.close(fig)
    return path


@contextmanager
def keeping_figures() -> Iterator[list]:
    """Collect every figure :func:`save_figure` writes inside the ``with`` block.

    Yields
    ------
    list of matplotlib.figure.Figure
        Filled as figures are saved, in order.
    """
    kept: list = []
    token = _KEPT.set(kept)
    try:
        yield kept
    finally:
        _KEPT.reset(token)
