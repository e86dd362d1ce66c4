"""CLI commands for provenance: ``ledger verify``, ``lineage`` and ``export``.

Registered on the main app by the last lines of :mod:`genloop.cli`.
"""

from __future__ import annotations

from genloop.cli import app  # noqa: F401
