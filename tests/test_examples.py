"""The tutorial example (examples/repetition_tutorial.py, a jupytext notebook) runs cell by
cell in a Jupyter kernel, as a notebook user runs it."""

from __future__ import annotations

from pathlib import Path

import jupytext

import pytest
from nbclient import NotebookClient

# Every test here starts the command line in processes of its own.
pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_repetition_tutorial_notebook_executes(tmp_path, cache):
    notebook = jupytext.read(EXAMPLES / "repetition_tutorial.py")
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code"
               for o in cell.get("outputs", [])]
    kinds = {key for o in outputs for key in o.get("data", {})}
    assert {"text/html", "image/png"} <= kinds  # audio players, figures
    players = sum(str(o.get("data", {}).get("text/html", "")).count("<audio") for o in outputs)
    assert players >= 8
    assert not [o for o in outputs if o.get("output_type") == "error"]
