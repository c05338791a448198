"""Sweeps that share per-track work write exactly what the point-by-point sweep writes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from musdb_layout import TEST_NAMES, make_stems_root
from processes import cli, start_run

# Every test here starts the command line in processes of its own.
pytestmark = pytest.mark.slow

GRID = ["-m", "+algo=repet,oracle", "mask=soft,binary", "dataset=synthetic",
        "dataset.n_tracks=2", "dataset.duration=8", "runner.n_jobs=1", "runner.progress=false"]
TIMINGS = {"load_seconds", "separation_seconds", "evaluation_seconds", "crosscheck_seconds",
           "shared"}


def sweep_dir(cwd: Path) -> Path:
    (only,) = (cwd / "results" / "sweeps").iterdir()
    return only


def museval_files(sweep: Path) -> dict:
    return {str(p.relative_to(sweep)): p.read_bytes() for p in sweep.glob("*/museval/*/*.json")}


def run_json(sweep: Path) -> dict:
    return {p.parent.name: json.loads(p.read_text()) for p in sweep.glob("*/run.json")}


def without_timings(meta: dict) -> dict:
    keep = {k: v for k, v in meta.items() if k not in {"started", "finished", "wall_seconds"}}
    keep["tracks"] = {key: {k: v for k, v in rec.items() if k not in TIMINGS}
                      for key, rec in meta["tracks"].items()}
    return keep


def test_a_killed_shared_sweep_resumes_to_what_the_point_by_point_sweep_writes(tmp_path, cache):
    basic, shared = tmp_path / "basic", tmp_path / "shared"
    basic.mkdir(), shared.mkdir()
    done = cli(*GRID, "hydra/launcher=basic", cwd=basic)
    assert done.returncode == 0, done.stderr

    # The shared sweep, SIGKILLed once the first track is scored for every point.
    proc = start_run(GRID, cwd=shared, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        found = list((shared / "results").glob("sweeps/*/*/tracks/*/*.json"))
        if len(found) >= 4:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    interrupted = run_json(sweep_dir(shared))
    assert {m["status"] for m in interrupted.values()} == {"running"}, "killed too late"

    again = cli(*GRID, cwd=shared)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("2/2 tracks scored (1 resumed)") == 4

    # Same sweep dir name, run dirs, museval JSON (byte for byte), scores and run.json.
    a, b = sweep_dir(basic), sweep_dir(shared)
    assert a.name == b.name  # the launcher does not name the sweep
    assert sorted(p.name for p in a.iterdir()) == sorted(p.name for p in b.iterdir())
    assert museval_files(a) == museval_files(b) and len(museval_files(a)) == 8
    for point in run_json(a):
        pd.testing.assert_frame_equal(pd.read_parquet(a / point / "scores.parquet"),
                                      pd.read_parquet(b / point / "scores.parquet"))
    metas_a, metas_b = run_json(a), run_json(b)
    assert {k: without_timings(m) for k, m in metas_a.items()} == {
        k: without_timings(m) for k, m in metas_b.items()}
    # Shared: one decode per track for the 4 points and one REPET / oracle run for 2 each.
    repet_soft = next(k for k in metas_b if k.startswith("+algo=repet,") and "mask=soft" in k)
    assert {r["shared"]["models"] for r in metas_b[repet_soft]["tracks"].values()} == {2}
    assert all("shared" not in r for r in metas_a[repet_soft]["tracks"].values())


def test_a_broken_track_fails_in_every_point_of_a_shared_sweep_and_nothing_else(tmp_path, cache):
    root = make_stems_root(tmp_path / "musdb18", cache)
    (root / "test" / "Zz Broken - Truncated.stem.mp4").write_bytes(
        (root / "test" / f"{TEST_NAMES[0]}.stem.mp4").read_bytes()[:20000])
    result = cli("-m", "+algo=repet,mix", "dataset=musdb18", f"dataset.root={root}",
                 "dataset.subsets=test", "dataset.duration=3", "runner.progress=false",
                 cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.count("FAILED test/Zz Broken - Truncated") == 2
    for meta in run_json(sweep_dir(tmp_path)).values():
        assert meta["status"] == "partial"
        scored = {k for k, r in meta["tracks"].items() if r["status"] == "scored"}
        assert scored == {f"test/{n}" for n in TEST_NAMES}
        assert "Zz Broken - Truncated.stem.mp4" in meta["tracks"]["test/Zz Broken - Truncated"]["error"]


def test_dry_runs_predict_the_wall_time_of_a_run_and_of_a_sweep(tmp_path, cache):
    run = cli("+algo=repet", "runner.dry_run=true", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "1 to process" in run.stdout and "predicted wall time" in run.stdout
    sweep = cli("-m", "+algo=repet,mix", "mask=soft,binary", "runner.dry_run=true", cwd=tmp_path)
    assert sweep.returncode == 0, sweep.stderr
    assert "sweep of 4 points over 1 track(s): predicted wall time" in sweep.stdout
    assert "point by point (hydra/launcher=basic): predicted wall time" in sweep.stdout
    # each point's line is its part of the point-by-point total: they add up to it
    total = re.search(r"point by point \(hydra/launcher=basic\): predicted wall time "
                      r"([\d.]+) s", sweep.stdout).group(1)
    parts = re.findall(rf"([\d.]+) s of the point-by-point sweep's {total} s", sweep.stdout)
    assert len(parts) == 4
    assert sum(map(float, parts)) == pytest.approx(float(total), abs=0.5 + 0.05 * 4)  # shown rounded
    assert not list(tmp_path.rglob("museval")), "a dry run processed tracks"


def test_the_cost_model_adds_stages_as_the_runner_runs_them():
    from repet_bench import costs

    def job(algo="repet", mask="soft", phase="mixture", **phase_params):
        return {"algo": {"name": algo}, "stft": {"convention": "nussl"},
                "mask": {"name": mask}, "phase": {"name": phase, **phase_params},
                "eval": {"backend": "fast"}, "dataset": {"is_wav": True, "decode_cache": True}}

    points = [job(mask=m, phase=p) for m in ("soft", "binary") for p in ("mixture", "none")]
    tracks = [180.0, 240.0, 200.0]
    shared = costs.predict(points, tracks, 2, shared=True)
    basic = costs.predict(points, tracks, 2, shared=False)
    # Three REPET runs and loads per track saved, nothing else.
    saved = sum(3 * (costs.separate_cost(points[0], s) + costs.load_cost(points[0], s, True))
                for s in tracks)
    assert basic.work - shared.work == pytest.approx(saved)
    assert costs.predict(points, tracks, 1).wall > shared.wall  # two workers help
    assert costs.predict(points, [2 * s for s in tracks], 2).wall > shared.wall
    gl8, gl32 = (costs.apply_cost(job(phase="griffin_lim", iterations=i), 180.0) for i in (8, 32))
    assert gl32 > gl8 > costs.apply_cost(job(), 180.0)
    museval = dict(job(), eval={"backend": "museval"})
    assert costs.eval_cost(museval, 180.0) > costs.eval_cost(job(), 180.0)
    assert costs.makespan([3, 1, 1, 1], 2) == 3


def test_a_full_disk_when_hydra_writes_a_points_files_is_one_message_not_a_traceback(tmp_path,
                                                                                       cache):
    # Hydra's run_job writes each point's .hydra/*.yaml; the disk is full from then on.
    script = (
        "import errno, sys\n"
        "import hydra.core.utils as utils\n"
        "def full(*args, **kwargs):\n"
        "    raise OSError(errno.ENOSPC, 'No space left on device', 'config.yaml')\n"
        "utils._save_config = full\n"
        "from repet_bench.__main__ import main\n"
        "sys.argv = ['repet_bench', *sys.argv[1:]]\n"
        "main()\n")
    done = subprocess.run([sys.executable, "-c", script, *GRID], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("no space left on the device while Hydra wrote") == 4
    assert "free some space and rerun the same command" in done.stderr
