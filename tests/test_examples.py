"""The tutorial example (examples/repetition_tutorial.py, a jupytext notebook) runs cell by
cell in a Jupyter kernel, as a notebook user runs it: with the README's command."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

# The notebook runs in a kernel process of its own.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def readme_notebook_command() -> list[str]:
    """The README's command that writes the executed notebook (``jupytext ...``)."""
    text = (ROOT / "README.md").read_text()
    command = re.search(r"`(jupytext [^`]*repetition_tutorial\.py)`", text).group(1)
    return shlex.split(command)


def test_repetition_tutorial_notebook_executes_with_the_readme_command(tmp_path, cache):
    command = readme_notebook_command()
    assert "--execute" in command
    shutil.copy(EXAMPLES / "repetition_tutorial.py", tmp_path)
    args = [a if a != "examples/repetition_tutorial.py" else "repetition_tutorial.py"
            for a in command[1:]]
    done = subprocess.run([sys.executable, "-m", "jupytext", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    notebook = nbformat.read(tmp_path / "repetition_tutorial.ipynb", as_version=4)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code"
               for o in cell.get("outputs", [])]
    kinds = {key for o in outputs for key in o.get("data", {})}
    assert {"text/html", "image/png"} <= kinds  # audio players, figures
    players = sum(str(o.get("data", {}).get("text/html", "")).count("<audio") for o in outputs)
    assert players >= 8
    assert not [o for o in outputs if o.get("output_type") == "error"]
