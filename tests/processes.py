"""The command line in a process of its own: run to its end (:func:`cli`), or started so
that a test's kill lands where the test means (:func:`start_run`).

A test polls the run's files and kills it once some tracks are scored. Under a parallel
test session (pytest-xdist: every core busy) the polling process can wait for a core
while the run scores several more tracks, and the kill lands too late. At a lower CPU
priority (nice 10) the run yields the core as soon as the polling test wakes, so what
the test sees is what the run has done when the signal is sent.
"""

from __future__ import annotations

import os
import subprocess
import sys

NICENESS = 10


def start_run(args: list, **popen) -> subprocess.Popen:
    """``python -m repet_bench *args`` at a lower CPU priority; ``popen``: Popen's options."""
    return subprocess.Popen([sys.executable, "-m", "repet_bench", *args],
                            preexec_fn=lambda: os.nice(NICENESS), **popen)


def cli(*args: str, cwd=None, env: dict | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m repet_bench *args`` to its end, output captured as text; ``env``:
    variables set over this process's."""
    return subprocess.run([sys.executable, "-m", "repet_bench", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
