"""The first hour, as a new user lives it: help, parameters, sweeps that resume, own songs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import numpy as np
import soundfile as sf

import pytest

from processes import cli, start_run
from repet_bench.commands import sweep_name


# Every test here starts the command line in processes of its own.
pytestmark = pytest.mark.slow

def test_help_describes_the_tool_and_lists_options_without_internal_names(tmp_path):
    done = cli("--help", cwd=tmp_path)
    assert done.returncode == 0
    text = done.stdout
    assert "REPET-family music/voice separation" in text and "examples:" in text
    for option in ("repet_sim", "nussl2018", "griffin_lim", "compare_strategies", "estimates"):
        assert option in text
    assert "base_" not in text
    assert "REPET-SIM (Rafii & Pardo" in text  # one-line descriptions from the yamls


def test_params_prints_each_parameter_with_its_documentation(tmp_path):
    done = cli("params", "algo=repet", "mask=binary", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "min_period: null" in done.stdout and "null: the flavour's (0.8" in done.stdout
    assert "threshold: 0.5" in done.stdout and "base_" not in done.stdout
    bad = cli("params", "algo=nope", cwd=tmp_path)
    assert bad.returncode == 2 and "algo=nope does not exist; available:" in bad.stderr


def test_sweep_names_follow_the_command():
    a = sweep_name(["-m", "+algo=repet,ft2d", "mask=soft,binary"])
    assert a == sweep_name(["--multirun", "mask=soft,binary", "+algo=repet,ft2d",
                            "runner.n_jobs=2", "paths.results=/x"])  # same grid, same dir
    assert a != sweep_name(["-m", "+algo=repet,ft2d", "mask=soft"])  # another grid
    long = sweep_name(["-m", *(f"algo.p{i}=1,2,3,4,5,6,7" for i in range(30))])
    assert len(long) <= 150


def test_a_killed_sweep_resumes_with_the_same_command(tmp_path, cache):
    args = ["-m", "+algo=mix,repet", "runner.progress=false"]
    proc = start_run(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                     start_new_session=True)
    sweeps = tmp_path / "results" / "sweeps"
    first = None
    deadline = time.time() + 300
    while time.time() < deadline and first is None:  # kill once the first point is done
        for run_json in sweeps.glob("*/*/run.json"):
            if json.loads(run_json.read_text() or "{}").get("status") == "complete":
                first = run_json
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert first is not None, "the first point never finished"
    scored = next((first.parent / "museval").rglob("*.json"))
    mtime = scored.stat().st_mtime_ns

    again = cli(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    (sweep,) = sweeps.iterdir()  # the same dir, not a new timestamped one
    points = {p.name: json.loads((p / "run.json").read_text()) for p in sweep.iterdir()
              if (p / "run.json").exists()}
    assert set(points) == {"+algo=mix", "+algo=repet"}
    assert all(p["status"] == "complete" for p in points.values())
    assert scored.stat().st_mtime_ns == mtime  # its track skipped, not scored again
    assert "(1 resumed)" in again.stdout

    other = cli("-m", "+algo=mix", "runner.progress=false", cwd=tmp_path)
    assert other.returncode == 0
    assert len(list(sweeps.iterdir())) == 2  # a different grid gets its own dir


def test_separate_own_files_stereo_and_mono_at_any_rate(tmp_path, sample_track):
    song = tmp_path / "song.wav"
    sf.write(song, sample_track.mixture, 44100)
    mono = tmp_path / "mono.flac"
    sf.write(mono, sample_track.mixture[::2, 0], 22050)  # 22.05 kHz mono
    done = cli("separate", str(song), str(mono), "out=" + str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "song.wav: 2 channel(s) at 44100 Hz" in done.stdout and "period 2.03 s" in done.stdout
    assert "mono.flac: 1 channel(s) at 22050 Hz" in done.stdout
    vocals, rate = sf.read(tmp_path / "out" / "song" / "vocals.wav")
    assert rate == 44100 and vocals.shape == sample_track.mixture.shape
    accompaniment, _ = sf.read(tmp_path / "out" / "song" / "accompaniment.wav")
    # Mixture phase + soft mask: the two estimates add up to the mixture (16-bit).
    np.testing.assert_allclose(vocals + accompaniment, sample_track.mixture, atol=1e-3)
    vocals, rate = sf.read(tmp_path / "out" / "mono" / "vocals.wav", always_2d=True)
    assert rate == 22050 and vocals.shape == (len(sample_track.mixture[::2]), 1)

    sisec = cli("separate", str(song), "algo=repet_sim", "mask=binary",
                "out=" + str(tmp_path / "sim"), cwd=tmp_path)
    assert sisec.returncode == 0, sisec.stderr
    assert (tmp_path / "sim" / "song" / "vocals.wav").exists()
    bad = cli("separate", str(tmp_path / "missing.mp3"), cwd=tmp_path)
    assert bad.returncode == 1 and "missing.mp3" in bad.stderr
    typo = cli("separate", str(song), "max_perod=3", cwd=tmp_path)
    assert typo.returncode == 2 and "max_period" in typo.stderr


def test_separate_keeps_files_of_the_same_name_apart_and_takes_names_with_equals(tmp_path,
                                                                                 sample_track):
    from repet_bench.separate_cli import main

    short = sample_track.mixture[: 4 * 44100]
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        sf.write(tmp_path / folder / "song.wav", short * (0.5 if folder == "a" else 1.0), 44100)
    odd = tmp_path / "take=2.wav"
    sf.write(odd, short, 44100)
    out = tmp_path / "out"
    assert main([str(tmp_path / "a" / "song.wav"), str(tmp_path / "b" / "song.wav"), str(odd),
                 f"out={out}"]) == 0
    a, _ = sf.read(out / "song (a)" / "vocals.wav")
    b, _ = sf.read(out / "song (b)" / "vocals.wav")
    assert np.abs(b).max() > 1.5 * np.abs(a).max()  # each its own input's estimate
    assert (out / "take=2" / "vocals.wav").exists()
    # after --, every argument is a file: "out=x" too (none such: that one fails)
    assert main([f"out={tmp_path / 'dash'}", "--", str(odd), "out=x"]) == 1
    assert (tmp_path / "dash" / "take=2" / "vocals.wav").exists()
    assert main(["--help"]) == 0
