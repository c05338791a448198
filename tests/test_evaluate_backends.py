"""eval.backend=fast against museval through the harness, and its reference cache."""

import json

import numpy as np
import pytest

from repet_bench import bsseval_fast, evaluation, separation
from repet_bench.config import option
from processes import cli
from configs import compose_cfg

ALGO = {"name": "repet", "min_period": 0.8, "max_period": 8.0, "period": None, "high_pass_cutoff": 100.0}
STFT = option("stft")


def frames(scores):
    doc = json.loads(scores.json)
    return {(t["name"], m): np.array([np.nan if f["metrics"][m] is None else float(f["metrics"][m])
                                      for f in t["frames"]])
            for t in doc["targets"] for m in evaluation.METRICS}


@pytest.fixture(scope="module")
def estimates(sample_track):
    return separation.separate(sample_track.mixture, sample_track.rate, ALGO, STFT,
                             {"name": "soft"}, {"name": "mixture"}).estimates


def test_fast_backend_matches_museval_on_the_real_sample(sample_track, estimates, tmp_path):
    t = sample_track
    ref = frames(evaluation.evaluate_track("s", t.references, estimates, t.rate, backend="museval"))
    fast = frames(evaluation.evaluate_track("s", t.references, estimates, t.rate, backend="fast",
                                          stats_path=tmp_path / "stats.npz"))
    for key, values in ref.items():
        np.testing.assert_array_equal(np.isnan(values), np.isnan(fast[key]))
        # JSON keeps 5 decimals: one rounding step apart at most for SDR; ISR/SIR/SAR are
        # ill-conditioned on real music (museval itself moves ~1e-4 dB under 1e-12 noise)
        tol = 1.01e-5 if key[1] == "SDR" else bsseval_fast.ILL_CONDITIONED_AGREEMENT_DB
        np.testing.assert_allclose(fast[key], values, atol=tol, equal_nan=True, err_msg=str(key))


def test_reference_statistics_are_computed_once_per_track(sample_track, estimates, tmp_path, monkeypatch):
    t = sample_track
    path = tmp_path / "refstats" / "track.npz"
    first = evaluation.evaluate_track("s", t.references, estimates, t.rate, backend="fast", stats_path=path)
    assert path.exists()
    monkeypatch.setattr(bsseval_fast, "reference_stats", lambda *a, **k: pytest.fail("recomputed"))
    other = {k: 0.9 * v for k, v in estimates.items()}  # a second configuration
    second = evaluation.evaluate_track("s", t.references, other, t.rate, backend="fast", stats_path=path)
    assert first.json != second.json
    again = evaluation.evaluate_track("s", t.references, estimates, t.rate, backend="fast", stats_path=path)
    assert again.json == first.json


def test_silent_estimate_gives_nan_with_either_backend(sample_track):
    t = sample_track
    silent = {"vocals": np.zeros_like(t.mixture), "accompaniment": t.mixture}
    for backend in evaluation.BACKENDS:
        scores = evaluation.evaluate_track("s", t.references, silent, t.rate, backend=backend)
        assert "silent" in scores.error
        assert all(np.isnan(v).all() for v in frames(scores).values())


def test_unknown_backend_is_named(sample_track, estimates):
    with pytest.raises(ValueError, match="eval.backend"):
        evaluation.evaluate_track("s", sample_track.references, estimates, 44100, backend="bsseval3")


def test_scale_invariant_metrics_on_known_mixtures():
    rng = np.random.default_rng(0)
    v, a = rng.standard_normal((2, 44100, 2))
    refs = {"vocals": v, "accompaniment": a}
    # a scaled perfect estimate: SI-SDR is scale-invariant, so it is (numerically) infinite
    perfect = evaluation.scale_invariant(refs, {"vocals": 0.5 * v, "accompaniment": 2 * a})
    assert perfect["vocals"]["SI-SDR"] > 100
    # leakage of the other source only: SI-SIR = target/interference energy, no artifacts
    leak = evaluation.scale_invariant(refs, {"vocals": v + 0.1 * a, "accompaniment": a + 0.1 * v})
    assert leak["vocals"]["SI-SIR"] == pytest.approx(20.0, abs=0.2)
    assert leak["vocals"]["SI-SAR"] > 100
    # added noise only: artifacts
    noise = rng.standard_normal(v.shape)
    art = evaluation.scale_invariant(refs, {"vocals": v + 0.1 * noise, "accompaniment": a})
    assert art["vocals"]["SI-SAR"] == pytest.approx(20.0, abs=0.3)
    assert art["vocals"]["SI-SDR"] == pytest.approx(20.0, abs=0.3)


def test_scale_invariant_metrics_of_an_a_cappella_track_are_nan_as_museval_has_it():
    v = np.random.default_rng(1).standard_normal((44100, 2))
    refs = {"vocals": v, "accompaniment": np.zeros_like(v)}  # silent accompaniment
    si = evaluation.scale_invariant(refs, {"vocals": v + 0.01, "accompaniment": 0.01 + 0 * v})
    assert all(np.isnan(value) for target in si.values() for value in target.values())
    with pytest.raises(ValueError, match="non-silent"):  # museval refuses the same pair
        evaluation._bss_eval([refs["vocals"], refs["accompaniment"]], [v, v], 44100, 44100,
                           "museval", None)


@pytest.mark.slow
def test_scale_invariant_metrics_reach_the_scores_table_and_summary(tmp_path, cache):
    import pandas as pd

    r = cli("+algo=repet", "runner.progress=false", cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "SI-SDR" in r.stdout
    scores = pd.read_parquet(next((tmp_path / "results" / "runs").iterdir()) / "scores.parquet")
    si = scores[scores.metric == "SI-SDR"]
    assert len(si) == 2 and si.frame.eq(0).all() and si.score.notna().all()


def test_song_level_sdr_is_the_mdx_definition():
    """nSDR = 10 log10((Σ s² + 1e-7) / (Σ (s − ŝ)² + 1e-7)) over samples and channels."""
    rng = np.random.default_rng(3)
    refs = {t: rng.standard_normal((5000, 2)) for t in ("vocals", "accompaniment")}
    est = {"vocals": refs["vocals"] + 0.5 * rng.standard_normal((5000, 2)),
           "accompaniment": refs["accompaniment"][:4000]}  # short: zero-padded as museval
    got = evaluation.song_sdr(refs, est)
    s, e = refs["vocals"], est["vocals"]
    direct = 10 * np.log10((np.sum(s ** 2) + 1e-7) / (np.sum((s - e) ** 2) + 1e-7))
    assert got["vocals"] == pytest.approx(direct, abs=1e-9)
    a = refs["accompaniment"]
    assert got["accompaniment"] == pytest.approx(
        10 * np.log10((np.sum(a ** 2) + 1e-7) / (np.sum(a[4000:] ** 2) + 1e-7)), abs=1e-9)
    # Known values: an estimate at 0.9 of the reference is 20 dB; a perfect one is
    # 10 log10(1 + Σ s² / 1e-7), finite (demucs' delta); silence gives 0 dB.
    ones = np.ones((100, 2))
    known = evaluation.song_sdr({"vocals": ones, "accompaniment": ones},
                             {"vocals": 0.9 * ones, "accompaniment": 0 * ones})
    assert known["vocals"] == pytest.approx(20.0, abs=1e-6)
    assert known["accompaniment"] == pytest.approx(0.0, abs=1e-6)
    whole = evaluation.whole_track(refs, est)
    assert set(whole["vocals"]) == set(evaluation.WHOLE_TRACK_METRICS)


def _run_sample(tmp_path, cache, *overrides):
    from repet_bench import runner

    cfg = compose_cfg("+algo=repet", "runner.n_jobs=1", "runner.progress=false", *overrides)
    return runner.run(cfg, tmp_path / "out")


def test_every_fast_run_is_checked_against_museval_and_says_so(tmp_path, cache):
    """eval=fast is the default; each run scores an excerpt with both backends, records
    the largest difference in run.json and prints it."""
    from repet_bench.cli import crosscheck_lines

    result = _run_sample(tmp_path, cache)
    check = json.loads((tmp_path / "out" / "run.json").read_text())["crosscheck"]
    assert check == result.crosscheck
    assert check["track"] == "test/The Easton Ellises - Falcon 69" and check["frames"] == 6
    assert set(check["max_abs_diff_db"]) == {"SDR", "SIR", "SAR", "ISR"}
    assert max(check["max_abs_diff_db"].values()) < evaluation.CROSSCHECK_TOLERANCE_DB
    (line,) = crosscheck_lines(check)
    assert line.startswith("eval=fast checked against museval on 6 s of test/The Easton")


def test_a_fast_backend_off_museval_is_a_loud_warning(tmp_path, cache, monkeypatch):
    real = evaluation._bss_eval

    def drifting(references, estimates, win, hop, backend, stats_path):
        scores = real(references, estimates, win, hop, backend, stats_path)
        return tuple(s + 0.05 for s in scores) if backend == "fast" else scores

    monkeypatch.setattr(evaluation, "_bss_eval", drifting)
    from repet_bench.cli import crosscheck_lines

    result = _run_sample(tmp_path, cache)
    assert result.crosscheck["max_abs_diff_db"]["SDR"] == pytest.approx(0.05, abs=1e-6)
    (line,) = crosscheck_lines(result.crosscheck)
    assert line.startswith("WARNING:") and "rerun with eval=museval" in line
    # The museval backend is not checked against itself.
    assert _run_sample(tmp_path / "m", cache, "eval=museval").crosscheck is None
