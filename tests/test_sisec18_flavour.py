"""The SiSEC 2018 flavour (nussl 0.1.6a0), quirk by quirk, on small signals.

Each test states one rule of shared ALGORITHMS.md's SiSEC section, checks it against an
independent computation written from that page, and where it matters shows that nussl
1.1.9's rule gives something else (so the test would fail if the flavour fell back to it).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.ndimage import maximum_filter, minimum_filter
from scipy.signal import get_window

from repet_bench import masks, separation
from repet_bench.algorithms import Context, get_algorithm
from repet_bench.algorithms.repet import period_bounds, period_bounds_sisec18
from repet_bench.algorithms.repet_sim import similar_frames, zeroed_reach
from repet_bench.stft import Stft
from repet_bench.config import option

RATE = 44100
STFT_2018 = Stft.from_config(option("stft", "nussl2018"), RATE)
STFT_CFG_2018 = option("stft", "nussl2018")


# --- the STFT -----------------------------------------------------------------------------

def _reference_frames(n, window_length=2048, hop=1024):
    overlap = window_length - hop
    before = math.ceil(overlap / hop) * hop
    after = math.ceil(n / hop) * hop + overlap - n
    count = math.ceil((before + n + after - overlap) / hop)
    return before, after, count


def reference_stft(x, window_length=2048, hop=1024):
    """nussl 0.1.6a0's e_stft on one channel, from ALGORITHMS.md."""
    before, after, count = _reference_frames(len(x), window_length, hop)
    padded = np.pad(x, (before, after))
    window = get_window("hamming", window_length)  # periodic
    return np.stack([np.fft.rfft(padded[k * hop : k * hop + window_length] * window)
                     for k in range(count)], axis=1)


def reference_istft(spec, n, window_length=2048, hop=1024, least_squares=False):
    """nussl 0.1.6a0's e_istft (raw overlap-add / Σ window), or least squares."""
    before, _, count = _reference_frames(n, window_length, hop)
    overlap = window_length - hop
    length = count * hop + overlap
    signal, norm = np.zeros(length), np.zeros(length)
    window = get_window("hamming", window_length)
    for k in range(count):
        frame = np.fft.irfft(spec[:, k], window_length)
        if least_squares:
            frame = frame * window
        signal[k * hop : k * hop + window_length] += frame
        norm[k * hop : k * hop + window_length] += window**2 if least_squares else window
    norm[norm == 0] = 1e-16
    return (signal / norm)[before : length - overlap][:n]


@pytest.mark.parametrize("n", [44100, 300000, 5000, 2048, 300033])
def test_nussl2018_stft_is_nussl_0_1_6s_transform(n):
    x = np.random.default_rng(n).standard_normal((n, 2))
    spec = STFT_2018.forward(x)
    assert spec.dtype == np.complex128
    assert spec.shape == (1025, math.ceil(n / 1024) + 1, 2) == (1025, STFT_2018.n_frames(n), 2)
    mask = np.random.default_rng(1).random(spec.shape[:2])
    for ch in range(2):
        expected = reference_stft(x[:, ch])
        # ShortTimeFFT's phase reference is the frame centre, nussl's the frame start: the
        # magnitudes are equal, and a real mask inverts to the same signal.
        np.testing.assert_allclose(np.abs(spec[..., ch]), np.abs(expected), rtol=1e-9,
                                   atol=1e-9)
        got = STFT_2018.inverse(spec * mask[..., None], n)[:, ch]
        want = reference_istft(expected * mask, n)
        np.testing.assert_allclose(got, want, atol=1e-9)
        # not a least-squares inverse: a masked spectrogram inverts to something else
        assert np.abs(got - reference_istft(expected * mask, n, least_squares=True)).max() > 1e-2
    np.testing.assert_allclose(STFT_2018.inverse(spec, n), x, atol=1e-12)


def test_nussl_grid_is_scipy_signal_stft_and_istft():
    """The default (nussl 1.1.9) STFT: scipy.signal.stft's frames and istft's inverse."""
    import scipy.signal

    n = 300000  # 6.8 s: 587 frames (ShortTimeFFT's full grid: 589)
    x = np.random.default_rng(3).standard_normal((n, 2))
    window = np.sqrt(get_window("hann", 2048))
    stft = Stft()
    spec = stft.forward(x)
    assert spec.shape[1] == stft.n_frames(n) == 587
    _, _, expected = scipy.signal.stft(x.T, window=window, nperseg=2048, noverlap=1536)
    expected = np.moveaxis(expected, 0, -1) * window.sum()  # scipy scales by 1 / Σ window
    np.testing.assert_allclose(np.abs(spec), np.abs(expected), rtol=1e-4, atol=1e-3)
    mask = np.random.default_rng(4).random(spec.shape).astype(np.float32)
    _, want = scipy.signal.istft(np.moveaxis(expected * mask, -1, 0) / window.sum(),
                                 window=window, nperseg=2048, noverlap=1536)
    np.testing.assert_allclose(stft.inverse(spec * mask, n), want.T[:n], atol=2e-5)


def test_nussl2018_rejects_a_hop_off_its_frame_grid():
    with pytest.raises(ValueError, match="hop that divides"):
        Stft(2048, 768, "hamming", convention="nussl2018")


# --- REPET ---------------------------------------------------------------------------------

def test_lag_bounds_use_nussl_0_1_6s_formula():
    # 0.8 s -> ceil((0.8 * 44100 + 1) / 1024) = 35; 8 s -> 345 (track long enough)
    assert period_bounds_sisec18(5000, STFT_2018, 100.0, 0.8, 8.0) == (35, 345)
    # One sample short of 40 hops: nussl 0.1.6's "+ 1" lifts it to 41 frames; nussl 1.1.9's
    # ceil(seconds / hop duration) gives 40.
    seconds = (40 * 1024 - 0.5) / RATE
    assert period_bounds_sisec18(5000, STFT_2018, 100.0, seconds, 8.0)[0] == 41
    assert period_bounds(5000, STFT_2018.frame_seconds, 100.0, seconds, 8.0)[0] == 40
    # the maximum is a third of the track when that is shorter
    assert period_bounds_sisec18(5000, STFT_2018, 9.0, 0.8, 8.0)[1] == math.ceil((3 * RATE + 1) / 1024)


def _nanmedian_model(v, segment):
    """NaN-padded segments of ``segment`` frames, nanmedian, tiled (nussl 0.1.6a0)."""
    n_freqs, n_frames = v.shape
    n_segments = math.ceil(n_frames / segment)
    padded = np.full((n_freqs, n_segments * segment), np.nan)
    padded[:, :n_frames] = v
    median = np.nanmedian(padded.reshape(n_freqs, n_segments, segment), axis=1)
    return np.tile(median, (1, n_segments))[:, :n_frames]


def test_repet_segment_is_period_plus_one_and_the_mask_is_nussl_0_1_6s():
    rng = np.random.default_rng(0)
    pattern = rng.random((257, 40)) + 0.1
    v = np.tile(pattern, (1, 9))[:, :350] * (1 + 0.2 * rng.random((257, 350)))
    v = np.stack([v, 0.5 * v], axis=2)
    ctx = Context(STFT_2018, 350 * 1024)
    models = get_algorithm("repet")(v, ctx, flavour="sisec18")
    assert models.background is None and models.foreground is None
    lag = models.info["period_frames"]
    assert lag == 40 and models.info["segment_frames"] == 41
    for ch in range(2):
        median = _nanmedian_model(v[..., ch], lag + 1)
        expected = (np.minimum(median, v[..., ch]) + 1e-16) / (v[..., ch] + 1e-16)
        np.testing.assert_allclose(models.background_mask[..., ch], expected, rtol=1e-12)
        # nussl 1.1.9's segment of `lag` frames gives another model
        other = _nanmedian_model(v[..., ch], lag)
        assert not np.allclose(np.minimum(other, v[..., ch]) / v[..., ch], expected, atol=1e-3)


def test_high_pass_gives_six_rows_to_the_background():
    assert masks.high_pass_rows(100.0, STFT_2018, "sisec18") == 6  # ceil(100 * 2047 / 44100) + 1
    assert masks.high_pass_rows(100.0, STFT_2018, "nussl") == 5  # bins below 107.7 Hz's
    assert masks.high_pass_rows(0.0, STFT_2018, "sisec18") == 0


# --- REPET-SIM -----------------------------------------------------------------------------

def reference_picks(row, n_peaks, distance):
    """nussl 0.1.6a0's find_peak_indices on one similarity row (threshold 0), from
    ALGORITHMS.md: rescale to [0, 1], pick the argmax, zero [p - d - 1, p + d + 1)."""
    row = np.array(row, dtype=float)
    if row.min() > 0:
        row -= row.min()
    with np.errstate(invalid="ignore"):
        row /= row.max()
    picks = []
    for _ in range(n_peaks):
        p = int(np.argmax(row))
        picks.append(p)
        row[max(p - distance - 1, 0) : min(p + distance + 1, len(row))] = 0
        if row.sum() == 0:
            break
    return picks[1:]


def test_repet_sim_zeroes_p_minus_d_minus_1_to_p_plus_d_plus_1_with_d_43_frames():
    assert zeroed_reach(1.0, STFT_2018, "sisec18") == (44, 44)  # d = 1 × (44100 // 1024)
    # at 0.5 s: d = 21.5 frames -> [p - 23, p + 22); nussl 1.1.9's rule: [p - 22, p + 22)
    assert zeroed_reach(0.5, STFT_2018, "sisec18") == (22.5, 22.5)
    assert zeroed_reach(0.5, STFT_2018, "nussl") != zeroed_reach(0.5, STFT_2018, "sisec18")
    rng = np.random.default_rng(2)
    v = rng.random((129, 400, 1)) ** 4
    frames = v[..., 0].T / np.linalg.norm(v[..., 0].T, axis=1, keepdims=True)
    cosine = frames @ frames.T
    indices, counts = similar_frames(v, zeroed_reach(1.0, STFT_2018, "sisec18"), 100,
                                     dtype=np.float64)
    got = [indices[i, :counts[i]].tolist() for i in range(400)]
    assert got == [reference_picks(cosine[i], 100, 43) for i in range(400)]
    # nussl 1.1.9's zeroed range at hop 512 (d = 86.13 frames) picks other frames
    other, other_counts = similar_frames(v, zeroed_reach(1.0, Stft(), "nussl"), 100,
                                         dtype=np.float64)
    assert any(other[i, :other_counts[i]].tolist() != got[i] for i in range(400))


def test_repet_sim_frame_without_similar_frames_gets_a_model_of_ones():
    # 30 frames < 44: the first pick (the frame itself) zeroes the whole row
    v = np.random.default_rng(5).random((65, 30, 1)) * 3
    models = get_algorithm("repet_sim")(v, Context(STFT_2018, 30 * 1024), flavour="sisec18")
    assert models.info["frames_without_similar"] == 30
    expected = (np.minimum(1, v) + 1e-16) / (v + 1e-16)
    np.testing.assert_allclose(models.background_mask, expected, rtol=1e-12)
    # nussl 1.1.9 gives such a frame wholly to the background
    nussl = get_algorithm("repet_sim")(v, Context(Stft(), 30 * 512))
    assert np.allclose(nussl.background, v)


# --- 2DFT ----------------------------------------------------------------------------------

def reference_ft2d_mask(v, size=(1, 25)):
    """nussl 0.1.6a0's FT2D mask of one channel, from ALGORITHMS.md."""
    spectrum = np.fft.fft2(v)
    data = np.abs(np.fft.fftshift(spectrum))
    data /= data.max()
    local_max = maximum_filter(data, size)
    peaks = (data == local_max) & (local_max - minimum_filter(data, size) > np.std(data))
    peaks = np.maximum(peaks, np.fliplr(peaks))  # the up-down flip went to `out`
    peaks = np.fft.ifftshift(peaks)
    background = np.fft.ifft2(peaks * spectrum)
    foreground = np.fft.ifft2((1 - peaks) * spectrum)
    return (background > foreground).astype(float)  # numpy's complex ordering


def test_ft2d_is_the_binary_mask_of_original_peaks():
    rng = np.random.default_rng(6)
    # sparse (peaky) spectra: a repeating loop under a louder non-repeating part
    v = np.tile(rng.random((96, 12)) ** 4, (1, 20)) + 2 * rng.random((96, 240)) ** 4
    v = np.stack([v, v[::-1]], axis=2)
    ctx = Context(STFT_2018, 240 * 1024)
    got = get_algorithm("ft2d")(v, ctx, flavour="sisec18").background_mask
    for ch in range(2):
        expected = reference_ft2d_mask(v[..., ch])
        assert 0.05 < expected.mean() < 0.95  # a real mask, not a degenerate one
        np.testing.assert_array_equal(got[..., ch], expected)
    # Re(B) > V / 2 but for ties, since B + G = V
    nussl = get_algorithm("ft2d")(v, ctx)  # 1.1.9: soft local_std weights, soft mask
    soft = nussl.background / np.maximum(v, 1e-12)
    assert ((soft > 0.01) & (soft < 0.99)).mean() > 0.1


# --- the estimates -------------------------------------------------------------------------

def test_background_is_inverted_and_foreground_is_the_mixture_minus_it():
    rng = np.random.default_rng(7)
    mixture = np.tile(rng.standard_normal((RATE // 2, 2)), (8, 1)) * 0.1
    mixture += 0.05 * rng.standard_normal(mixture.shape)
    algo = {"name": "repet", "min_period": 0.2, "max_period": 8.0, "period": None,
            "high_pass_cutoff": 100.0, "flavour": "sisec18"}
    est = separation.separate(mixture, RATE, algo, STFT_CFG_2018, {"name": "soft"},
                            {"name": "mixture"}).estimates
    spec = STFT_2018.forward(mixture)
    models = get_algorithm("repet")(np.abs(spec), Context(STFT_2018, len(mixture)),
                                       min_period=0.2, flavour="sisec18")
    bg_mask = models.background_mask
    bg_mask[:6] = 1
    np.testing.assert_array_equal(est["accompaniment"], STFT_2018.inverse(bg_mask * spec,
                                                                          len(mixture)))
    np.testing.assert_array_equal(est["vocals"], mixture - est["accompaniment"])
    assert est["vocals"].dtype == np.float64
