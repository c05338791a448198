import numpy as np
import pytest

from repet_bench.stft import Stft


@pytest.mark.parametrize("n_samples,channels", [(44100, 2), (3001, 1), (2048, 2)])
@pytest.mark.parametrize("window", ["sqrt_hann", "hann"])
def test_inverse_of_forward_is_identity(n_samples, channels, window):
    x = np.random.default_rng(1).standard_normal((n_samples, channels)).astype(np.float32)
    stft = Stft(2048, 512, window)
    spec = stft.forward(x)
    assert spec.shape == (1025, spec.shape[1], channels)
    assert spec.dtype == np.complex64
    np.testing.assert_allclose(stft.inverse(spec, n_samples), x, atol=2e-5)


def test_frequencies_and_frame_duration():
    stft = Stft(2048, 512, "sqrt_hann", 44100)
    assert stft.freqs[1] == pytest.approx(44100 / 2048)
    assert stft.frame_seconds == pytest.approx(512 / 44100)


def test_too_short_audio_is_a_clear_error():
    with pytest.raises(ValueError, match="too short"):
        Stft().forward(np.zeros((100, 2), np.float32))


@pytest.mark.parametrize("kwargs", [{"hop": 0}, {"hop": 4096}, {"window": "boxcar"}])
def test_bad_parameters_are_rejected(kwargs):
    with pytest.raises(ValueError):
        Stft(**kwargs)


def test_chunked_forward_equals_scipy_in_one_call():
    from scipy.signal import ShortTimeFFT, get_window

    from repet_bench import stft as stft_module

    n = 3 * stft_module.FRAME_CHUNK * 512 + 777
    x = np.random.default_rng(5).standard_normal((n, 2)).astype(np.float32)
    stft = Stft()
    frames = -(-len(x) // 512) + 1  # nussl 1.1.9's grid: frames centred on 0 .. ceil(n / hop) hops
    whole = ShortTimeFFT(np.sqrt(get_window("hann", 2048)), 512, 44100).stft(
        x.T.astype(np.float64), p0=0, p1=frames)
    np.testing.assert_allclose(stft.forward(x), np.moveaxis(whole, 0, -1), atol=1e-3, rtol=1e-5)
    np.testing.assert_allclose(stft.magnitude(x), np.abs(np.moveaxis(whole, 0, -1)),
                               atol=1e-3, rtol=1e-5)
    assert stft.magnitude(x).dtype == np.float32


# (window_length, hop, window, convention): both conventions' defaults, other hops and
# windows, and a hop that does not divide the window (scipy's own inverse then).
SCIPY_CASES = [(2048, 512, "sqrt_hann", "nussl"), (2048, 1024, "hamming", "nussl2018"),
               (2048, 256, "hamming", "nussl2018"), (4096, 1024, "hann", "nussl"),
               (1024, 256, "blackman", "nussl"), (2048, 600, "sqrt_hann", "nussl")]


@pytest.mark.parametrize("case", SCIPY_CASES, ids=lambda c: "-".join(map(str, c)))
def test_stft_is_scipys_short_time_fft_bit_for_bit(case):
    """The batched transforms and the facts restated from scipy.signal (windows, dual
    window, first slice) give exactly what ShortTimeFFT gives."""
    from scipy.signal import ShortTimeFFT, get_window

    m, hop, window, convention = case
    stft = Stft(m, hop, window, convention=convention)
    scipy_window = (np.sqrt(get_window("hann", m)) if window == "sqrt_hann"
                    else get_window(window, m))
    assert np.array_equal(stft._window, scipy_window)
    nussl2018 = convention == "nussl2018"
    sft = ShortTimeFFT(scipy_window if nussl2018 else scipy_window.astype(np.float32), hop,
                       44100, fft_mode="onesided", dual_win=np.ones(m) if nussl2018 else None)
    assert np.array_equal(stft._dual, sft.dual_win) and stft._p_min == sft.p_min
    assert np.array_equal(stft.freqs, sft.f)

    for n in (m, 5000, 123457):
        x = np.random.default_rng(n).standard_normal((n, 2)).astype(np.float32)
        first = int(stft._first_frame)
        p1 = first + stft.n_frames(n)
        scipy_spec = np.stack([sft.stft(x[:, c].astype(np.float64), p0=first, p1=p1)
                               for c in range(2)], axis=-1).astype(stft.complex_dtype)
        spec = stft.forward(x)
        assert np.array_equal(spec, scipy_spec), n
        if m % hop == 0:  # the batched overlap-add (otherwise scipy's istft is called)
            shift = (first - sft.p_min) * hop
            scipy_audio = sft.istft(np.moveaxis(spec, -1, 0), k0=-shift, k1=n - shift,
                                    f_axis=-2, t_axis=-1).T
            assert np.array_equal(stft._overlap_add(spec.transpose(1, 2, 0), n).T, scipy_audio), n
        # Single precision (Griffin-Lim's iterations): float32 rounding of the same values.
        single = stft.forward(x, single=True)
        assert single.dtype == np.complex64
        assert np.abs(single - spec).max() <= 1e-6 * np.abs(spec).max(), n
        exact = stft.inverse(single, n)
        inverted = stft.inverse(single, n, single=True)
        assert inverted.dtype == exact.dtype
        assert np.abs(inverted - exact).max() <= 1e-6 * np.abs(exact).max(), n
        # The FFTs' own layout (Griffin-Lim's iterations): the same values, untransposed.
        frames_first = stft.forward(x, single=True, frames_first=True)
        assert np.array_equal(frames_first, single.transpose(1, 2, 0)), n
        assert np.array_equal(stft.inverse(frames_first, n, single=True, frames_first=True),
                              inverted), n


def test_an_stft_that_cannot_be_inverted_is_refused_when_made():
    with pytest.raises(ValueError, match="cannot be inverted"):
        Stft(2048, 2048, "sqrt_hann")  # the periodic Hann window is 0 at its first sample
