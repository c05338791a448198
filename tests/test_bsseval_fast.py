"""repet_bench.bsseval_fast against museval.evaluate(..., mode='v4'), frame by frame.

Signals are a few seconds at 8 kHz (one test at 44.1 kHz) of white-ish noise, whose Gram
matrix is well conditioned, so both implementations are deterministic to ~1e-13 dB and
we can demand 1e-6 dB. The last test uses the real MUSDB18 excerpt shipped with stempeg,
whose band-limited stems make museval's own ISR/SIR/SAR move by ~1e-4 dB under a 1e-12
input perturbation; there the tolerance is looser (SDR, which uses no filters, stays at
1e-6).

Most of the run time is museval's dense solves (nsrc*nchan*512 unknowns), hence mono
where stereo adds nothing. With a busy machine, OPENBLAS_NUM_THREADS=1 helps a lot.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from repet_bench.bsseval_fast import (
    AGREEMENT_DB,
    ILL_CONDITIONED_AGREEMENT_DB,
    ReferenceStats,
    bss_eval_v4,
    frame_bounds,
    load,
    reference_stats,
    save,
)

SR = 8000  # museval's cost is FFTs of the next power of two: a low rate keeps tests fast
TOL_DB = AGREEMENT_DB


@pytest.fixture(scope="module")
def museval():
    import museval  # after repet_bench (imported above), which puts ffmpeg on PATH

    return museval


def _pair(rng, nsrc=2, seconds=3.2, nchan=2, rate=SR, noise=0.3, leak=0.2):
    n = int(seconds * rate)
    refs = rng.standard_normal((nsrc, n, nchan))
    ests = refs + noise * rng.standard_normal(refs.shape) + leak * np.roll(refs, 1, axis=0)
    return refs, ests


def _reference(museval, refs, ests, win=SR, hop=SR):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return museval.evaluate(refs, ests, win=win, hop=hop, mode="v4", padding=True)


def _assert_same(expected, got, tol=TOL_DB, tols=None):
    assert len(got) == 4
    for k, (name, a, b) in enumerate(zip(("SDR", "ISR", "SIR", "SAR"), expected, got)):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape, (name, a.shape, b.shape)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"{name} NaN mask")
        np.testing.assert_array_equal(np.isposinf(a), np.isposinf(b), err_msg=f"{name} +inf")
        fin = np.isfinite(a)
        t = tol if tols is None else tols[k]
        np.testing.assert_allclose(b[fin], a[fin], rtol=0, atol=t, err_msg=name)


def _check(museval, refs, ests, win=SR, hop=SR, **kw):
    expected = _reference(museval, refs, ests, win, hop)
    got = bss_eval_v4(refs, ests, win=win, hop=hop, **kw)
    _assert_same(expected, got)
    return expected, got


def test_stereo_pair_44k(museval):
    refs, ests = _pair(np.random.default_rng(0), seconds=3.2, rate=44100)
    exp, got = _check(museval, refs, ests, win=44100, hop=44100)
    assert got[0].shape == (2, 3) and np.all(np.isfinite(got[0]))


def test_mono(museval):
    _check(museval, *_pair(np.random.default_rng(1), nchan=1, seconds=3.0))


@pytest.mark.parametrize("extra", [+3000, -1500], ids=["longer", "shorter"])
def test_estimates_padded_or_truncated(museval, extra):
    refs, ests = _pair(np.random.default_rng(2), seconds=3.0, nchan=1)
    if extra > 0:
        ests = np.concatenate([ests, np.ones((2, extra, 1))], axis=1)  # junk past the end
    else:
        ests = ests[:, :extra]
    _check(museval, refs, ests)


def test_silent_frames(museval):
    rng = np.random.default_rng(3)
    refs, ests = _pair(rng, seconds=4.0, nchan=1)
    r = refs.copy()
    r[0, : int(1.5 * SR)] = 0  # reference 0 silent in frame 0 (frame 1 half)
    exp, got = _check(museval, r, ests)
    assert np.all(np.isnan(got[0][:, 0])) and np.all(np.isfinite(got[0][:, 1:]))
    e = ests.copy()
    e[1, int(1.0 * SR) : int(2.5 * SR)] = 0  # estimate 1 silent in frame 1
    exp, got = _check(museval, refs, e)
    assert np.all(np.isnan(got[2][:, 1])) and np.isfinite(got[2][:, [0, 2, 3]]).all()


def test_antiphase_channels_count_as_silent(museval):
    # museval's rule is "sum over channels == 0", so L = -R is a silent frame.
    refs, ests = _pair(np.random.default_rng(4), seconds=3.0)
    refs[1, SR : 2 * SR, 1] = -refs[1, SR : 2 * SR, 0]
    exp, got = _check(museval, refs, ests)
    assert np.isnan(got[1][:, 1]).all()


def test_short_track_drops_partial_frame(museval):
    refs, ests = _pair(np.random.default_rng(5), seconds=2.5, nchan=1)
    exp, got = _check(museval, refs, ests)
    assert got[0].shape == (2, 2)  # museval's frame count floor((N - win + hop) / hop)


def test_track_shorter_than_window_is_one_frame(museval):
    refs, ests = _pair(np.random.default_rng(6), seconds=0.7, nchan=1)
    exp, got = _check(museval, refs, ests)
    assert got[0].shape == (2, 1)


@pytest.mark.parametrize(
    "win,hop", [(16000, 4000), (16000, 1.5 * 8000), (300, 200), (100, 100)],
    ids=["overlap", "float-hop", "win<2L", "win<L"],
)
def test_frame_geometries(museval, win, hop):
    # win <= 2*filters_len exercises the frame-edge logic (head and tail overlap).
    refs, ests = _pair(np.random.default_rng(7), seconds=2.6, nchan=1)
    _check(museval, refs, ests, win=win, hop=hop)


def test_correlated_estimates(museval):
    rng = np.random.default_rng(8)
    refs = rng.standard_normal((2, int(3.0 * SR), 2))
    refs[:, :, 1] = 0.8 * refs[:, :, 0] + 0.6 * refs[:, :, 1]  # correlated channels
    # estimate = reference + small noise + leakage of the other source + a short echo
    ests = refs + 0.02 * rng.standard_normal(refs.shape) + 0.1 * refs[::-1]
    ests[:, 40:] += 0.3 * refs[:, :-40]
    _check(museval, refs, ests)


def test_one_and_three_sources(museval):
    rng = np.random.default_rng(9)
    exp, got = _check(museval, *_pair(rng, nsrc=1, seconds=2.2))
    assert np.isposinf(got[2]).all()  # joint == per-source projection: SIR = +inf
    _check(museval, *_pair(rng, nsrc=3, seconds=2.2, nchan=1))


def _bss_eval(museval, refs, ests, win, hop, filters_len):
    from museval import metrics

    sdr, isr, sir, sar, _ = metrics.bss_eval(
        refs, ests, window=win, hop=hop, compute_permutation=False,
        filters_len=filters_len, framewise_filters=False, bsseval_sources_version=False,
    )
    return sdr, isr, sir, sar


def test_other_filters_len(museval):
    refs, ests = _pair(np.random.default_rng(17), seconds=2.2)
    expected = _bss_eval(museval, refs, ests, SR, SR, 100)
    _assert_same(expected, bss_eval_v4(refs, ests, win=SR, hop=SR, filters_len=100))


def test_rank_deficient_references(museval):
    # Dual-mono reference: G is singular (eps*I is below its rounding), so our LU meets an
    # exactly zero pivot and uses museval's lstsq fallback. museval's own LU may or may not
    # (and with numpy >= 2 its fallback raises AttributeError). Short filters: fast pinv.
    rng = np.random.default_rng(10)
    refs, ests = _pair(rng, seconds=2.2)
    refs[0, :, 1] = refs[0, :, 0]
    try:
        expected = _bss_eval(museval, refs, ests, SR, SR, 64)
    except (AttributeError, np.linalg.LinAlgError):
        pytest.skip("museval hit its lstsq fallback, which is broken on numpy >= 2")
    _assert_same(expected, bss_eval_v4(refs, ests, win=SR, hop=SR, filters_len=64))


def test_precomputed_stats_give_same_result(museval):
    refs, ests = _pair(np.random.default_rng(11), seconds=3.0, nchan=1)
    cold = bss_eval_v4(refs, ests, win=SR, hop=SR)
    for stats in (
        reference_stats(refs),
        reference_stats(refs, keep_spectra=False),
        reference_stats(refs, block_len=4096),
    ):
        warm = bss_eval_v4(refs, ests, win=SR, hop=SR, ref_stats=stats)
        _assert_same(cold, warm, tol=1e-9)
    # and a second estimate of the same track against museval
    noise = np.random.default_rng(0).standard_normal(refs.shape)
    ests2 = 0.5 * refs + 0.3 * refs[::-1] + 0.1 * noise
    _assert_same(
        _reference(museval, refs, ests2), bss_eval_v4(refs, ests2, win=SR, hop=SR, ref_stats=stats)
    )


def test_gram_matches_museval(museval):
    from museval import metrics

    refs, _ = _pair(np.random.default_rng(12), seconds=0.5, rate=SR)
    G, _ = metrics._compute_reference_correlations(refs, 512)
    ours = reference_stats(refs).gram
    np.testing.assert_allclose(ours, metrics._reshape_G(G), rtol=0, atol=1e-10 * np.abs(G).max())


def test_silent_sources_raise():
    refs, ests = _pair(np.random.default_rng(13), seconds=1.2, rate=SR)
    r = refs.copy()
    r[1] = 0
    with pytest.raises(ValueError, match="reference sources"):
        bss_eval_v4(r, ests, win=SR, hop=SR)
    with pytest.raises(ValueError, match="reference sources"):
        reference_stats(r)
    e = ests.copy()
    e[0] = 0
    with pytest.raises(ValueError, match="estimated sources"):
        bss_eval_v4(refs, e, win=SR, hop=SR)
    e = np.concatenate([np.zeros_like(ests), ests], axis=1)  # silent after truncation
    with pytest.raises(ValueError, match="estimated sources"):
        bss_eval_v4(refs, e, win=SR, hop=SR)


def test_mismatched_inputs_raise():
    rng = np.random.default_rng(14)
    refs, ests = _pair(rng, seconds=1.2, rate=SR)
    with pytest.raises(ValueError, match="shape"):
        bss_eval_v4(refs, ests[:1], win=SR, hop=SR)
    stats = reference_stats(refs)
    with pytest.raises(ValueError, match="different references"):
        bss_eval_v4(refs * 1.1, ests, win=SR, hop=SR, ref_stats=stats)
    with pytest.raises(ValueError, match="shape"):
        bss_eval_v4(refs[:, :-1], ests, win=SR, hop=SR, ref_stats=stats)
    with pytest.raises(ValueError, match="filters_len"):
        bss_eval_v4(refs, ests, win=SR, hop=SR, ref_stats=stats, filters_len=256)


def test_frame_bounds_match_museval_framing(museval):
    from museval.metrics import Framing

    for n, win, hop in [(100_000, 44100, 44100), (110_250, 44100, 44100),
                        (300_000, 88200, 1.5 * 44100), (1000, 44100, 44100),
                        (5000, np.inf, np.inf)]:
        fr = Framing(win, hop, n)
        want = [(s.start, s.stop) for s in fr]
        starts, stops = frame_bounds(n, win, hop)
        assert list(zip(starts.tolist(), stops.tolist())) == want


def test_stats_save_load_roundtrip(tmp_path):
    refs, ests = _pair(np.random.default_rng(15), seconds=1.5, rate=SR)
    stats = reference_stats(refs)
    path = tmp_path / "track.refstats.npz"
    stats.save(path)
    # the data and its digest, no temp file left
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name, path.name + ".sha256"]
    with np.load(path, allow_pickle=False) as z:  # plain npz, no pickled objects
        assert "xcorr" in z.files
    back = ReferenceStats.load(path)
    assert back.nbytes == stats.nbytes > 0
    for name in ("shape", "energy", "xcorr", "lu", "piv", "lu_own", "piv_own", "rcond", "spectra"):
        np.testing.assert_array_equal(getattr(back, name), getattr(stats, name), err_msg=name)
    assert (back.filters_len, back.block_len) == (stats.filters_len, stats.block_len)
    a = bss_eval_v4(refs, ests, win=SR, hop=SR, ref_stats=stats)
    b = bss_eval_v4(refs, ests, win=SR, hop=SR, ref_stats=back)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    # module-level helpers, overwrite in place, and stats without spectra
    small = reference_stats(refs, keep_spectra=False)
    save(small, path)
    again = load(path)
    assert not again.has_spectra and again.nbytes < stats.nbytes
    import pickle

    assert pickle.loads(pickle.dumps(small)).nbytes == small.nbytes


def test_real_musdb_excerpt(museval):
    """The stempeg example (MUSDB18 excerpt, AAC-coded): ill-conditioned Gram matrix."""
    stempeg = pytest.importorskip("stempeg")
    try:
        stems, rate = stempeg.read_stems(stempeg.example_stem_path())
    except Exception as exc:  # pragma: no cover - ffmpeg missing
        pytest.skip(f"cannot decode the stempeg example: {exc}")
    stems = stems[:, : 4 * rate].astype(np.float64)
    refs = np.stack([stems[4], stems[1] + stems[2] + stems[3]])  # vocals, accompaniment
    ests = refs + 0.01 * np.random.default_rng(16).standard_normal(refs.shape)
    expected = _reference(museval, refs, ests, rate, rate)
    got = bss_eval_v4(refs, ests, win=rate, hop=rate)
    _assert_same(expected, got, tols=(AGREEMENT_DB, *[ILL_CONDITIONED_AGREEMENT_DB] * 3))


@pytest.mark.slow
def test_cached_factors_do_not_depend_on_the_blas_thread_count(cache, tmp_path):
    """The reference statistics are cached for every later run: the run that built them
    must not leave its thread count in the scores."""
    import os
    import subprocess
    import sys

    script = (
        "import hashlib, sys, numpy as np\n"
        "from pathlib import Path\n"
        "from repet_bench import data\n"
        "from repet_bench.bsseval_fast import reference_stats\n"
        "from repet_bench.config import option\n"
        "cfg = type('D', (), option('dataset', 'sample'))\n"
        "t = data.load_track(data.list_tracks(cfg, Path(sys.argv[1]))[0])\n"
        "a = reference_stats(np.stack([t.references[k] for k in data.TARGETS])).to_arrays()\n"
        "print(hashlib.sha1(b''.join(np.ascontiguousarray(a[k]).tobytes()\n"
        "      for k in ('lu', 'piv', 'lu_own', 'piv_own'))).hexdigest())\n")
    digests = set()
    for threads in ("1", "2"):
        env = {**os.environ, **{v: threads for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                       "MKL_NUM_THREADS")}}
        done = subprocess.run([sys.executable, "-c", script, str(cache)], env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        digests.add(done.stdout.strip())
    assert len(digests) == 1
