"""Any method on the leaderboard: precomputed estimates scored by the runner, and museval
JSON folders (a published submission) ranked by the report beside the runs."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from repet_bench import entries, report
import processes

# Every test here starts the command line in processes of its own.
pytestmark = pytest.mark.slow

NAME = "The Easton Ellises - Falcon 69"


def cli(*args, cwd):
    return processes.cli(*args, "runner.progress=false", cwd=cwd)


@pytest.fixture(scope="module")
def estimates_root(tmp_path_factory, sample_track):
    """museval's eval_dir layout: the true sources plus a little noise (finite SDR)."""
    root = tmp_path_factory.mktemp("estimates")
    folder = root / "test" / NAME
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for target, audio in sample_track.references.items():
        noisy = audio + 1e-3 * rng.standard_normal(audio.shape)
        sf.write(folder / f"{target}.wav", noisy, 44100, subtype="FLOAT")
    return root


def test_estimates_are_scored_like_a_run_and_rank_beside_the_algorithms(tmp_path, estimates_root):
    done = cli("+algo=estimates", f"algo.root={estimates_root}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert cli("+algo=repet", cwd=tmp_path).returncode == 0
    scores = pd.read_parquet(next((tmp_path / "results" / "runs").glob("+algo=estimates*"))
                             / "scores.parquet")
    vocals = scores[(scores.target == "vocals")]
    assert vocals[vocals.metric == "SDR"]["score"].median() > 30
    assert vocals[vocals.metric == "nSDR"]["score"].iloc[0] > 30
    rep = report.build_report([tmp_path / "results"], write=False)
    board = rep.leaderboard[rep.leaderboard["source"] == "run"]
    assert board["config"].tolist() == [f"estimates(root={estimates_root})",
                                        "repet / soft / mixture"]
    assert board["implementation"].iloc[0] == "precomputed estimates (algo.root)"


def test_a_missing_or_mismatched_estimate_fails_that_track_with_the_file_named(
        tmp_path, estimates_root):
    broken = tmp_path / "broken"
    shutil.copytree(estimates_root, broken)
    (broken / "test" / NAME / "accompaniment.wav").unlink()
    done = cli("+algo=estimates", f"algo.root={broken}", cwd=tmp_path)
    assert done.returncode == 1
    record = json.loads(next((tmp_path / "results").rglob("tracks/test/*.json")).read_text())
    assert "accompaniment.wav is missing" in record["error"]
    assert "<root>/<subset>/<track>/vocals.wav" in record["error"]
    vocals = broken / "test" / NAME / "vocals.wav"
    audio, rate = sf.read(vocals)
    sf.write(broken / "test" / NAME / "accompaniment.wav", audio[:, :1], rate)  # mono
    done = cli("+algo=estimates", f"algo.root={broken}", cwd=tmp_path)
    record = json.loads(next((tmp_path / "results").rglob("tracks/test/*.json")).read_text())
    assert done.returncode == 1 and "1 channel(s), the track has 2" in record["error"]
    missing = cli("+algo=estimates", cwd=tmp_path)
    assert missing.returncode == 2 and "algo.root" in missing.stderr


def test_museval_json_folders_rank_with_runs_on_the_same_tracks(tmp_path):
    assert cli("+algo=repet", cwd=tmp_path).returncode == 0
    assert cli("+algo=mix", cwd=tmp_path).returncode == 0
    run = next((tmp_path / "results" / "runs").glob("+algo=repet*"))
    published = tmp_path / "submission" / "test"
    shutil.copytree(run / "museval" / "test", published)
    elsewhere = tmp_path / "other" / "test"
    elsewhere.mkdir(parents=True)
    doc = json.loads(next(published.glob("*.json")).read_text())
    (elsewhere / "Another Track.json").write_text(json.dumps({**doc, "name": "Another Track"}))

    out = tmp_path / "report"
    assert report.main([str(tmp_path / "results"), "--out", str(out),
                        "--entry", f"REPET copy={published}",
                        "--entry", f"elsewhere={elsewhere}"]) == 0
    board = pd.read_csv(out / "leaderboard.csv")
    runs = board[board["source"] == "run"].set_index("config")
    assert {"REPET copy", "repet / soft / mixture"} <= set(runs.index)
    for column in ("vocals_SDR", "accompaniment_SIR"):  # the same per-frame numbers
        assert runs.loc["REPET copy", column] == pytest.approx(
            runs.loc["repet / soft / mixture", column], abs=1e-5)
    assert "elsewhere" not in set(runs.index)
    md = (out / "leaderboard.md").read_text()
    assert "no leaderboard scored exactly these tracks" in md.split("## Not ranked")[1]

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(ValueError, match="x.json is not a museval track JSON"):
        entries.load_entry(bad)
    assert report.main([str(tmp_path / "results"), "--entry", "nameonly"]) == 2


def _track_doc(name: str, sdr=1.0) -> dict:
    frame = {"time": 0.0, "duration": 1.0, "metrics": {"SDR": sdr, "SIR": 2.0, "SAR": 3.0,
                                                       "ISR": 4.0}}
    return {"name": name, "targets": [{"name": t, "frames": [frame]}
                                      for t in ("vocals", "accompaniment")]}


@pytest.mark.parametrize("case,message", [
    ("a boolean metric", "SDR = True: a metric is a number of dB"),
    ("an infinite metric", "SDR = 'Infinity'"),
    ("an absurd metric", "SDR = 1e+308"),
    ("a name that is not the file's", '"name" \'Other\' is not the file\'s name'),
    ("no frames", "target 'vocals' has no frames"),
])
def test_a_damaged_entry_names_the_file_and_the_field(tmp_path, case, message):
    folder = tmp_path / "test"
    folder.mkdir()
    doc = _track_doc("Good - Track")
    (folder / "Good - Track.json").write_text(json.dumps(doc))
    bad = _track_doc("Bad - Track")
    if case == "a boolean metric":
        bad["targets"][0]["frames"][0]["metrics"]["SDR"] = True
    elif case == "an absurd metric":
        bad["targets"][0]["frames"][0]["metrics"]["SDR"] = 1e308
    elif case == "a name that is not the file's":
        bad["name"] = "Other"
    elif case == "no frames":
        bad["targets"][0]["frames"] = []
    text = json.dumps(bad)
    if case == "an infinite metric":
        text = text.replace('"SDR": 1.0', '"SDR": Infinity', 1)
    (folder / "Bad - Track.json").write_text(text)
    with pytest.raises(ValueError, match="Bad - Track.json is not a museval track JSON") as err:
        entries.load_entry(folder)
    assert message in str(err.value)


def test_an_entry_of_our_own_long_track_names_round_trips(tmp_path):
    from repet_bench.io import safe_filename

    name = "Long Artist - " + "a very long title " * 15  # > 200 bytes: the file name is cut
    folder = tmp_path / "test"
    folder.mkdir()
    (folder / f"{safe_filename(name)}.json").write_text(json.dumps(_track_doc(name, sdr=2.5)))
    table = entries.load_entry(folder)
    assert set(table["track"]) == {name}


def test_an_entry_name_given_twice_is_refused(tmp_path, capsys):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    code = report.main([str(tmp_path), "--entry", f"X={tmp_path / 'a'}",
                        "--entry", f"X={tmp_path / 'b'}"])
    assert code == 2 and "--entry X given more than once" in capsys.readouterr().err
