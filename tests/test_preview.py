"""MUSDB18-7 through musdb's own download (``dataset=musdb18 dataset.download=true``), on a
loopback server serving a zip laid out as the real one: verified, a broken download
leaves nothing and the rerun succeeds, one clear line offline, and a newcomer's sweep on it
gets a leaderboard with statistics that museval's MethodStore reads back."""

from __future__ import annotations

import socket

import pandas as pd
import pytest

from loopback import serve
from musdb_layout import make_preview_zip, preview_names
from processes import cli
from repet_bench import preview

ZIP = "MUSDB18-7-STEMS.zip"


@pytest.fixture(scope="module")
def zips(tmp_path_factory, cache):
    folder = tmp_path_factory.mktemp("served")
    make_preview_zip(folder / ZIP, cache)
    make_preview_zip(folder / "incomplete.zip", cache, drop=preview_names()["test"][10])
    return folder


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once closed


def test_download_verifies_and_lays_out_the_preview(zips, tmp_path):
    with serve(zips) as url:
        root = preview.ensure(tmp_path, f"{url}/{ZIP}")
    assert root == tmp_path / "MUSDB18-7" and preview.problem(root) is None
    assert len(list((root / "test").glob("*.stem.mp4"))) == 50
    assert len(list((root / "train").glob("*.stem.mp4"))) == 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["MUSDB18-7"]  # no staging left
    assert preview.ensure(tmp_path, "http://127.0.0.1:1/never-fetched.zip") == root  # once


def test_an_incomplete_archive_is_refused_and_nothing_is_kept(zips, tmp_path):
    with serve(zips) as url, pytest.raises(preview.PreviewError,
                                           match="not complete .*test/ holds 49 tracks"):
        preview.ensure(tmp_path, f"{url}/incomplete.zip")
    assert not (tmp_path / "MUSDB18-7").exists()


def test_a_broken_download_leaves_nothing_and_the_rerun_succeeds(zips, tmp_path):
    with serve(zips, truncate=True) as url, pytest.raises(preview.PreviewError,
                                                          match="could not download"):
        preview.ensure(tmp_path, f"{url}/{ZIP}")
    assert not (tmp_path / "MUSDB18-7").exists()
    with serve(zips) as url:
        assert preview.problem(preview.ensure(tmp_path, f"{url}/{ZIP}")) is None


def test_offline_is_one_line_that_says_so(tmp_path):
    with pytest.raises(preview.PreviewError) as info:
        preview.ensure(tmp_path, f"http://127.0.0.1:{_closed_port()}/{ZIP}")
    message = str(info.value)
    assert message.startswith("could not download MUSDB18-7 from http://127.0.0.1:")
    assert "offline" in message and "dataset.root=" in message
    assert not (tmp_path / "MUSDB18-7").exists()


def test_a_dry_run_downloads_nothing(tmp_path):
    done = cli("+algo=repet", "dataset=musdb18", "dataset.download=true",
               f"dataset.download_url=http://127.0.0.1:{_closed_port()}/{ZIP}",
               f"paths.cache={tmp_path / 'cache'}", "runner.dry_run=true", cwd=tmp_path)
    assert done.returncode == 2
    assert "MUSDB18-7 is not downloaded yet" in done.stderr and "a dry run" in done.stderr


@pytest.mark.slow
def test_a_newcomer_sweeps_the_preview_and_reads_the_export_with_museval(zips, tmp_path):
    import museval

    cache = tmp_path / "cache"
    with serve(zips) as url:
        done = cli("-m", "+algo=repet,repet_sim,mix", "dataset=musdb18", "dataset.download=true",
                   f"dataset.download_url={url}/{ZIP}", "dataset.max_tracks=6",
                   f"paths.cache={cache}", "runner.n_jobs=2", "runner.progress=false",
                   cwd=tmp_path, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "sweep ranking" in done.stdout
    results = tmp_path / "results"
    from repet_bench import report

    built = report.build_report([results], tmp_path / "report", export=tmp_path / "export")
    board = built.leaderboard[built.leaderboard["source"] == "run"]
    assert len(board) == 3 and (board["n_tracks"] == 6).all()
    assert board["dataset"].str.contains("MUSDB18-7 preview").all()
    page = (tmp_path / "report" / "leaderboard.html").read_text()
    assert "Friedman" in page and "no test was run" not in page
    assert board["vocals_SDRi"].notna().all()
    store = museval.MethodStore()
    for folder in sorted((tmp_path / "export").glob("*/test")):
        store.add_eval_dir(folder.parent)
    sdr = store.df[(store.df["target"] == "vocals") & (store.df["metric"] == "SDR")]
    medians = sdr.groupby(["method", "track"])["score"].median().groupby("method").median()
    methods = pd.read_csv(tmp_path / "export" / "methods.csv").set_index("method")["label"]
    ours = board.set_index("config")["vocals_SDR"]
    assert {methods[m]: v for m, v in medians.items()} == pytest.approx(ours.to_dict(), abs=1e-9)
