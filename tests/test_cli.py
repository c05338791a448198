"""The command line as users run it, in subprocesses."""

from __future__ import annotations

import json

import museval
import pandas as pd
import pytest

from musdb_layout import TEST_NAMES, make_hq_root, make_stems_root
from processes import cli

# Every test here starts the command line in processes of its own.
pytestmark = pytest.mark.slow

SAMPLE = "The Easton Ellises - Falcon 69"


def test_main_command_runs_on_the_sample_and_resumes(tmp_path, cache):
    first = cli("+algo=repet", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    run_dir = tmp_path / "results" / "runs" / "+algo=repet"
    assert str(run_dir) in first.stdout and "1/1 tracks scored" in first.stdout
    assert "vocals" in first.stdout and "SDR" in first.stdout

    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "complete" and meta["config"]["algo"]["name"] == "repet"
    record = meta["tracks"][f"test/{SAMPLE}"]
    assert record["status"] == "scored" and record["separation_seconds"] > 0
    assert record["evaluation_seconds"] > 0 and record["info"]["period_frames"] > 0

    scores = pd.read_parquet(run_dir / "scores.parquet")
    assert list(scores.columns) == ["run", "algo", "mask", "phase", "config_hash", "track",
                                    "subset", "target", "metric", "frame", "time", "score"]
    assert set(scores.target) == {"vocals", "accompaniment"}
    assert set(scores.metric) == {"SDR", "SIR", "SAR", "ISR", "nSDR", "SI-SDR", "SI-SIR",
                                  "SI-SAR", "SDRi", "SI-SDRi"}
    store = museval.EvalStore()
    store.add_eval_dir(run_dir / "museval")  # museval's own reader accepts our JSON
    assert len(store.df) == len(scores[scores.metric.isin(["SDR", "SIR", "SAR", "ISR"])])

    json_file = run_dir / "museval" / "test" / f"{SAMPLE}.json"
    mtime = json_file.stat().st_mtime_ns
    second = cli("+algo=repet", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "(1 resumed)" in second.stdout
    assert json_file.stat().st_mtime_ns == mtime  # not re-scored
    assert pd.read_parquet(run_dir / "scores.parquet").equals(scores)


def test_without_an_algorithm_lists_them_and_fails_cleanly(tmp_path, cache):
    result = cli(cwd=tmp_path)
    assert result.returncode == 2
    assert "+algo=" in result.stderr and "repet" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("args,message", [
    (["+algo=repet", "stft.hop=abc"], "stft.hop"),
    (["+algo=repet", "+algo.perod=2"], "unknown config keys: algo.perod"),
    (["+algo=repet", "algo.min_period=9"], "exceeds algo.max_period"),
    (["+algo=nonexistent"], "algo=nonexistent does not exist; available: adaptive_repet"),
    (["+algo=repet", "dataset=musdb18", "dataset.root=/no/such/dir"], "does not exist"),
])
def test_bad_input_fails_with_a_clear_message(tmp_path, cache, args, message):
    result = cli(*args, cwd=tmp_path, env={"MUSDB_PATH": ""})
    assert result.returncode != 0
    assert message in result.stderr + result.stdout


@pytest.mark.parametrize("args,line", [
    (["+algo=repet", "algo.max_perod=4"],
     "algo.max_perod is not a parameter here (did you mean algo.max_period?)"),
    (["+algo=repet", "stft.hop=abc"],
     "stft.hop=abc is invalid: Value 'abc' of type 'str' could not be converted to Integer"),
    (["-m", "+algo=repet", "mask=soft,bogus"],
     "mask=bogus does not exist; available: binary, mwf, soft, wiener"),
    (["+algo=repet", "paths.results=/proc/forbidden"],
     "cannot write into the results dir /proc/forbidden"),
    (["+algo=repet", "dataset.root=/data/MUSDB18 — HQ"],
     "'dataset.root=/data/MUSDB18 — HQ' cannot be parsed by Hydra: quote a value"),
])
def test_config_errors_and_unwritable_dirs_are_one_line_and_exit_2(tmp_path, args, line):
    result = cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    said = (result.stdout + result.stderr).strip().splitlines()
    assert len(said) == 1 and said[0].startswith(f"repet_bench: {line}"), said
    assert not (tmp_path / "multirun").exists() and not (tmp_path / "outputs").exists()


def test_musdb18_root_with_a_corrupt_file_scores_the_good_tracks(tmp_path, cache):
    root = make_stems_root(tmp_path / "musdb18", cache)
    (root / "test" / "Zz Broken - Truncated.stem.mp4").write_bytes(
        (root / "test" / f"{TEST_NAMES[0]}.stem.mp4").read_bytes()[:20000])
    args = ["+algo=repet", "dataset=musdb18", f"dataset.root={root}", "dataset.subsets=test",
            "dataset.duration=3", "runner.n_jobs=2"]
    result = cli(*args, cwd=tmp_path)
    assert result.returncode == 1
    assert "Zz Broken - Truncated.stem.mp4" in result.stdout + result.stderr
    run_dir = next((tmp_path / "results" / "runs").iterdir())
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "partial"
    scored = {k for k, r in meta["tracks"].items() if r["status"] == "scored"}
    assert scored == {f"test/{n}" for n in TEST_NAMES}
    assert set(pd.read_parquet(run_dir / "scores.parquet").track) == set(TEST_NAMES)

    # the failed track is retried on rerun; the good ones are not
    (root / "test" / "Zz Broken - Truncated.stem.mp4").unlink()
    again = cli(*args, cwd=tmp_path)
    assert again.returncode == 0 and "(2 resumed)" in again.stdout


def test_musdb18hq_from_musdb_path_and_changed_config_is_refused(tmp_path, cache):
    root = make_hq_root(tmp_path / "hq", cache)
    env = {"MUSDB_PATH": str(root)}
    run_dir = tmp_path / "fixed_dir"
    base = ["+algo=repet", "dataset=musdb18hq", "dataset.max_tracks=1", f"hydra.run.dir={run_dir}"]
    result = cli(*base, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "1/1 tracks scored" in result.stdout
    changed = cli(*base, "algo.min_period=1.0", cwd=tmp_path, env=env)
    assert changed.returncode == 2
    assert "differs in: algo.min_period" in changed.stderr


def test_multirun_sweeps_a_grid_into_one_dir_per_point(tmp_path, cache):
    result = cli("-m", "+algo=repet", "mask=soft,binary", "phase=mixture,none",
                 "dataset.duration=3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    sweep = next((tmp_path / "results" / "sweeps").iterdir())
    points = sorted(p.name for p in sweep.iterdir() if (p / "run.json").exists())
    assert len(points) == 4
    assert all(json.loads((sweep / p / "run.json").read_text())["status"] == "complete" for p in points)
