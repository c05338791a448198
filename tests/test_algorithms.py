"""Every algorithm: it separates synthetic loops, between the mixture anchor and the
oracles; the oracle masks are the ideal masks; blocked REPET-SIM equals nussl's full
similarity matrix; 2DFT reproduces nussl's masks; odd inputs give no NaN and no crash."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.ndimage import maximum_filter, minimum_filter, uniform_filter
import scipy.signal
from scipy.signal import get_window

from repet_bench import evaluation, masks, separation
from repet_bench.algorithms import ALGORITHMS, Context, get_algorithm
from repet_bench.algorithms.ft2d import peak_map, shifted_magnitude, symmetric_weights
from repet_bench.algorithms.repet import beat_spectrum_of
from repet_bench.algorithms.repet_extended import crossfade_weights, segments
from repet_bench.algorithms.repet_sim import similar_frames, similarity_model, zeroed_reach
from repet_bench.algorithms.sigsep_oracles import METHODS
from repet_bench.config import available
from repet_bench.stft import Stft
from repet_bench.config import option
from repet_bench.validation import validate
from configs import composed

RATE = 44100
STFT = option("stft")
BLIND = ("repet", "repet_sim", "ft2d", "adaptive_repet", "repet_extended")
# Scoring is the slow part: 10 s of each track (separated whole) is enough signal.
SCORED_SECONDS = 10
# Measured median vocals SDR (dB) on the 4 default synthetic tracks, first 10 s, soft mask
# (ibm: binary), mixture phase:
#   mix              -2.7  -2.8  -3.0  -2.1
#   repet             9.1  12.2  10.8  14.9
#   repet_sim         7.5   5.9   5.6   6.9
#   ft2d              6.1   6.2   5.8   7.0
#   adaptive_repet    5.7   4.1   5.2  10.5
#   repet_extended    6.1   5.6   4.9   6.9
#   ibm              13.7  14.4  13.9  19.3
#   irm              13.0  13.9  12.9  17.9
# Smallest gain over the mixture across tracks: repet 11.8, repet_sim 8.6, ft2d 8.8,
# adaptive_repet 7.0, repet_extended 8.0 dB. Smallest margin of the oracles over the best
# blind method (REPET): ibm 2.1, irm 1.65 dB (track 2). The windowed REPETs are capped at
# periods of a third of their 10 s windows (3.3 s), below these loops' 3.5-5.2 s, hence
# their lower scores. The thresholds leave ~1.5 dB for numerical drift.
MIN_GAIN_OVER_MIX_DB = {"repet": 10.0, "repet_sim": 7.0, "ft2d": 7.0, "adaptive_repet": 5.5,
                        "repet_extended": 6.5}
MIN_ORACLE_MARGIN_DB = 1.0
RUNS = [("mix", "soft"), *((name, "soft") for name in BLIND), ("ibm", "binary"), ("irm", "soft")]


@pytest.fixture(scope="module")
def configs() -> dict:
    """Each algorithm's config as the CLI composes it from conf/algo/<name>.yaml."""
    return {name: composed(f"+algo={name}")["algo"]
            for name in available("algo") if name != "estimates"}


def vocals_sdr(track, estimates, stats_dir) -> float:
    n = SCORED_SECONDS * track.rate
    refs = {k: v[:n] for k, v in track.references.items()}
    # eval=fast (BSS Eval v4, museval's numbers) with each track's reference statistics
    # computed once for all algorithms.
    scores = evaluation.evaluate_track("t", refs, {k: v[:n] for k, v in estimates.items()},
                                     track.rate, backend="fast",
                                     stats_path=stats_dir / f"{track.ref.name}.npz")
    assert scores.error is None
    frames = json.loads(scores.json)["targets"][0]["frames"]  # targets[0]: vocals
    return float(np.nanmedian([float(f["metrics"]["SDR"]) for f in frames]))


@pytest.fixture(scope="module")
def sdr(synthetic_tracks, configs, tmp_path_factory) -> dict:
    """Median vocals SDR per algorithm and track."""
    stats_dir = tmp_path_factory.mktemp("bsseval-stats")
    return {name: [vocals_sdr(t, separation.separate(
                t.mixture, t.rate, configs[name], STFT, {"name": mask}, {"name": "mixture"},
                references=t.references).estimates, stats_dir) for t in synthetic_tracks]
            for name, mask in RUNS}


@pytest.mark.parametrize("name", BLIND)
def test_every_algorithm_beats_the_mixture_on_every_synthetic_track(sdr, name):
    gains = np.subtract(sdr[name], sdr["mix"])
    assert gains.min() >= MIN_GAIN_OVER_MIX_DB[name], (name, sdr[name], sdr["mix"])


@pytest.mark.parametrize("oracle", ["ibm", "irm"])
def test_oracles_beat_every_algorithm_on_every_synthetic_track(sdr, oracle):
    best_blind = np.max([sdr[name] for name in BLIND], axis=0)
    assert (np.subtract(sdr[oracle], best_blind) >= MIN_ORACLE_MARGIN_DB).all(), (oracle, sdr)


# --- oracles ---------------------------------------------------------------------------

def test_oracle_estimates_are_the_ideal_masks_applied_to_the_mixture(synthetic_tracks, configs):
    track = synthetic_tracks[0]
    n = 4 * RATE
    mixture = track.mixture[:n]
    refs = {k: v[:n] for k, v in track.references.items()}
    # An STFT independent of repet_bench.stft, in float64: nussl 1.1.9's own calls.
    window = np.sqrt(get_window("hann", 2048, fftbins=True))

    def stft(x):
        return np.moveaxis(scipy.signal.stft(x.T.astype(np.float64), window=window,
                                             nperseg=2048, noverlap=1536)[2], 0, -1)

    def istft(spec):
        return scipy.signal.istft(np.moveaxis(spec, -1, 0), window=window, nperseg=2048,
                                  noverlap=1536)[1][:, :n].T

    x = stft(mixture)
    a, v = np.abs(stft(refs["accompaniment"])), np.abs(stft(refs["vocals"]))
    ideal = {"soft": a / np.maximum(a + v, 1e-30),
             "wiener": a**2 / np.maximum(a**2 + v**2, 1e-30),
             "binary": (a >= v).astype(float)}
    for name, mask in [("irm", "soft"), ("irm", "wiener"), ("ibm", "binary")]:
        mask_cfg = {"name": mask, **({"power": 2.0} if mask == "wiener" else {})}
        got = separation.separate(mixture, RATE, configs[name], STFT, mask_cfg, {"name": "mixture"},
                                references=refs).estimates
        for target, m in (("accompaniment", ideal[mask]), ("vocals", 1 - ideal[mask])):
            expected = istft(m * x)
            error = np.abs(got[target] - expected).max() / np.abs(expected).max()
            assert error < 1e-4, (name, mask, target, error)


def test_oracle_references_of_another_length_are_a_clear_error(synthetic_tracks, configs):
    track = synthetic_tracks[0]
    mixture = track.mixture[: 3 * RATE]
    refs = {k: v[: 2 * RATE] for k, v in track.references.items()}
    with pytest.raises(ValueError, match="references and mixture differ in length"):
        separation.separate(mixture, RATE, configs["ibm"], STFT, {"name": "binary"},
                          {"name": "mixture"}, references=refs)


def test_mix_returns_the_mixture_untouched(synthetic_tracks, configs):
    mixture = synthetic_tracks[0].mixture[: 2 * RATE]
    est = separation.separate(mixture, RATE, configs["mix"], STFT, {"name": "soft"},
                            {"name": "mixture"}).estimates
    for target in ("vocals", "accompaniment"):
        np.testing.assert_array_equal(est[target], mixture)


# --- REPET-SIM: blocked rows == nussl's full similarity matrix --------------------------

def _nussl_similarity_indices(magnitude, distance, n_peaks, threshold):
    """nussl 1.1.9 RepetSim: full cosine matrix, then find_peak_indices on each row."""
    matrix = np.mean(magnitude.astype(np.float64), axis=2).T
    with np.errstate(divide="ignore", invalid="ignore"):
        similarity = matrix @ matrix.T
        inv_square = 1 / np.diag(similarity)
        inv_square[np.isinf(inv_square)] = 0
        inv = np.sqrt(inv_square)
        cosine = (similarity * inv).T * inv
    rows = []
    for row in cosine:
        row = row.copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            row -= row.min()
            row /= row.max()
            row = row * (row >= threshold)
        peaks = []
        for _ in range(n_peaks):
            p = int(np.argmax(row))
            peaks.append(p)
            lower, upper = max(p - distance, 0), min(p + distance + 1, len(row))
            row[int(lower):int(upper)] = 0
            if np.sum(row) == 0.0:
                break
        rows.append(peaks[1:n_peaks + 2])
    return rows


def _nussl_similarity_model(magnitude, rows):
    model = np.empty(magnitude.shape)
    for ch in range(magnitude.shape[2]):
        v = magnitude[..., ch].astype(np.float64)
        for i, picks in enumerate(rows):  # no similar frame: all background (ALGORITHMS.md)
            model[:, i, ch] = np.median(v[:, picks], axis=1) if picks else v[:, i]
        model[..., ch] = np.minimum(model[..., ch], v)
    return model


@pytest.fixture(scope="module")
def short_magnitude(synthetic_tracks):
    """12 s of a synthetic track whose first second is digital silence (constant rows)."""
    mixture = synthetic_tracks[1].mixture[: 12 * RATE].astype(np.float32)
    mixture[:RATE] = 0
    return np.abs(Stft().forward(mixture))


@pytest.mark.parametrize("seconds,threshold", [(1.0, 0.0), (0.03, 0.0), (1.0, 0.3)])
def test_blocked_repet_sim_equals_the_full_matrix(short_magnitude, seconds, threshold):
    if seconds < 1:  # 700 frames are enough for 100 picks 2.6 frames apart
        short_magnitude = short_magnitude[:, :700]
    distance = seconds * RATE / 512  # fractional, as nussl 1.1.9: 86.13 frames for 1 s
    reach = zeroed_reach(seconds, Stft())
    assert reach == (distance, distance + 1)
    expected = _nussl_similarity_indices(short_magnitude, distance, 100, threshold)
    # float64 and a block size that does not divide the frame count: exactly nussl's picks
    indices, counts = similar_frames(short_magnitude, reach, 100, threshold, block=97,
                                     dtype=np.float64)
    got = [indices[i, :counts[i]].tolist() for i in range(len(counts))]
    assert got == expected
    if seconds < 1:
        assert counts.max() == 99  # the short distance exercises every pick
    np.testing.assert_allclose(similarity_model(short_magnitude, indices, counts),
                               _nussl_similarity_model(short_magnitude, expected), rtol=1e-6)
    # The default float32 similarities pick the same frames but where two similarities of
    # a row are within rounding (~1e-7): measured, 99.9% of the rows have the same set
    # (the order of near-equal picks may swap) and the models differ by ~1e-6 (L1).
    indices32, counts32 = similar_frames(short_magnitude, reach, 100, threshold)
    same = [sorted(indices32[i, :counts32[i]]) == sorted(expected[i]) for i in range(len(expected))]
    assert np.mean(same) >= 0.99
    model32 = similarity_model(short_magnitude, indices32, counts32)
    model64 = _nussl_similarity_model(short_magnitude, expected)
    assert np.abs(model32 - model64).sum() / model64.sum() < 1e-4


# --- 2DFT -------------------------------------------------------------------------------

def _nussl_ft2d_mask(magnitude, size, method):
    """nussl 1.1.9 FT2D (use_bg_2dft, all quadrants): background mask per channel, float64."""
    out = np.empty(magnitude.shape)
    for ch in range(magnitude.shape[2]):
        v = magnitude[..., ch].astype(np.float64)
        ft2d = np.fft.fft2(v)
        data = np.abs(np.fft.fftshift(ft2d))
        data /= np.max(data) + 1e-7
        data_max = maximum_filter(data, size)
        if method == "local_std":
            mean = uniform_filter(data, size)
            std = np.sqrt(uniform_filter(data**2, size) - mean**2) + 1e-7
            maxima = (data_max - mean) / std * (data == data_max)
            maxima /= np.max(maxima) + 1e-7
        else:
            maxima = (data == data_max) & (data_max - minimum_filter(data, size) > np.std(data))
        # nussl's np.maximum(m, np.fliplr(m), np.flipud(m)): the third argument is `out`
        maxima = np.maximum(maxima, np.fliplr(maxima), out=np.flipud(maxima))
        background = np.abs(np.fft.ifft2(np.fft.ifftshift(maxima) * ft2d))
        mask = np.minimum(background, v + 1e-7) / (v + 1e-7)
        out[..., ch] = mask / (mask + 1e-7).max()
    return out


@pytest.mark.parametrize("method,size", [("local_std", (1, 25)), ("original", (1, 25)),
                                         ("local_std", (3, 9))])
def test_ft2d_with_quirks_reproduces_nussl(short_magnitude, method, size):
    magnitude = short_magnitude[:, 80:600]  # an even number of frames: the quirk's worst case
    expected = _nussl_ft2d_mask(magnitude, size, method)
    models = get_algorithm("ft2d")(magnitude, Context(Stft(), 520 * 512),
                                      peak_method=method, neighborhood_size=size)
    got, _ = masks.soft(models.background, models.foreground)
    loud = magnitude > 1e-3 * magnitude.max()  # the 2DFT is complex64: quiet bins are rougher
    assert np.abs(got - expected)[loud].max() < 1e-3


def test_ft2d_quirks_on_and_off_both_run_and_differ(short_magnitude):
    ctx = Context(Stft(), short_magnitude.shape[1] * 512)
    quirky = get_algorithm("ft2d")(short_magnitude, ctx, nussl_quirks=True)
    fixed = get_algorithm("ft2d")(short_magnitude, ctx, nussl_quirks=False)
    for m in (quirky, fixed):
        assert np.isfinite(m.background).all() and (m.foreground >= 0).all()
        assert (m.background <= short_magnitude).all()
    rel = np.abs(quirky.background - fixed.background).sum() / short_magnitude.sum()
    assert rel > 0.01
    # without the quirk the peak map is conjugate symmetric (m[k, l] = m[-k, -l]); with it,
    # only mirrored left-right in shifted coordinates
    peaks = peak_map(shifted_magnitude(short_magnitude[:, :600, 0]), (1, 25), "local_std")
    rows = np.arange(peaks.shape[0])
    fixed_map = symmetric_weights(peaks, rows, nussl_quirks=False)
    np.testing.assert_array_equal(fixed_map, np.roll(fixed_map[::-1, ::-1], (1, 1), axis=(0, 1)))
    quirk_map = np.fft.fftshift(symmetric_weights(peaks, rows, nussl_quirks=True))
    np.testing.assert_array_equal(quirk_map, quirk_map[:, ::-1])
    assert not np.array_equal(quirk_map, quirk_map[::-1])
    # quadrant filtering keeps less of the background
    half = get_algorithm("ft2d")(short_magnitude, ctx, quadrants=[0, 2], nussl_quirks=False)
    assert half.background.sum() < fixed.background.sum()


# --- windowed REPETs ---------------------------------------------------------------------

def _loop_magnitude(period_frames: int, n_frames: int, seed=0) -> np.ndarray:
    """A magnitude spectrogram repeating exactly every ``period_frames``, plus sparse hits."""
    rng = np.random.default_rng(seed)
    loop = rng.random((64, period_frames, 2)).astype(np.float32)
    v = np.tile(loop, (1, -(-n_frames // period_frames), 1))[:, :n_frames].copy()
    v += 3 * (rng.random(v.shape) < 0.05)  # the non-repeating "voice"
    return v


def test_windowed_repets_find_the_loop_period_in_every_window():
    stft = Stft()
    period = 172  # frames, ~2 s: within adaptive/extended's range (1 s to 10 s / 3)
    v = _loop_magnitude(period, 4000)
    ctx = Context(stft, v.shape[1] * stft.hop)
    for name in ("adaptive_repet", "repet_extended"):
        models = get_algorithm(name)(v, ctx)
        periods = np.array(models.info["periods_seconds"])
        np.testing.assert_allclose(periods, period * stft.frame_seconds, rtol=1e-9, err_msg=name)
        assert (models.background <= v).all()
    lags, beat = beat_spectrum_of(v, stft.frame_seconds)
    assert lags[1] == stft.frame_seconds and lags.shape == beat.shape == (v.shape[1],)


@pytest.mark.parametrize("n_frames,length,step", [(1000, 100, 50), (1000, 100, 30),
                                                  (1000, 100, 100), (120, 100, 50), (1030, 100, 50)])
def test_extended_crossfade_weights_cover_the_track_and_sum_to_one(n_frames, length, step):
    parts = segments(n_frames, length, step)
    assert parts[0].start == 0 and parts[-1].stop == n_frames
    total = np.zeros(n_frames)
    for part, weight in zip(parts, crossfade_weights(parts, n_frames)):
        assert (weight > 0).all()
        total[part] += weight
    np.testing.assert_allclose(total, 1)


# --- odd inputs ----------------------------------------------------------------------------

def _inputs(track) -> dict:
    stereo = track.mixture[: 3 * RATE].astype(np.float32)  # 3 s: shorter than max_period
    impulse = np.zeros((2 * RATE, 2), np.float32)
    impulse[RATE] = 1.0
    return {"stereo": stereo, "mono": stereo[:, :1].copy(),
            "too short for a period": stereo[: RATE // 2],
            "digital silence": np.zeros((2 * RATE, 2), np.float32), "impulse": impulse}


@pytest.mark.parametrize("name", sorted(n for n, a in ALGORITHMS.items() if not a.reads_estimates))
def test_every_algorithm_handles_odd_inputs(synthetic_tracks, configs, name):
    stft = Stft()
    algo = configs[name]
    params = {k: v for k, v in algo.items() if k not in ("name", "high_pass_cutoff")}
    for label, audio in _inputs(synthetic_tracks[0]).items():
        refs = {"vocals": 0.3 * audio, "accompaniment": 0.7 * audio}
        sources = {"drums": 0.2 * audio, "bass": 0.2 * audio, "other": 0.3 * audio,
                   "vocals": 0.3 * audio}
        result = separation.separate(audio, RATE, algo, STFT, {"name": "soft"},
                                   {"name": "mixture"}, references=refs, sources=sources)
        for target, estimate in result.estimates.items():
            assert estimate.shape == audio.shape, (name, label, target)
            assert np.isfinite(estimate).all(), (name, label, target)
        json.dumps(result.info)
        if get_algorithm(name).needs_sources:  # estimates made, no models: the other methods
            _check_other_methods(algo, audio, sources, label)
            continue
        if get_algorithm(name).fn is None:  # only a flavour run on the waveform
            continue
        # and the models themselves: same shape, float32, finite, non-negative
        magnitude = np.abs(stft.forward(audio))
        ref_mags = {k: np.abs(stft.forward(v)) for k, v in refs.items()}
        models = get_algorithm(name)(magnitude, Context(stft, len(audio), ref_mags), **params)
        if models.background_mask is not None:  # defined as a mask (nussl 0.1.6a0's)
            mask = models.background_mask
            assert mask.shape == magnitude.shape, (name, label)
            assert np.isfinite(mask).all() and (mask >= 0).all() and (mask <= 1).all(), (name, label)
            continue
        for model in (models.background, models.foreground):
            assert model.shape == magnitude.shape and model.dtype == np.float32, (name, label)
            assert np.isfinite(model).all() and (model >= 0).all(), (name, label)


@pytest.mark.parametrize("name,flavour", sorted((n, f) for n, a in ALGORITHMS.items()
                                                for f in a.waveform))
def test_every_waveform_flavour_handles_odd_inputs(synthetic_tracks, configs, name, flavour):
    """REPET-Python's functions (the rafii flavour) on mono, a track too short for a period,
    digital silence (his cosine similarity gives NaN there) and an impulse: finite estimates
    that sum to the mixture, a JSON-able info."""
    algo = {**configs[name], "flavour": flavour}
    for label, audio in _inputs(synthetic_tracks[0]).items():
        result = separation.separate(audio, RATE, algo, STFT, {"name": "soft"},
                                     {"name": "mixture"})
        vocals, accompaniment = result.estimates["vocals"], result.estimates["accompaniment"]
        assert vocals.shape == accompaniment.shape == audio.shape, (name, label)
        assert np.isfinite(vocals).all() and np.isfinite(accompaniment).all(), (name, label)
        np.testing.assert_allclose(vocals + accompaniment, audio, atol=1e-6, err_msg=label)
        json.dumps(result.info)


def _check_other_methods(algo, audio, sources, label):
    """sigsep_oracle's other entries on the same odd input: finite estimates, or (MWF on
    mono, or on digital silence, where MWF.py divides 0 by 0) a clear refusal."""
    for method in METHODS:
        run = {**algo, "method": method}
        refused = method == "MWF" and label in ("mono", "digital silence")
        if refused:
            with pytest.raises(ValueError, match="stereo|non-finite"):
                separation.separate(audio, RATE, run, STFT, {"name": "soft"},
                                    {"name": "mixture"}, sources=sources)
            continue
        result = separation.separate(audio, RATE, run, STFT, {"name": "soft"},
                                     {"name": "mixture"}, sources=sources)
        assert all(np.isfinite(e).all() and e.shape == audio.shape
                   for e in result.estimates.values()), (method, label)


# --- config ranges -----------------------------------------------------------------------

@pytest.mark.parametrize("overrides,message", [
    (["+algo=repet_sim", "algo.max_repeating_frames=0"], "algo.max_repeating_frames"),
    (["+algo=repet_sim", "algo.similarity_threshold=1.5"], "algo.similarity_threshold"),
    (["+algo=ft2d", "algo.peak_method=median"], "algo.peak_method"),
    (["+algo=ft2d", "algo.neighborhood_size=[1,0]"], "algo.neighborhood_size"),
    (["+algo=ft2d", "algo.quadrants=[0,4]"], "algo.quadrants"),
    (["+algo=adaptive_repet", "algo.filter_order=0"], "algo.filter_order"),
    (["+algo=adaptive_repet", "algo.segment_step=0"], "algo.segment_step"),
    (["+algo=repet_extended", "algo.segment_step=20"], "exceeds algo.segment_length"),
    (["+algo=repet", "mask=mwf", "mask.iterations=-1"], "mask.iterations"),
    (["+algo=repet", "phase=griffin_lim", "phase.iterations=-1"], "phase.iterations"),
])
def test_out_of_range_algorithm_parameters_are_named(overrides, message):
    with pytest.raises(ValueError, match=message):
        validate(composed(*overrides))
