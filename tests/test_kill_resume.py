"""Never lose work: real process kills, reruns, and two runs racing for one dir."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from processes import start_run

# Every test here starts the command line in processes of its own.
pytestmark = pytest.mark.slow

ARGS = ["+algo=repet", "dataset=synthetic", "dataset.duration=4", "runner.progress=false"]


def start(run_dir: Path, *extra, n_jobs=1):
    return start_run([*ARGS, f"runner.n_jobs={n_jobs}", f"hydra.run.dir={run_dir}", *extra],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def scored(run_dir: Path) -> int:
    folder = run_dir / "tracks" / "test"
    if not folder.exists():
        return 0
    return sum(json.loads(p.read_text())["status"] == "scored" for p in folder.glob("*.json"))


def wait_for(predicate, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError


def children(parent: psutil.Process, needle: str, exclude: str = "resource_tracker") -> list:
    """Live descendants whose command line contains ``needle``."""
    found = []
    for child in parent.children(recursive=True):
        try:
            cmd = " ".join(child.cmdline())
        except psutil.Error:  # exited meanwhile
            continue
        if needle in cmd and exclude not in cmd:
            found.append(child)
    return found


def scores(run_dir: Path) -> pd.DataFrame:
    df = pd.read_parquet(run_dir / "scores.parquet").drop(columns="run")
    return df.sort_values(["track", "target", "metric", "frame"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory, cache):
    run_dir = tmp_path_factory.mktemp("uninterrupted")
    proc = start(run_dir, n_jobs=2)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return run_dir


def finish(run_dir: Path, n_jobs=1):
    proc = start(run_dir, n_jobs=n_jobs)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return out


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_killed_parent_then_rerun_equals_uninterrupted_run(tmp_path, reference_run, sig):
    run_dir = tmp_path / "run"
    proc = start(run_dir)
    wait_for(lambda: scored(run_dir) >= 1)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    done = scored(run_dir)
    assert 1 <= done < 4, "the kill must land mid-run"
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] != "complete"  # a killed run never claims to be complete
    if sig != signal.SIGKILL:
        assert meta["status"] == "interrupted" and proc.returncode == 130

    out = finish(run_dir)
    assert f"({done} resumed)" in out
    assert json.loads((run_dir / "run.json").read_text())["status"] == "complete"
    pd.testing.assert_frame_equal(scores(run_dir), scores(reference_run))
    assert not list(run_dir.rglob(".tmp-*"))


def test_killed_worker_is_reported_and_its_track_retried(tmp_path, reference_run):
    run_dir = tmp_path / "run"
    proc = start(run_dir, n_jobs=2)
    parent = psutil.Process(proc.pid)

    def workers():
        return children(parent, "popen_loky")

    wait_for(lambda: len(workers()) == 2)
    time.sleep(1.0)  # mid-track: loading or separating
    assert scored(run_dir) < 4
    workers()[0].kill()
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert "killed" in out + err and "retrying" in out + err
    pd.testing.assert_frame_equal(scores(run_dir), scores(reference_run))


def test_two_runs_into_one_dir_never_corrupt_it(tmp_path, reference_run):
    run_dir = tmp_path / "run"
    first, second = start(run_dir), start(run_dir)
    results = [p.communicate(timeout=600) + (p.returncode,) for p in (first, second)]
    codes = sorted(r[2] for r in results)
    assert codes in ([0, 0], [0, 2]), results
    if codes == [0, 2]:
        assert any("another run" in r[1] for r in results), results
    assert json.loads((run_dir / "run.json").read_text())["status"] == "complete"
    pd.testing.assert_frame_equal(scores(run_dir), scores(reference_run))


def test_dask_local_cluster_survives_a_killed_worker(tmp_path, reference_run):
    run_dir = tmp_path / "run"
    proc = start(run_dir, "runner=dask", "runner.n_workers=2")
    parent = psutil.Process(proc.pid)

    def workers():
        return children(parent, "spawn_main")

    wait_for(lambda: len(workers()) == 2 and scored(run_dir) >= 1)
    assert scored(run_dir) < 4, "the kill must land mid-run"
    workers()[0].kill()
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert "4/4 tracks scored" in out
    # every track scored exactly once: one record each, equal scores to the uninterrupted run
    assert len(list((run_dir / "tracks" / "test").glob("*.json"))) == 4
    pd.testing.assert_frame_equal(scores(run_dir), scores(reference_run))


def test_workers_die_with_a_killed_run(tmp_path, reference_run):
    """SIGKILL of the run at n_jobs=2: its loky workers would otherwise live on for
    minutes (loky's idle timeout), writing into the unlocked run dir."""
    run_dir = tmp_path / "run"
    proc = start(run_dir, n_jobs=2)
    parent = psutil.Process(proc.pid)
    wait_for(lambda: len(children(parent, "popen_loky")) == 2)
    workers = children(parent, "popen_loky")
    time.sleep(1.0)  # mid-track
    proc.kill()
    proc.wait(timeout=60)
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, [w.pid for w in alive]
    # and a rerun finishes the run as if nothing happened
    finish(run_dir)
    pd.testing.assert_frame_equal(scores(run_dir), scores(reference_run))
