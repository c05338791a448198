"""Report: ranking and statistics on hand-built run dirs with known scores, the CLI on two
real runs of the sample, and the HTML page in a real headless browser."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from repet_bench import evaluation, report, results, sisec18, stats
from repet_bench.config import config_hash
from repet_bench.results import SCORE_COLUMNS
from repet_bench.config import option
from processes import cli

TRACKS = [f"Artist {i} - Song {i}" for i in range(8)]
BASE = np.arange(8.0)                       # per-track vocals SDR of the "worse" config
# Nearly identical to the best: tiny alternating differences, negative on balance.
JITTER = np.array([-0.01, 0.02, -0.03, 0.04, -0.05, 0.06, -0.07, 0.08])
# Offsets of the other (target, metric) scores from the vocals SDR, all distinct.
OFFSETS = {("vocals", "SDR"): 0.0, ("vocals", "SIR"): 1.0, ("vocals", "SAR"): 2.0,
           ("vocals", "ISR"): 3.0, ("accompaniment", "SDR"): 5.0,
           ("accompaniment", "SIR"): 6.0, ("accompaniment", "SAR"): 7.0,
           ("accompaniment", "ISR"): 8.0}


STFT_2018 = option("stft", "nussl2018")


def make_config(mask="soft", phase="mixture", dataset=None, stft=None, **algo) -> dict:
    """A resolved config as run.json stores it (the sample dataset by default), from the
    packaged options."""
    return {
        "algo": {**option("algo", "repet"), **algo},
        "dataset": {**option("dataset", "sample"), **(dataset or {})},
        "stft": stft or option("stft"),
        "mask": option("mask", mask), "phase": option("phase", phase),
        "eval": option("eval"),
        "runner": {"name": "local", "n_jobs": 1, "backend": "loky", "progress": False},
        "paths": {"results": "results", "cache": "/tmp/cache"},
    }


def make_run(path: Path, config: dict, vocals_sdr: dict, status="complete",
             failed=(), finished=1000.0) -> Path:
    """A run dir whose per-track median of each score is known.

    Each track gets frames ``[v - 1, v, v + 1, NaN]`` per (target, metric), so the median
    over frames (NaN skipped) is exactly ``v = vocals_sdr[track] + OFFSETS[...]``.
    """
    rows = []
    for track, sdr in vocals_sdr.items():
        for (target, metric), offset in OFFSETS.items():
            v = sdr + offset
            for frame, score in enumerate([v - 1, v, v + 1, np.nan]):
                rows.append(("r", "repet", config["mask"]["name"], config["phase"]["name"],
                             "h", track, "test", target, metric, frame, float(frame), score))
    records = {f"test/{t}": {"track": t, "subset": "test", "status": "scored", "error": None}
               for t in vocals_sdr}
    records.update({f"test/{t}": {"track": t, "subset": "test", "status": "failed",
                                  "error": "RuntimeError: boom"} for t in failed})
    meta = {"status": status, "config_hash": config_hash(config),
            "config": config, "versions": {}, "n_tracks": len(records), "tracks": records,
            "finished": finished, "wall_seconds": 1.0}
    path.mkdir(parents=True)
    (path / "run.json").write_text(json.dumps(meta))
    pd.DataFrame(rows, columns=SCORE_COLUMNS).to_parquet(path / "scores.parquet")
    return path


@pytest.fixture
def synthetic_results(tmp_path) -> Path:
    """3 configurations × 8 tracks with a known ranking, plus runs that must not be ranked
    with them (2 other tracks, partial, running, unreadable, an older duplicate)."""
    root = tmp_path / "results"
    sweep = root / "sweeps" / "2025-01-01_00-00-00"
    make_run(sweep / "+algo=repet", make_config(), dict(zip(TRACKS, BASE + 2)))
    make_run(sweep / "+algo=repet,mask=binary", make_config("binary"), dict(zip(TRACKS, BASE)))
    make_run(sweep / "+algo=repet,mask=wiener", make_config("wiener"),
             dict(zip(TRACKS, BASE + 2 + JITTER)))
    # The same configuration as "+algo=repet", finished earlier: listed, not ranked twice.
    make_run(root / "runs" / "old", make_config(), dict(zip(TRACKS, BASE)), finished=10.0)
    # Another track set (2 tracks, excerpt): its own group, no CI.
    excerpt = {"duration": 10.0}
    make_run(root / "runs" / "short", make_config(dataset=excerpt), {"A - a": 1.0, "B - b": 2.0})
    make_run(root / "runs" / "short-period", make_config(dataset=excerpt, max_period=4.0),
             {"A - a": 0.0, "B - b": 0.5})
    make_run(root / "runs" / "partial", make_config(phase="none"),
             dict(zip(TRACKS[:7], BASE[:7])), status="partial", failed=[TRACKS[7]])
    running = root / "runs" / "running"
    running.mkdir(parents=True)
    (running / "run.json").write_text(json.dumps({"status": "running", "config": make_config(
        phase="griffin_lim"), "n_tracks": 8}))
    (running / "tracks" / "test").mkdir(parents=True)  # one track done so far
    (running / "tracks" / "test" / f"{TRACKS[0]}.json").write_text(json.dumps(
        {"track": TRACKS[0], "subset": "test", "status": "scored", "error": None}))
    broken = root / "runs" / "broken"
    broken.mkdir(parents=True)
    (broken / "run.json").write_text("{not json")
    return root


def test_ranking_medians_and_tests(synthetic_results):
    rep = report.build_report([synthetic_results])
    board = rep.leaderboard[rep.leaderboard["source"] == "run"]
    main = board[board["n_tracks"] == 8].set_index("config")

    assert main.index.tolist() == ["repet / soft / mixture", "repet / wiener / mixture",
                                   "repet / binary / mixture"]
    assert main["rank"].tolist() == [1, 2, 3]
    assert main.loc["repet / soft / mixture", "vocals_SDR"] == pytest.approx(5.5)
    assert main.loc["repet / binary / mixture", "vocals_SDR"] == pytest.approx(3.5)
    assert main.loc["repet / binary / mixture", "accompaniment_ISR"] == pytest.approx(11.5)
    # The same numbers as the runner's own SiSEC aggregation.
    scores = pd.read_parquet(synthetic_results / "sweeps" / "2025-01-01_00-00-00"
                             / "+algo=repet,mask=binary" / "scores.parquet")
    summary = results.aggregate(scores)
    for target in ("vocals", "accompaniment"):
        for metric in evaluation.METRICS:
            assert main.loc["repet / binary / mixture", f"{target}_{metric}"] == \
                pytest.approx(summary.loc[target, metric])

    # Worse on every track: significant; near-identical: not.
    worse = main.loc["repet / binary / mixture"]
    assert worse["p_vs_best"] == pytest.approx(2 / 2**8) and worse["significant"]
    assert worse["median_diff"] == pytest.approx(-2.0)
    twin = main.loc["repet / wiener / mixture"]
    assert twin["p_vs_best"] > 0.5 and not twin["significant"]
    low, high = main.loc["repet / soft / mixture", ["vocals_SDR_ci_low", "vocals_SDR_ci_high"]]
    assert 2 <= low < 5.5 < high <= 9

    md = (rep.out_dir / "leaderboard.md").read_text()
    assert re.search(r"repet / binary / mixture .*\| 0\.00781 \*", md)
    assert re.search(r"repet / wiener / mixture .*\| 0\.\d+ +\|", md)  # a p, no marker
    assert "| best" in md


def test_groups_ci_and_not_ranked(synthetic_results):
    rep = report.build_report([synthetic_results])
    board = rep.leaderboard[rep.leaderboard["source"] == "run"]
    assert len(rep.groups) == 2  # 8 full tracks vs 2 tracks excerpt: never ranked together
    short = board[board["n_tracks"] == 2]
    assert short["config"].tolist() == ["repet / soft / mixture",
                                        "repet(max_period=4) / soft / mixture"]
    assert short[["vocals_SDR_ci_low", "accompaniment_SDR_ci_high"]].isna().all().all()
    assert short["p_vs_best"].isna().all()  # 2 pairs: n/a
    assert board.groupby("group")["dataset"].first().tolist() == [
        "sample · test · 8 tracks · full length", "sample · test · 2 tracks · excerpt 0–10 s"]

    runs = rep.runs.set_index(rep.runs["run"].map(lambda r: Path(r).name))
    assert not runs.loc[["partial", "running", "broken", "old"], "ranked"].any()
    assert runs.loc["partial", "status"] == "partial"
    assert "1 of 8 tracks not scored" in runs.loc["partial", "reason"]
    assert runs.loc["running", "n_scored"] == 1 and runs.loc["running", "n_tracks"] == 8
    assert runs.loc["running", "reason"] == ("1 of 8 tracks scored; killed or still running: "
                                             "rerun the same command to finish")
    assert runs.loc["broken", "status"] == "unreadable"
    assert "same configuration" in runs.loc["old", "reason"]

    md = (rep.out_dir / "leaderboard.md").read_text()
    assert md.count("## Leaderboard") == 2
    assert "8 tracks · full length" in md and "2 tracks · excerpt 0–10 s" in md
    assert "n/a" in md.split("excerpt 0–10 s")[1].split("##")[0]  # no CI for 2 tracks
    not_ranked = md.split("## Not ranked")[1]
    for name in ("partial", "running", "broken", "old"):
        assert f"runs/{name}" in not_ranked
    assert "repet / soft / none" in not_ranked
    assert sisec18.REFERENCE_TITLE in md
    assert (rep.out_dir / "plots" / "g1_boxplot.png").stat().st_size > 1000


def test_scatter_choice_and_errors(synthetic_results, tmp_path):
    out = tmp_path / "rep"
    rep = report.build_report([synthetic_results], out,
                              scatter=("+algo=repet,mask=binary", "repet / wiener / mixture"))
    assert (out / "plots" / "g1_scatter.png").exists()
    assert "A = repet / binary / mixture, B = repet / wiener / mixture" in \
        (out / "leaderboard.html").read_text()
    assert rep.reference_comparison.empty
    with pytest.raises(ValueError, match="matches no ranked configuration"):
        report.build_report([synthetic_results], out, scatter=("nope", "repet / soft / mixture"))
    assert report.main([str(tmp_path / "missing")]) == 2


def test_sisec_paired_comparison(tmp_path):
    ref = sisec18.load_reference(sisec18.find_reference_dir())
    assert ref is not None and len(ref.track_names) == 50
    rep1 = stats.track_scores(ref.per_track, "REP1", "vocals").droplevel("subset")
    ours = (rep1 + 1.0).to_dict()  # 1 dB better than published REPET on every track
    musdb = {"name": "musdb18"}
    # made as REP1 was (+experiment=sisec18), and the same method in nussl 1.1.9's flavour
    make_run(tmp_path / "res" / "sisec18", make_config(dataset=musdb, stft=STFT_2018,
                                                       flavour="sisec18"), ours)
    make_run(tmp_path / "res" / "nussl", make_config(dataset=musdb, flavour="nussl"),
             (rep1 + 2.0).to_dict())
    rep = report.build_report([tmp_path / "res"])
    comp = rep.reference_comparison.set_index("target")
    assert len(comp) == 2  # only the SiSEC 2018 code is compared, for both targets
    assert comp.loc["vocals", "reference"] == "REP1"
    assert comp.loc["vocals", "config"] == "repet(flavour=sisec18) / soft / mixture / stft=nussl2018"
    assert comp.loc["vocals", "n"] == 50
    assert comp.loc["vocals", "median_diff"] == pytest.approx(1.0)
    assert comp.loc["vocals", "p"] < 1e-6
    md = (rep.out_dir / "leaderboard.md").read_text()
    assert "SiSEC 2018's 50 MUSDB18 test tracks" in md
    assert re.search(r"\| repet\(flavour=sisec18\) / soft / mixture .*\| REP1 +\| vocals +\| 50 +"
                     r"\| \+1\.00 .*\*", md)
    impl = rep.leaderboard[rep.leaderboard.source == "run"].set_index("config")["implementation"]
    assert sorted(impl) == ["nussl 0.1.6a0 (the SiSEC 2018 code)",
                            "nussl 1.1.9 (not the SiSEC 2018 code)"]
    assert "nussl 1.1.9 (not the SiSEC 2018 code)" in md


def test_missing_reference_is_a_note(synthetic_results, tmp_path):
    rep = report.build_report([synthetic_results], tmp_path / "rep", reference_dir=tmp_path)
    assert (rep.leaderboard["source"] == "run").all()
    assert "reference figures not found" in (tmp_path / "rep" / "leaderboard.md").read_text()


# ------------------------------------------------------------------ real runs of the sample

@pytest.fixture(scope="module")
def real_report(cache, tmp_path_factory) -> Path:
    """Two real runs of the sample (soft and binary mask) and the CLI report on them."""
    results = tmp_path_factory.mktemp("results")
    for extra in ([], ["mask=binary"]):
        run = cli("+algo=repet", f"paths.results={results}", "runner.progress=false", *extra)
        assert run.returncode == 0, run.stderr
    done = subprocess.run([sys.executable, "-m", "repet_bench.report", str(results)],
                          check=True, capture_output=True, text=True)
    assert "2 ranked in 1 group(s)" in done.stdout
    return results / "report"


@pytest.mark.slow
def test_cli_on_real_runs(real_report):
    for name in ("leaderboard.md", "leaderboard.csv", "leaderboard.html",
                 "plots/g1_boxplot.png", "plots/g1_heatmap.png", "plots/g1_scatter.png"):
        assert (real_report / name).stat().st_size > 0, name
    md = (real_report / "leaderboard.md").read_text()
    rows = [line for line in md.splitlines() if re.match(r"\| \d +\| repet /", line)]
    assert len(rows) == 2
    assert {r.split("|")[2].strip() for r in rows} == {"repet / soft / mixture",
                                                       "repet / binary / mixture"}
    assert "1 track · full length" in md
    csv = pd.read_csv(real_report / "leaderboard.csv")
    assert set(csv["source"]) == {"run", "SiSEC 2018 (published)"}
    assert csv.loc[csv["source"] == "run", "vocals_SDR_ci_low"].isna().all()  # 1 track


# ------------------------------------------------------------------ headless browser

# Injected into a copy of the page: count images that decoded, collect load errors.
_PROBE = """<script>
window.__errors = [];
window.addEventListener("error", e => window.__errors.push(
  String(e.message || (e.target && (e.target.src || e.target.outerHTML)))), true);
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  document.title = JSON.stringify({loaded: images.filter(i => i.complete && i.naturalWidth > 0).length,
                                   total: images.length, errors: window.__errors});
});
</script>"""


def _chromium() -> str | None:
    found = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
    if found is None and not os.environ.get("CI"):
        pytest.skip("chromium not installed (apt-get install -y chromium); required in CI")
    assert found, "CI is set but chromium is missing: apt-get install -y chromium"
    return found


def _browser(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--window-size=1200,2000",
         "--virtual-time-budget=10000", *args],
        capture_output=True, text=True, timeout=60)


@pytest.mark.slow
def test_html_in_headless_browser(real_report, tmp_path):
    chromium = _chromium()
    page = (real_report / "leaderboard.html").read_text()
    probe = real_report / "_probe.html"  # same folder: the relative image paths resolve
    probe.write_text(page.replace("<head>", "<head>" + _PROBE, 1))

    dom = _browser(chromium, tmp_path / "profile", "--dump-dom", probe.as_uri())
    title = re.search(r"<title>(.*?)</title>", dom.stdout, re.S)
    assert title, f"no DOM from chromium: {dom.stderr[-2000:]}"
    state = json.loads(html.unescape(title.group(1)))
    assert state["errors"] == []
    assert state["total"] == 3 and state["loaded"] == 3
    assert "repet / binary / mixture" in dom.stdout

    shot = tmp_path / "page.png"
    _browser(chromium, tmp_path / "profile2", f"--screenshot={shot}",
             (real_report / "leaderboard.html").as_uri())
    assert shot.stat().st_size > 10_000


# Injected into a copy of the page: where each visible leaderboard ends (px), the page width.
_WIDTH_PROBE = """<script>
window.addEventListener("load", () => {
  const shown = Array.from(document.querySelectorAll("table"))
    .filter(t => t.closest("details:not([open])") === null);  // what shows without a toggle
  document.title = JSON.stringify({
    width: window.innerWidth,
    tables: shown.map(t => Math.max(...Array.from(t.querySelectorAll("th, td"))
                                      .map(c => c.getBoundingClientRect().right))),
    classes: shown.map(t => t.className),
    headers: shown.length ? Array.from(document.querySelector("table.leaderboard")
                                       .querySelectorAll("thead th"))
                              .map(c => c.textContent) : []});
});
</script>"""


@pytest.mark.slow
def test_html_leaderboards_fit_1400_px_with_a_long_entry_path(real_report, tmp_path):
    """Every column a paper needs is on screen at 1400 px without scrolling sideways, an
    --entry from a deep folder included; the rest of the metrics sit behind a toggle."""
    chromium = _chromium()
    deep = tmp_path / ("a-rather-long-folder-name-" * 6) / "submissions" / "REP1"  # a long path
    report.build_report([real_report.parent], tmp_path / "exported-report", export=deep.parent)
    entry = next(p for p in deep.parent.iterdir() if p.is_dir())
    out = tmp_path / "report"
    assert report.main([str(real_report.parent), "--out", str(out),
                        "--entry", f"REP exported={entry}"]) == 0
    page = (out / "leaderboard.html").read_text()
    assert "<summary>Every metric" in page and "SI-SDR" in page
    probe = out / "_probe.html"
    probe.write_text(page.replace("<head>", "<head>" + _WIDTH_PROBE, 1))
    dom = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,1000",
         "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=60)
    title = re.search(r"<title>(.*?)</title>", dom.stdout, re.S)
    assert title, f"no DOM from chromium: {dom.stderr[-2000:]}"
    state = json.loads(html.unescape(title.group(1)))
    assert state["tables"], "no leaderboard shown"
    assert max(state["tables"]) <= state["width"], state
    for header in ("vocals", "accompaniment", "SDR", "95% CI", "SDRi", "Δ median", "p"):
        assert header in state["headers"], (header, state["headers"])
    assert "museval JSON: submissions/" in page  # the entry's cell: its folder, not its path


@pytest.mark.slow
def test_saved_estimates_become_audio_players_in_the_report(tmp_path, cache, capsys):
    import soundfile as sf

    for extra in ([], ["mask=binary"]):
        r = cli("+algo=repet", "save_estimates=true", "estimates_seconds=2",
                "runner.progress=false", *extra, cwd=tmp_path, timeout=300)
        assert r.returncode == 0, r.stderr
    runs = sorted((tmp_path / "results" / "runs").iterdir())
    folder = runs[0] / "estimates" / "test" / "The Easton Ellises - Falcon 69"
    names = {p.name for p in folder.glob("*.wav")}
    assert names == {"mixture.wav", "vocals.wav", "accompaniment.wav", "vocals_true.wav",
                     "accompaniment_true.wav"}
    audio, rate = sf.read(folder / "vocals.wav")
    assert rate == 44100 and audio.shape == (2 * 44100, 2)

    out = tmp_path / "report"
    assert report.main([str(tmp_path / "results"), "--out", str(out)]) == 0
    assert "<audio" not in (out / "leaderboard.html").read_text()  # only when asked
    assert report.main([str(tmp_path / "results"), "--out", str(out), "--listen", "Falcon"]) == 2
    said = capsys.readouterr()
    assert "'Falcon' matches no track" in said.err and "*Falcon*" in said.err
    assert "The Easton Ellises - Falcon 69" in said.err  # what there is
    assert report.main([str(tmp_path / "results"), "--out", str(out), "--listen", "*Falcon*"]) == 0
    assert "audio players for 1 track(s): The Easton Ellises - Falcon 69" in capsys.readouterr().out
    page = (out / "leaderboard.html").read_text()
    assert page.count("<audio") == 3 + 2 * 2  # mixture, 2 true sources, 2 configs x 2 targets
    for src in __import__("re").findall(r'<audio[^>]*src="([^"]+)"', page):
        assert (out / src).resolve().exists(), src
    # --standalone: the folder holds what it plays, so it still plays once moved
    alone = tmp_path / "alone"
    assert report.main([str(tmp_path / "results"), "--out", str(alone), "--listen", "*Falcon*",
                        "--standalone"]) == 0
    moved = tmp_path / "elsewhere" / "sent"
    moved.parent.mkdir()
    shutil.move(alone, moved)
    page = (moved / "leaderboard.html").read_text()
    sources = re.findall(r'<audio[^>]*src="([^"]+)"', page) + re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) >= 7
    for src in sources:
        assert not src.startswith(("/", "..")) and (moved / src).exists(), src


@pytest.mark.slow
def test_track_analysis_plots_beat_spectrum_and_models(tmp_path, cache):
    r = cli("+algo=repet", "runner.progress=false", cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "report"
    name = "The Easton Ellises - Falcon 69"
    assert report.main([str(tmp_path / "results"), "--out", str(out), "--analyse", name]) == 0
    for png in (out / "plots" / f"track-{name}.png", out / "plots" / f"track-{name}-frames.png"):
        assert png.exists() and png.stat().st_size > 10_000, png
    assert f"Track analysis: {name}" in (out / "leaderboard.html").read_text()
    assert report.main([str(tmp_path / "results"), "--out", str(out), "--analyse", "Nope"]) == 2
    # the shell patterns --listen and dataset.tracks take (issue 26)
    pattern = tmp_path / "pattern"
    assert report.main([str(tmp_path / "results"), "--out", str(pattern), "--analyse",
                        "*Falcon*"]) == 0
    assert f"Track analysis: {name}" in (pattern / "leaderboard.html").read_text()


def test_sigsep_oracles_and_mix_compare_with_their_entries_and_methods_join_the_field(tmp_path):
    ref = sisec18.load_reference(sisec18.find_reference_dir())
    published = {m: stats.track_scores(ref.per_track, m, "vocals").droplevel("subset")
                 for m in ("IRM2", "MIX", "REP1")}
    musdb = {"name": "musdb18"}
    runs = {
        "irm2": ({**option("algo", "sigsep_oracle"), "method": "IRM2"}, published["IRM2"]),
        "mix_sisec18": ({**option("algo", "mix"), "flavour": "sisec18"}, published["MIX"] + 0.5),
        "mix_plain": (option("algo", "mix"), published["MIX"] - 7.0),  # not MIX.py's estimates
        "rep1": ({**option("algo", "repet"), "flavour": "sisec18"}, published["REP1"] + 1.0),
    }
    for name, (algo, scores) in runs.items():
        config = make_config(dataset=musdb, stft=STFT_2018 if name == "rep1" else None)
        config["algo"] = algo
        make_run(tmp_path / "res" / name, config, scores.to_dict())
    rep = report.build_report([tmp_path / "res"])
    vocals = rep.reference_comparison[rep.reference_comparison["target"] == "vocals"]
    diff = vocals.set_index("reference")["median_diff"]
    assert sorted(diff.index) == ["IRM2", "MIX", "REP1"]  # the plain mixture is not MIX
    assert diff["IRM2"] == pytest.approx(0.0) and diff["MIX"] == pytest.approx(0.5)
    impl = rep.leaderboard[rep.leaderboard.source == "run"].set_index("config")["implementation"]
    assert impl["sigsep_oracle(method=IRM2)"] == "sigsep-mus-oracle f5ce674 (the SiSEC 2018 code)"
    assert impl["mix"].startswith("the mixture (not SiSEC 2018's MIX")
    md = (rep.out_dir / "leaderboard.md").read_text()
    field = md.split("## SiSEC 2018 field", 1)[1].split("\n## ", 1)[0]
    placed = [line for line in field.splitlines() if "this harness" in line]
    # methods only (oracles and the mixture are bounds), measured on all 50 tracks
    assert len(placed) == 1 and "repet(flavour=sisec18)" in placed[0]
    assert "other tracks" not in placed[0]
    rows = [line.split("|")[2].strip() for line in field.splitlines() if re.match(r"\| \d", line)]
    assert rows.index("REP2") < next(i for i, r in enumerate(rows) if r.startswith("repet(")) \
        < rows.index("MIX")  # REP1 + 1 dB (1.2) sits between REP2 (2.30) and MIX (1.12)
    assert "| REP1 " in field and "| blind " in field and "| TAK2 " in field
    table = md.split("## Published: SiSEC 2018", 1)[1]
    assert "+algo=sigsep_irm2" in table and "+algo=mix algo.flavour=sisec18" in table


def test_hostile_names_are_inert_text_in_leaderboard_md(tmp_path):
    """A track or run name with HTML, a link or a newline stays text on one line."""
    hostile = "<img src=x onerror=alert(1)> [x](javascript:alert(1)) |\nEvil - Track"
    tracks = {hostile: 1.0, **{t: float(i) for i, t in enumerate(TRACKS[:3])}}
    make_run(tmp_path / "res" / "<b>run</b>", make_config(), tracks)
    rep = report.build_report([tmp_path / "res"], tmp_path / "out")
    md = (rep.out_dir / "leaderboard.md").read_text()
    assert "<img" not in md and "<b>" not in md and "[x](javascript" not in md
    assert "&lt;img src=x onerror=alert(1)&gt; \\[x\\](javascript:alert(1)) \\| Evil - Track" in md
    # a newline or a "|" in a name cuts no table row in two
    assert all(len(re.findall(r"(?<!\\)\|", line)) != 1 for line in md.splitlines())


def test_one_report_at_a_time_into_a_folder_and_no_stale_plots(synthetic_results, tmp_path):
    from repet_bench.io import exclusive_lock

    out = tmp_path / "rep"
    (out / "plots").mkdir(parents=True)
    stale = out / "plots" / "g9_boxplot.png"  # drawn by an earlier report of other runs
    stale.write_bytes(b"old")
    with exclusive_lock(out, "report"):  # another report is being written there
        with pytest.raises(ValueError, match="another report .* is writing into .*--out"):
            report.build_report([synthetic_results], out)
    rep = report.build_report([synthetic_results], out)
    assert not stale.exists() and rep.figures
    assert {p.name for p in (out / "plots").glob("*.png")} == {Path(p).name for p in rep.figures}
