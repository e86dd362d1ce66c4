"""What every command shares: the consoles, one-line errors, number formatting.

A leaf module: the command modules and the root app import it, it imports none of them.
"""

from __future__ import annotations

import functools
import math

import typer
from rich.console import Console

from genloop.core.errors import GenloopError

# Summary tables are wide; never squeeze them below 120 columns (CI has no terminal).
console = Console(width=max(Console().width, 120))
err_console = Console(stderr=True)


def friendly(func):
    """Print a GenloopError as one line and exit 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except GenloopError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err_console.print("interrupted: finished generations are kept; rerun with --resume")
            raise typer.Exit(130) from None

    return wrapper


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
