"""The bad-input matrix: each case gives a clear message naming the file and the fix,
and the other tracks are still scored. Listed in the README's troubleshooting section."""

from __future__ import annotations

import errno
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hydra import compose, initialize_config_module

from musdb_layout import STEM_ORDER, sample_stem_file
from repet_bench import data, io, runner
from repet_bench.config import register_configs
from repet_bench.validation import RULES
from configs import compose_cfg

GOOD = "Good - Track"
RATE = 44100


@pytest.fixture(scope="module")
def stems(cache):
    """The real sample's five stems, first 3 s (REPET needs 3 × min_period): (5, samples, 2)."""
    import stempeg

    audio, _ = stempeg.read_stems(str(sample_stem_file(cache)), ffmpeg_format="s16le")
    return audio[:, : 3 * RATE]


def write_hq(root: Path, name: str, stems, rate=RATE, skip=(), subtype="PCM_16") -> Path:
    folder = root / "test" / name
    folder.mkdir(parents=True)
    for stem, audio in zip(STEM_ORDER, stems):
        if stem not in skip:
            sf.write(folder / f"{stem}.wav", audio, rate, subtype=subtype)
    return folder


def run(root: Path, tmp_path: Path, is_wav=True, overrides=()):
    cfg = compose_cfg(
        "+algo=repet", f"dataset={'musdb18hq' if is_wav else 'musdb18'}", f"dataset.root={root}",
        "runner.n_jobs=1", "runner.progress=false", f"paths.cache={tmp_path / 'cache'}",
        *overrides)
    return runner.run(cfg, tmp_path / "out")


def hq_case(make):
    """A root with one good track and one track broken by ``make(root, stems)``."""
    def build(root, stems):
        write_hq(root, GOOD, stems)
        return make(root, stems)
    return build


def _nan(root, stems):
    bad = stems.copy()
    bad[4, 100] = np.nan
    write_hq(root, "Bad - NaN", bad, subtype="FLOAT")
    return "NaN or Inf"


def _truncate(folder: Path, names) -> None:
    """Cut each named wav to half its bytes: the header still declares every frame."""
    for name in names:
        path = folder / f"{name}.wav"
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])


def _truncated_all(root, stems):
    _truncate(write_hq(root, "Bad - Truncated", stems), STEM_ORDER)
    return "truncated: its header declares"


def _truncated_mixture(root, stems):
    _truncate(write_hq(root, "Bad - Truncated Mixture", stems), ["mixture"])
    return "mixture.wav: truncated"


def _mismatch(root, stems):
    folder = write_hq(root, "Bad - Lengths", stems)
    sf.write(folder / "bass.wav", stems[2][:RATE], RATE)
    return f"bass.wav ({RATE} samples) differ from mixture.wav"


def _channels(root, stems):
    folder = write_hq(root, "Bad - Channels", stems)
    sf.write(folder / "drums.wav", stems[1][:, 0], RATE)  # mono among stereo
    return "drums.wav (1 channels) differ from mixture.wav (2 channels)"


TRACK_CASES = {
    "hq folder missing vocals.wav": (hq_case(lambda r, s: write_hq(
        r, "Bad - No Vocals", s, skip=("vocals",)) and "vocals.wav is missing"), True),
    "mismatched stem lengths": (hq_case(_mismatch), True),
    "mismatched stem channel counts": (hq_case(_channels), True),
    "48 kHz files": (hq_case(lambda r, s: write_hq(r, "Bad - 48k", s, rate=48000) and "resample"), True),
    "track shorter than one STFT window": (hq_case(
        lambda r, s: write_hq(r, "Bad - Short", s[:, :1000]) and "too short"), True),
    "NaN/Inf samples": (hq_case(_nan), True),
    "every wav truncated (header longer than the data)": (hq_case(_truncated_all), True),
    "only mixture.wav truncated": (hq_case(_truncated_mixture), True),
}


@pytest.mark.parametrize("case", list(TRACK_CASES))
def test_a_bad_track_fails_alone_with_a_clear_message(case, stems, tmp_path):
    build, is_wav = TRACK_CASES[case]
    root = tmp_path / "root"
    message = build(root, stems)
    result = run(root, tmp_path, is_wav)
    assert set(result.failures) == {k for k in result.failures if "Bad" in k} and len(result.failures) == 1
    (key, error), = result.failures.items()
    assert message in error, error
    assert f"test/{GOOD}" not in result.failures and result.n_scored == 1


@pytest.mark.slow
def test_stem_files_truncated_or_with_four_streams(stems, tmp_path, cache):
    root = tmp_path / "root" / "test"
    root.mkdir(parents=True)
    sample = sample_stem_file(cache)
    (root / f"{GOOD}.stem.mp4").write_bytes(sample.read_bytes())
    (root / "Bad - Truncated.stem.mp4").write_bytes(sample.read_bytes()[:30000])
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(sample), "-map", "0:0", "-map", "0:1",
                    "-map", "0:2", "-map", "0:3", "-c", "copy", "-f", "mp4",
                    str(root / "Bad - Four Streams.stem.mp4")], check=True)
    result = run(tmp_path / "root", tmp_path, is_wav=False, overrides=["dataset.duration=3"])
    assert "has 4 audio streams" in result.failures["test/Bad - Four Streams"]
    assert "Bad - Truncated.stem.mp4" in result.failures["test/Bad - Truncated"]
    assert result.n_scored == 1


def test_mono_tracks_are_scored(stems, tmp_path):
    write_hq(tmp_path / "root", "Mono - Track", stems[:, :, :1])
    result = run(tmp_path / "root", tmp_path)
    assert result.ok and result.n_scored == 1


def test_all_silent_vocals_are_scored_nan_with_the_reason(stems, tmp_path):
    silent = stems.copy()
    silent[4] = 0
    silent[0] = silent[1] + silent[2] + silent[3]
    write_hq(tmp_path / "root", "Instrumental - Track", silent)
    write_hq(tmp_path / "root", GOOD, stems)
    result = run(tmp_path / "root", tmp_path)
    assert result.ok and result.n_scored == 2
    record = json.loads((tmp_path / "out" / "tracks" / "test" / "Instrumental - Track.json").read_text())
    assert "non-silent" in record["error"]
    import pandas as pd

    scores = pd.read_parquet(tmp_path / "out" / "scores.parquet")
    inst = scores[scores.track == "Instrumental - Track"]
    assert inst[inst.metric.isin(["SDR", "SIR", "SAR", "ISR"])].score.isna().all()
    # the whole-track metrics follow museval's rule: a silent reference leaves the pair
    # undefined (else the accompaniment's SI-SIR has nothing to interfere: ~300 dB)
    si = inst[inst.metric.isin(["SI-SDR", "SI-SIR", "SI-SAR"])]
    assert len(si) == 6 and si.score.isna().all()
    improvement = inst[inst.metric.isin(["SDRi", "SI-SDRi"])]  # over the mixture: too
    assert len(improvement) == 4 and improvement.score.isna().all()
    # ... and so does nSDR: one rule for every metric (demucs' regulariser gave -81.9 dB)
    song = inst[inst.metric == "nSDR"]
    assert len(song) == 2 and song.score.isna().all()
    assert scores[scores.track == GOOD].score.notna().any()
    # the summary and the leaderboard say how many tracks had no defined scores
    from omegaconf import OmegaConf

    from repet_bench import report
    from repet_bench.cli import format_summary

    assert list(result.undefined) == ["test/Instrumental - Track"]
    cfg = OmegaConf.create({"algo": {"name": "repet"}, "mask": {"name": "soft"},
                            "phase": {"name": "mixture"}, "dataset": {"name": "musdb18hq"}})
    assert "1 of 2 scored track(s) have no defined scores" in format_summary(result, cfg)
    rep = report.build_report([tmp_path / "out"], tmp_path / "report")
    board = rep.leaderboard[rep.leaderboard.source == "run"]
    assert board["n_undefined"].tolist() == [1] and board["n_tracks"].tolist() == [2]
    assert "| 2 (1 NaN) |" in (tmp_path / "report" / "leaderboard.md").read_text()


def test_non_ascii_and_very_long_track_names(stems, tmp_path):
    # as long as a file system allows a folder name (255 bytes): "<name>.json" would not fit
    long_name = ("Ünïcødé Ärtist - " + "very long title " * 20).encode()[:250].decode("utf-8", "ignore")
    write_hq(tmp_path / "root", "Sigur Rós - Ágætis byrjun", stems)
    write_hq(tmp_path / "root", long_name.strip(), stems)
    result = run(tmp_path / "root", tmp_path)
    assert result.ok and result.n_scored == 2
    import pandas as pd

    assert set(pd.read_parquet(tmp_path / "out" / "scores.parquet").track) == {
        "Sigur Rós - Ágætis byrjun", long_name.strip()}
    # our museval JSON round-trips as a report entry: the cut file name keeps the full name
    from repet_bench import report

    rep = report.build_report([tmp_path / "out"], tmp_path / "rep",
                              entries={"SELF": tmp_path / "out" / "museval" / "test"})
    assert rep.runs.set_index("config").loc["SELF", "ranked"]


@pytest.mark.parametrize("case,message", [
    ("missing root", "does not exist"),
    ("root without train/ and test/", "train/ and test/"),
    ("empty subset", "no tracks found"),
])
def test_bad_roots(case, message, tmp_path):
    root = tmp_path / "root"
    if case != "missing root":
        root.mkdir()
    if case == "empty subset":
        (root / "test").mkdir()
    with pytest.raises(data.DatasetError, match=message):
        run(root, tmp_path)


def test_unwritable_results_dir_is_a_clear_error(stems, tmp_path):
    write_hq(tmp_path / "root", GOOD, stems)
    (tmp_path / "out").write_text("a file where the results dir should be")
    with pytest.raises(runner.RunError, match="cannot write"):
        run(tmp_path / "root", tmp_path)


def test_full_disk_stops_the_run_and_keeps_finished_tracks(stems, tmp_path, monkeypatch):
    for name in ("A - One", "B - Two", "C - Three"):
        write_hq(tmp_path / "root", name, stems)
    real_replace = io.os.replace

    def replace(src, dst):
        if "C - Three" in str(dst):  # the disk fills up while the third track is written
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(io.os, "replace", replace)
    with pytest.raises(runner.RunError, match="no space left"):
        run(tmp_path / "root", tmp_path)
    monkeypatch.undo()
    assert not list((tmp_path / "out").rglob(".tmp-*"))
    result = run(tmp_path / "root", tmp_path)
    assert result.ok and result.n_resumed == 2 and result.n_scored == 3


def _bad_value(key: str):
    return {"runner.n_jobs": 0, "mask.threshold": 1.5, "algo.neighborhood_size": "[0,25]",
            "algo.quadrants": "[0,7]", "algo.root": "/no/such/folder"}.get(key, -1)


@pytest.mark.parametrize("key", [k for k, _, _ in RULES])
def test_every_numeric_parameter_rejects_invalid_values(key, tmp_path):
    group = key.split(".")[0]
    option = {"mask.threshold": ["mask=binary"], "mask.power": ["mask=wiener"],
              "mask.iterations": ["mask=mwf"], "phase.iterations": ["phase=griffin_lim"],
              "phase.momentum": ["phase=fast_griffin_lim"]}.get(key, [])
    algo = key.split(".")[1] if group == "algo" else None
    register_configs()
    with initialize_config_module("repet_bench.conf", version_base="1.3"):
        from repet_bench.config import available

        # (`in` is False for a mandatory key left unset: algo.root of estimates)
        algos = ["estimates"] if key == "algo.root" else [
            a for a in available("algo")
            if algo is None or algo in compose("config", overrides=[f"+algo={a}"]).algo]
        cfg = compose("config", overrides=[f"+algo={algos[0]}", *option, f"{key}={_bad_value(key)}",
                                           f"paths.cache={tmp_path}"])
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        runner.run(cfg, tmp_path / "out")


def test_estimates_with_nan_samples_fail_the_track_like_nan_in_the_dataset(stems, tmp_path):
    root, est = tmp_path / "root", tmp_path / "estimates"
    for name in (GOOD, "Bad - NaN estimate"):
        write_hq(root, name, stems)
        folder = est / "test" / name
        folder.mkdir(parents=True)
        vocals, accompaniment = stems[4].copy(), stems[1] + stems[2] + stems[3]
        if name != GOOD:
            vocals[500, 1] = np.nan
        sf.write(folder / "vocals.wav", vocals, RATE, subtype="FLOAT")
        sf.write(folder / "accompaniment.wav", accompaniment, RATE, subtype="FLOAT")
    cfg = compose_cfg(
        "+algo=estimates", f"algo.root={est}", "dataset=musdb18hq", f"dataset.root={root}",
        "runner.n_jobs=1", "runner.progress=false", f"paths.cache={tmp_path / 'cache'}")
    result = runner.run(cfg, tmp_path / "out")
    assert result.n_scored == 1 and list(result.failures) == ["test/Bad - NaN estimate"]
    error = result.failures["test/Bad - NaN estimate"]
    assert "vocals.wav: contains NaN or Inf samples" in error, error


def test_an_algorithm_giving_nan_estimates_is_not_scored(stems, tmp_path):
    track = data.TrackAudio(data.TrackRef("t", "test", "", True), stems[0],
                            {"vocals": stems[4], "accompaniment": stems[1] + stems[2] + stems[3]},
                            RATE)
    estimates = {"vocals": stems[4].copy(), "accompaniment": stems[0].copy()}
    estimates["accompaniment"][10] = np.inf
    job = {"algo": {"name": "repet"}, "eval": {"win": 1.0, "hop": 1.0, "backend": "fast"}}
    with pytest.raises(ValueError, match="accompaniment estimate.* contain NaN or Inf"):
        runner.score_track(track.ref, job, tmp_path, track, runner.Separation(estimates), {})
    assert not list(tmp_path.rglob("*.json"))  # nothing written for it


def test_a_run_dir_of_another_dataset_root_is_refused_and_nothing_mixes(stems, tmp_path):
    """dataset.root is not in the run dir's name: root B into root A's dir is refused."""
    for root in ("A", "B"):
        write_hq(tmp_path / root, GOOD, stems)
    first = run(tmp_path / "A", tmp_path)
    assert first.ok and first.n_scored == 1
    with pytest.raises(runner.RunError, match=r"holds scores of the dataset at .*A; this run reads .*B"):
        run(tmp_path / "B", tmp_path)
    again = run(tmp_path / "A", tmp_path)  # the original root resumes
    assert again.ok and again.n_resumed == 1


def test_a_track_rewritten_in_place_is_scored_again(stems, tmp_path):
    folder = write_hq(tmp_path / "root", GOOD, stems)
    first = run(tmp_path / "root", tmp_path)
    louder = stems.copy()
    louder[4] = stems[4] // 2  # other vocals (same length), so other scores
    louder[0] = louder[1] + louder[2] + louder[3] + louder[4]
    for stem, audio in zip(STEM_ORDER, louder):
        sf.write(folder / f"{stem}.wav", audio, RATE, subtype="PCM_16")
    second = run(tmp_path / "root", tmp_path)
    assert second.ok and second.n_resumed == 0
    assert not second.summary.equals(first.summary)


def test_a_track_whose_scores_go_away_mid_run_is_not_counted_as_scored(stems, tmp_path,
                                                                       monkeypatch):
    """The summary's count and the scores table agree when files vanish under a run."""
    import pandas as pd

    write_hq(tmp_path / "root", GOOD, stems)
    write_hq(tmp_path / "root", "Other - Track", stems)
    logged = runner._log_outcome

    def and_remove(records):  # a user (or a cleaner) deletes a scored track's museval JSON
        logged(records)
        if records[0]["track"] == GOOD:
            (tmp_path / "out" / "museval" / "test" / f"{GOOD}.json").unlink()

    monkeypatch.setattr(runner, "_log_outcome", and_remove)
    result = run(tmp_path / "root", tmp_path)
    table = pd.read_parquet(tmp_path / "out" / "scores.parquet")
    assert result.n_scored == table.track.nunique() == 1
    assert "went away before the run ended" in result.failures[f"test/{GOOD}"]


def test_an_unwritable_cache_is_one_clear_error_before_any_track(stems, tmp_path):
    write_hq(tmp_path / "root", GOOD, stems)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache should be")
    with pytest.raises(runner.RunError, match=r"cannot write into the cache \(paths.cache\) "
                                              r".*paths.cache=<dir> or REPET_BENCH_CACHE=<dir>"):
        run(tmp_path / "root", tmp_path, overrides=[f"paths.cache={blocked / 'sub'}"])
    assert not (tmp_path / "out" / "tracks").exists()  # no track failed one by one


@pytest.mark.slow
def test_a_run_dir_name_longer_than_the_file_system_allows_is_shortened(tmp_path, cache):
    from processes import cli

    long_value = "8." + "0" * 300  # algo.max_period=8.0, spelt in 302 characters
    done = cli("+algo=repet", f"algo.max_period={long_value}", "runner.dry_run=true",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (run_dir,) = (tmp_path / "results" / "runs").iterdir()
    assert len(run_dir.name.encode()) <= 255 and run_dir.name.startswith("+algo=repet,")
