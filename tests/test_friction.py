"""The first hour's remaining friction (issue 26), one test per item: each mistake a new
user makes gets the fix in one line, and what they expect to be cheap is."""

from __future__ import annotations

import json
import os

import pytest

from configs import compose_cfg
from processes import cli
from repet_bench import listen, rundir, runner
from repet_bench.commands import flags_first
from repet_bench.preflight import check


def test_a_group_without_default_is_added_with_plus():
    problem = check(["algo=repet"])
    assert problem.startswith("algo=repet: algo has no default to override; add it with "
                              "+algo=repet (options: ")
    assert "repet_sim" in problem


def test_a_misspelt_top_level_key_gets_did_you_mean():
    assert check(["+algo=repet", "save_estimate=true"]) == (
        "save_estimate is not a parameter here (did you mean save_estimates?)")


@pytest.mark.parametrize("override, fix", [
    ("stft.hop=abc", "write a whole number, e.g. stft.hop=512 (the default)"),
    ("mask.threshold=x", "write a number, e.g. mask.threshold=0.5 (the default)"),
    ("save_estimates=maybe", "write true or false, e.g. save_estimates=false (the default)"),
])
def test_a_value_of_the_wrong_type_says_what_to_write(override, fix):
    args = ["+algo=repet", override] + (["mask=binary"] if override.startswith("mask") else [])
    problem = check(args)
    assert problem.startswith(f"{override} is invalid: ") and problem.endswith(fix), problem


def test_an_invalid_sweep_value_is_one_line_before_anything_runs():
    problem = check(["-m", "+algo=repet", "dataset.max_tracks=1,0"])
    assert problem == ("dataset.max_tracks=0 is invalid: use null or a positive count "
                       "(in the sweep point +algo=repet dataset.max_tracks=0)")
    assert check(["+algo=repet", "algo.min_period=9", "algo.max_period=4"]) == (
        "algo.min_period=9.0 exceeds algo.max_period=4.0")


@pytest.mark.slow
def test_an_invalid_sweep_value_stops_the_command_before_hydra_makes_any_folder(tmp_path):
    done = cli("-m", "+algo=repet", "dataset.max_tracks=1,0", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "repet_bench: dataset.max_tracks=0 is invalid: use null or a positive count "
        "(in the sweep point +algo=repet dataset.max_tracks=0)"]
    assert not (tmp_path / "results").exists()


def test_flags_after_the_overrides_are_hydras_flags():
    assert flags_first(["+algo=repet", "mask=soft,binary", "-m"]) == [
        "-m", "+algo=repet", "mask=soft,binary"]
    assert flags_first(["+algo=repet", "--cfg", "job", "mask=soft"]) == [
        "--cfg", "job", "+algo=repet", "mask=soft"]


def test_rerunning_for_audio_resumes_the_run_and_scores_nothing_again(tmp_path, cache):
    out = tmp_path / "run"
    first = runner.run(compose_cfg("+algo=mix", "runner.progress=false"), out)
    assert first.ok and first.n_resumed == 0
    (key,) = rundir.track_records(out)
    subset, name = key.split("/", 1)
    before = rundir.read_record(out, subset, name)
    museval_bytes = rundir.museval_path(out, subset, name).read_bytes()
    assert not listen.has_estimates(out, subset, name)
    again = runner.run(compose_cfg("+algo=mix", "runner.progress=false", "save_estimates=true",
                                   "estimates_seconds=1"), out)
    assert again.ok and again.n_resumed == 1
    assert listen.has_estimates(out, subset, name)
    assert rundir.read_record(out, subset, name) == before  # not scored again
    assert rundir.museval_path(out, subset, name).read_bytes() == museval_bytes
    assert again.summary.equals(first.summary)


@pytest.mark.slow
def test_a_sweep_with_m_last_closes_with_its_ranking_and_the_report_command(tmp_path, cache):
    done = cli("+algo=mix,ibm", "runner.progress=false", "-m", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert sum(line.startswith("median over frames") for line in lines) == 0  # compact points
    start = lines.index("sweep ranking, median over tracks (dB):")
    ranking = lines[start + 2:start + 4]
    assert ranking[0].split()[:2] == ["1", "oracle"] and ranking[1].split()[:2] == ["2", "mix"]
    sweep = next((tmp_path / "results" / "sweeps").iterdir())
    assert lines[-1] == ("leaderboards with statistics, plots and per-track figures: "
                         f"python -m repet_bench.report results/sweeps/{sweep.name}")
    assert json.loads((sweep / "+algo=mix" / "run.json").read_text())["status"] == "complete"
    os.chdir(tmp_path)  # the printed command works where it was printed
    from repet_bench import report

    try:
        assert report.main([f"results/sweeps/{sweep.name}", "--out", str(tmp_path / "r")]) == 0
    finally:
        os.chdir(os.path.dirname(__file__))


def test_improvement_over_the_mixture_without_a_mix_run(tmp_path, cache):
    """Leaderboard SDRi / SI-SDRi: each track's score minus the mixture's, with no MIX run
    needed; a MIX run, made to compare, has exactly 0 and the difference is the same."""
    import repet_bench as rb

    repet = runner.run(compose_cfg("+algo=repet", "runner.progress=false"), tmp_path / "repet")
    board = rb.leaderboard(rb.load_scores(tmp_path / "repet"))
    assert board["vocals_SDRi"].notna().all() and board["accompaniment_SI-SDRi"].notna().all()
    assert {"SDRi", "SI-SDRi"} <= set(repet.summary.columns)
    runner.run(compose_cfg("+algo=mix", "runner.progress=false"), tmp_path / "mix")
    both = rb.leaderboard(rb.load_scores(tmp_path)).set_index("config")
    mix, rep = both.loc["mix"], both.loc["repet / soft / mixture"]
    for target in ("vocals", "accompaniment"):
        assert mix[f"{target}_SDRi"] == 0 and mix[f"{target}_SI-SDRi"] == 0
        assert rep[f"{target}_SDRi"] == pytest.approx(rep[f"{target}_SDR"] - mix[f"{target}_SDR"],
                                                      abs=1e-9)
        assert rep[f"{target}_SI-SDRi"] == pytest.approx(
            rep[f"{target}_SI-SDR"] - mix[f"{target}_SI-SDR"], abs=1e-9)
