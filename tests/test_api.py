"""The Python API as a notebook user calls it: defaults are the command line's."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import repet_bench as rb
from repet_bench import data, io
from repet_bench.separation import separate as separate_with_configs
from processes import cli
from configs import composed

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.parametrize("algo", ["repet", "ibm"])
def test_separate_defaults_are_the_command_lines(sample_track, algo):
    cfg = composed(f"+algo={algo}")
    t = sample_track
    ours = rb.separate(t.mixture, t.rate, algo, references=t.references)
    cli = separate_with_configs(t.mixture, t.rate, cfg["algo"], cfg["stft"], cfg["mask"],
                                cfg["phase"], t.references)
    for target in data.TARGETS:
        np.testing.assert_array_equal(ours.estimates[target], cli.estimates[target])
    assert cfg["algo"]["high_pass_cutoff"] == (100.0 if algo == "repet" else 0.0)
    assert cfg["mask"]["name"] == ("soft" if algo == "repet" else "binary")


def test_partial_configs_get_the_packaged_defaults(sample_track):
    """The bug the API fixes: {"name": "repet"} once skipped the 100 Hz high-pass."""
    t = sample_track
    partial = separate_with_configs(t.mixture, t.rate, {"name": "repet"}, {}, {"name": "soft"},
                                    {"name": "mixture"})
    full = rb.separate(t.mixture, t.rate)
    np.testing.assert_array_equal(partial.estimates["vocals"], full.estimates["vocals"])
    off = rb.separate(t.mixture, t.rate, high_pass_cutoff=0.0)
    assert not np.array_equal(off.estimates["vocals"], full.estimates["vocals"])


def test_options_and_overrides(sample_track):
    t = sample_track
    result = rb.separate(t.mixture, t.rate, {"name": "repet", "flavour": "sisec18"},
                         stft="nussl2018", masks=True)
    assert (result.info["period_frames"], result.info["segment_frames"]) == (88, 89)
    masks = result.masks
    assert masks["vocals"].shape == masks["accompaniment"].shape
    assert masks["vocals"].shape[0] == 1025 and masks["vocals"].shape[2] == 2
    np.testing.assert_allclose(masks["vocals"] + masks["accompaniment"], 1, atol=1e-6)
    hop = rb.separate(t.mixture, t.rate, stft={"hop": 1024}, masks=True)
    assert hop.masks["vocals"].shape[1] < masks["vocals"].shape[1] * 1.1


def test_mono_any_rate_and_mistakes():
    rng = np.random.default_rng(0)
    loop = np.tile(rng.standard_normal(11025), 12)  # 0.5 s at 22.05 kHz, mono
    result = rb.separate(loop, 22050, period=0.5)
    assert result.estimates["vocals"].shape == (len(loop), 1)
    with pytest.raises(TypeError, match="no parameter max_perod.*max_period"):
        rb.separate(loop, 22050, max_perod=3)
    with pytest.raises(ValueError, match="algo.max_period=-1"):
        rb.separate(loop, 22050, max_period=-1)
    with pytest.raises(ValueError, match="mask=nope does not exist; available: binary"):
        rb.separate(loop, 22050, mask="nope")
    with pytest.raises(ValueError, match=r"\(samples, channels\)"):
        rb.separate(np.stack([loop, loop]), 22050)


def test_evaluate_is_tidy_and_scores_each_estimate_once(sample_track):
    t = sample_track
    est = rb.separate(t.mixture, t.rate).estimates
    museval = rb.evaluate(t.references, est, t.rate, backend="museval")
    fast = rb.evaluate(t.references, est, t.rate)  # the default
    assert list(museval.columns) == ["target", "metric", "frame", "time", "score"]
    n_frames = len(t.mixture) // t.rate
    counts = museval.groupby(["target", "metric"]).size()
    assert counts[("vocals", "SDR")] == n_frames and counts[("vocals", "SI-SDR")] == 1
    np.testing.assert_allclose(fast["score"], museval["score"], atol=1e-4)
    table = rb.aggregate(museval)
    assert list(table.index) == ["vocals", "accompaniment"]
    # The stored known answer of the default configuration (tests/data/stored_scores.csv).
    assert table.loc["vocals", "SDR"] == pytest.approx(0.853, abs=0.01)


def test_load_track_by_sample_path_name_and_wav_folder(tmp_path, cache, sample_track):
    from musdb_layout import TEST_NAMES, make_hq_root, make_stems_root, sample_stem_file

    assert rb.load_track().mixture.shape == sample_track.mixture.shape
    by_path = rb.load_track(sample_stem_file(cache), offset=1.0, duration=2.0)
    assert by_path.mixture.shape == (2 * 44100, 2)
    np.testing.assert_array_equal(by_path.mixture, sample_track.mixture[44100:3 * 44100])
    stems = make_stems_root(tmp_path / "stems", cache)
    named = rb.load_track(TEST_NAMES[0], root=stems)
    np.testing.assert_array_equal(named.mixture, sample_track.mixture)
    hq = make_hq_root(tmp_path / "hq", cache)
    folder = rb.load_track(hq / "test" / TEST_NAMES[1])
    np.testing.assert_allclose(folder.references["vocals"], sample_track.references["vocals"],
                               atol=1e-4)
    assert rb.load_track(TEST_NAMES[1], root=hq).ref.is_wav
    with pytest.raises(data.DatasetError, match="no tracks found .* tracks=\\['Nobody'\\]"):
        rb.load_track("Nobody", root=stems)


def _readme_api_snippet() -> str:
    text = README.read_text()
    section = text.split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_readme_python_api_snippet_runs_after_the_quick_start(tmp_path, cache):
    """What a new user pastes into `python` after the README's main command."""
    run = cli("+algo=repet", "runner.progress=false", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    script = _readme_api_snippet() + "\nprint(board.to_json())\n"
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    board = pd.read_json(StringIO(out.stdout.strip().splitlines()[-1]))
    assert list(board["config"]) == ["repet / soft / mixture"]
    assert board["vocals_SDR"].iloc[0] == pytest.approx(0.853, abs=0.01)


@pytest.mark.slow
def test_load_scores_and_leaderboard_rank_runs(tmp_path, cache):
    for algo in ("mix", "repet"):
        done = cli(f"+algo={algo}", "runner.progress=false", f"paths.results={tmp_path}")
        assert done.returncode == 0, done.stderr
    scores = rb.load_scores(tmp_path)
    assert set(scores["config"]) == {"mix",
                                     "repet / soft / mixture"}
    assert scores["group"].nunique() == 1
    per_track = rb.load_scores(tmp_path, frames=False)
    assert "frame" not in per_track and len(per_track) < len(scores)
    board = rb.leaderboard(scores)
    assert board["config"].tolist()[0].startswith("repet")
    assert board["rank"].tolist() == [1, 2]
    pd.testing.assert_frame_equal(board, rb.leaderboard(per_track), check_like=True)
    # One aggregation: the leaderboard's numbers are the printed summary's.
    run = next(tmp_path.glob("runs/+algo=repet*"))
    # Results are readable like any file the user creates (umask), not owner-only.
    for path in [run / "run.json", run / "scores.parquet", *run.glob("*/*/*.json")]:
        assert stat.S_IMODE(path.stat().st_mode) == io.FILE_MODE, path
    summary = rb.aggregate(pd.read_parquet(run / "scores.parquet"))
    assert board.loc[0, "vocals_SDR"] == pytest.approx(summary.loc["vocals", "SDR"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no complete run"):
        rb.load_scores(tmp_path / "empty")
