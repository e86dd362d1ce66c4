"""CLI command ``audit``: a synthetic dataset measured against real data.

Registered on the main app by the last lines of :mod:`genloop.cli`.
"""

from __future__ import annotations

from genloop.cli import app  # noqa: F401
