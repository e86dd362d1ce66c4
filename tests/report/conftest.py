"""Fixtures shared by the report tests."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from genloop.cli import app


@pytest.fixture(scope="session")
def nature_gaussian_run(tmp_path_factory):
    """``genloop run nature-gaussian --quick``: two variants, a theory check each; made
    through the command line, as a user makes the run a report is read from."""
    out = tmp_path_factory.mktemp("nature-gaussian") / "run"
    result = CliRunner().invoke(app, ["run", "nature-gaussian", "--quick", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out
