"""Shared caches are verified before use: damage is reported, discarded and recomputed."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import dataset_cfg

from repet_bench import cache, data, evaluation, io
from processes import cli


@pytest.fixture()
def sample_ref(cache):  # noqa: F811  (the session cache fixture of conftest)
    return data.list_tracks(dataset_cfg(), cache)[0]


def _damage(path, how):
    raw = bytearray(path.read_bytes())
    if how == "zeroed":  # 1 MB of zeros inside the data
        start = len(raw) // 3
        raw[start : start + (1 << 20)] = bytes(min(1 << 20, len(raw) - start))
    elif how == "empty":
        raw = bytearray()
    elif how == "noise":
        raw = bytearray(np.random.default_rng(0).bytes(4096))
    elif how == "truncated":
        raw = raw[: len(raw) // 2]
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("how", ["zeroed", "empty", "noise", "truncated", "no digest"])
def test_damaged_decoded_audio_is_reported_and_decoded_again(sample_ref, tmp_path, caplog, how):
    folder = tmp_path / "decoded"
    expected = data.load_track(sample_ref)  # no cache
    data.load_track(sample_ref, folder)
    (cached,) = folder.glob("*.npz")
    if how == "no digest":
        cache._digest_path(cached).unlink()
    else:
        _damage(cached, how)
    with caplog.at_level(logging.WARNING, logger="repet_bench"):
        again = data.load_track(sample_ref, folder)
    np.testing.assert_array_equal(again.mixture, expected.mixture)
    for target in expected.references:
        np.testing.assert_array_equal(again.references[target], expected.references[target])
    assert str(cached) in caplog.text and "computing it again" in caplog.text
    # rewritten, and sound from now on
    assert cache.fetch(cached, "decoded audio") is not None


def test_a_sound_cache_is_read_without_warning_and_equals_the_decode(sample_ref, tmp_path,
                                                                     caplog):
    folder = tmp_path / "decoded"
    first = data.load_track(sample_ref, folder)
    with caplog.at_level(logging.WARNING, logger="repet_bench"):
        second = data.load_track(sample_ref, folder)
    assert caplog.text == ""
    np.testing.assert_array_equal(first.mixture, second.mixture)


def test_a_source_rewritten_with_the_same_size_and_mtime_gets_a_new_key(sample_ref, tmp_path):
    import shutil

    copy = tmp_path / "track.stem.mp4"
    shutil.copy2(sample_ref.path, copy)
    ref = data.TrackRef(sample_ref.name, sample_ref.subset, str(copy), False,
                        sample_ref.offset, sample_ref.duration)
    before = data.decode_key(ref)
    st = copy.stat()
    copy.write_bytes(copy.read_bytes())  # same size
    os.utime(copy, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime
    assert copy.stat().st_size == st.st_size and copy.stat().st_mtime_ns == st.st_mtime_ns
    assert data.decode_key(ref) != before


@pytest.mark.parametrize("how", ["zeroed", "empty", "noise", "truncated"])
def test_damaged_reference_statistics_are_recomputed(sample_track, tmp_path, caplog, how):
    refs = {k: v[: 3 * 44100] for k, v in sample_track.references.items()}
    est = {k: 0.9 * v for k, v in refs.items()}
    path = tmp_path / "refstats" / "key.npz"
    clean = evaluation.evaluate_track("t", refs, est, 44100, backend="fast")
    evaluation.evaluate_track("t", refs, est, 44100, backend="fast", stats_path=path)
    _damage(path, how)
    with caplog.at_level(logging.WARNING, logger="repet_bench"):
        again = evaluation.evaluate_track("t", refs, est, 44100, backend="fast", stats_path=path)
    assert again.json == clean.json
    assert str(path) in caplog.text


@pytest.mark.slow
def test_stale_temporaries_of_a_shared_cache_go_and_live_ones_stay(tmp_path):
    folder = tmp_path / "decoded"
    folder.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    host = io._HOST
    gone = folder / f"{io.TMP_PREFIX}{host}-{dead}-abc"
    live = folder / f"{io.TMP_PREFIX}{host}-{os.getpid()}-abc"
    elsewhere = folder / f"{io.TMP_PREFIX}otherhost-{dead}-abc"
    old = folder / f"{io.TMP_PREFIX}otherhost-1-old"
    for f in (gone, live, elsewhere, old):
        f.write_bytes(b"partial")
    os.utime(old, (0, 0))
    assert io.remove_stale_temporaries(folder, shared=True) == 2
    assert not gone.exists() and not old.exists()
    assert live.exists() and elsewhere.exists()


def test_runs_probing_one_results_dir_at_once_all_find_it_writable(tmp_path):
    # Two runs started together into one dir (or one paths.results) each check that
    # they can write there; one's check must never remove the other's probe file.
    with ThreadPoolExecutor(4) as pool:
        problems = list(pool.map(lambda _: io.writable_problem(tmp_path), range(400)))
    assert problems == [None] * 400
    assert list(tmp_path.iterdir()) == []


def test_written_files_get_the_users_usual_permissions(tmp_path):
    path = tmp_path / "x.txt"
    io.atomic_write_text(path, "x")
    assert stat.S_IMODE(path.stat().st_mode) == io.FILE_MODE
    cache.store(tmp_path / "a.npz", {"x": np.zeros(3)})
    assert stat.S_IMODE((tmp_path / "a.npz").stat().st_mode) == io.FILE_MODE


def test_a_valid_file_that_is_not_the_one_written_is_rejected(tmp_path, caplog):
    cache.store(tmp_path / "a.npz", {"x": np.zeros(3)})
    cache.store(tmp_path / "b.npz", {"x": np.ones(3)})
    (tmp_path / "a.npz").write_bytes((tmp_path / "b.npz").read_bytes())  # zip CRCs pass
    with caplog.at_level(logging.WARNING, logger="repet_bench"):
        assert cache.fetch(tmp_path / "a.npz", "test arrays") is None
    assert "does not match its digest" in caplog.text
    assert not (tmp_path / "a.npz").exists()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["museval", "fast"])
def test_a_run_on_a_damaged_cache_publishes_the_right_scores(tmp_path, backend):
    """The fault that once went unnoticed: zeroed bytes in a cached decode changed the
    published accompaniment SDR (10.67 -> 5.17 dB) with exit code 0 and no warning."""
    import pandas as pd

    env = {**os.environ, "REPET_BENCH_CACHE": str(tmp_path / "cache")}

    def run(results, *extra):
        done = cli("+algo=repet", f"eval={backend}", f"paths.results={tmp_path / results}",
                   "runner.progress=false", *extra, env=env)
        assert done.returncode == 0, done.stderr
        (scores,) = (tmp_path / results).rglob("scores.parquet")
        return done, pd.read_parquet(scores)["score"].to_numpy()

    _, clean = run("plain")
    run("first", "dataset.decode_cache=true")
    for cached in (tmp_path / "cache").rglob("*.npz"):  # decoded audio and, for fast, refstats
        _damage(cached, "zeroed")
    done, again = run("again", "dataset.decode_cache=true")
    np.testing.assert_array_equal(again, clean)
    said = done.stdout + done.stderr  # Hydra's console log goes to stdout
    assert "is damaged" in said and "computing it again" in said
