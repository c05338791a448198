"""Beyond one machine on existing engines: Hydra's submitit launcher (SLURM, local)."""

import json
import os
import subprocess
import sys

import pytest


from configs import compose_cfg


# Every test here starts the command line in processes of its own.
pytestmark = pytest.mark.slow

def test_slurm_launcher_example_composes():
    cfg = compose_cfg("+algo=repet", "hydra/launcher=slurm", "hydra.launcher.partition=cpu",
                      hydra=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert (launcher.partition, launcher.cpus_per_task, launcher.mem_gb) == ("cpu", 8, 64)


def test_sweep_runs_for_real_through_the_submitit_local_launcher(tmp_path, cache):
    result = subprocess.run(
        [sys.executable, "-m", "repet_bench", "-m", "hydra/launcher=submitit_local", "+algo=repet",
         "mask=soft,binary", "dataset.duration=3", "runner.n_jobs=1", "runner.progress=false"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, env=os.environ)
    assert result.returncode == 0, result.stderr
    runs = sorted((tmp_path / "results" / "sweeps").glob("*/*/run.json"))
    assert len(runs) == 2
    assert {json.loads(p.read_text())["config"]["mask"]["name"] for p in runs} == {"soft", "binary"}
    assert all(json.loads(p.read_text())["status"] == "complete" for p in runs)
