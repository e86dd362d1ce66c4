"""examples/quickstart.ipynb executes under nbclient, and shows what a notebook user expects.

The notebook runs in a real Jupyter kernel (ipykernel) in a scratch directory; its outputs
must hold the HTML view of a Run with an inline figure (a base64 PNG) and the verdict table
of an AuditResult — the displays a user sees, not just "no exception".
"""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "quickstart.ipynb"


def html_outputs(notebook) -> list[str]:
    return [output["data"]["text/html"] for cell in notebook.cells if cell.cell_type == "code"
            for output in cell.get("outputs", [])
            if "data" in output and "text/html" in output["data"]]


def test_quickstart_notebook_executes(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), (
        "commit the notebook without outputs (the test makes them)")
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    html = html_outputs(notebook)
    run_views = [h for h in html if "<b>nature-gaussian</b>" in h]
    assert run_views, "no Run displayed as HTML"
    assert "data:image/png;base64," in run_views[0], "the Run view has no inline figure"
    assert "log-variance change" in run_views[0]  # the bench's finding
    assert any(h.startswith("<figure><img src=\"data:image/png;base64,") and "metrics.png" in h
               for h in html), (
        "run.plot() did not display its figures inline")
    audit_views = [h for h in html if "genloop audit" in h and "<th>verdict</th>" in h]
    assert audit_views and "tails" in audit_views[0], "no AuditResult verdict table displayed"
    assert (tmp_path / "runs").is_dir()  # the run went to the notebook's own directory
