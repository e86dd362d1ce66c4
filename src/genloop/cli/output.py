"""What every command shares: the consoles, one-line errors, number formatting.

A leaf module: the command modules and the root app import it, it imports none of them.
"""

from __future__ import annotations

import functools
import logging
import math
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from genloop.core.errors import GenloopError

# Summary tables are wide; never squeeze them below 120 columns (CI has no terminal).
console = Console(width=max(Console().width, 120))
err_console = Console(stderr=True)


def _run_folder(filename) -> Path | None:
    """The run directory holding ``filename`` (a folder with ``config.yaml``), if any."""
    if not filename:
        return None
    for folder in Path(str(filename)).parents:
        if (folder / "config.yaml").is_file():
            return folder
    return None


def environment_message(exc: BaseException) -> str | None:
    """One line for a failure of the machine rather than of genloop: a full disk, a
    denied permission, exhausted memory, input nested beyond Python's recursion limit.

    ``None`` for any other exception (a bug: its traceback is worth seeing).
    """
    import errno

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES,
                                                  errno.EPERM, errno.EROFS):
        where = f" writing {exc.filename}" if exc.filename else ""
        run = _run_folder(exc.filename)
        # Finished units and checkpoints are written atomically: nothing half-written stays.
        resume = (f"finished generations are kept; rerun with --resume {run} to continue"
                  if run else "finished work is kept; rerun the command to continue")
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return f"no space left on the device{where}: {resume} once space is freed"
        return f"permission denied{where} ({exc.strerror}): {resume} once it is writable"
    if isinstance(exc, MemoryError):
        return ("out of memory: the input or a size in the recipe (n, dim, rows, columns) "
                "needs more memory than this machine has; lower it")
    if isinstance(exc, RecursionError):
        return "input nested too deeply to read (a recipe, override or data file)"
    return None


def friendly(func):
    """Print a GenloopError (or a full disk, denied permission, exhausted memory) as one
    line and exit 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except GenloopError as exc:
            # The message quotes user text (paths, values): never read it as Rich markup.
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False,
                              soft_wrap=True)
            raise typer.Exit(2) from None
        except (OSError, MemoryError, RecursionError) as exc:
            message = environment_message(exc)
            if message is None:
                raise
            err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False,
                              soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err_console.print("interrupted: finished generations are kept; rerun with --resume")
            raise typer.Exit(130) from None

    return wrapper


class _NoteHandler(logging.Handler):
    """genloop's log records (config notes) as ``note: ...`` lines on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        err_console.print(f"note: {record.getMessage()}", highlight=False, markup=False,
                          soft_wrap=True)


_logger = logging.getLogger("genloop")
if not any(isinstance(h, _NoteHandler) for h in _logger.handlers):
    _logger.addHandler(_NoteHandler())

RUN_HELP = "A run directory, `latest`, or a recipe name (its newest run under runs/)."


def run_path(reference: str | Path) -> Path:
    """The run directory a command argument names (``genloop.store.catalog.find_run``)."""
    from genloop.store.catalog import find_run

    return find_run(reference)


def plain(text: str) -> None:
    """Print ``text`` as it is: no rich markup or highlighting, long lines wrapped softly."""
    console.print(text, highlight=False, markup=False, soft_wrap=True)


def fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    value = value + 0.0  # no "-0"
    if value != 0 and (abs(value) >= 1e4 or abs(value) < 1e-3):
        return f"{value:.3e}"
    return f"{value:.4g}"


def int_list(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise GenloopError(f"--generations takes comma-separated integers, got {text!r}") from None
