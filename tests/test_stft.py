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

    x = np.random.default_rng(5).standard_normal((3 * stft_module.FRAME_CHUNK * 512 + 777, 2)).astype(np.float32)
    stft = Stft()
    frames = -(-len(x) // 512) + 1  # nussl 1.1.9's grid: frames centred on 0 .. ceil(n / hop) hops
    whole = ShortTimeFFT(np.sqrt(get_window("hann", 2048)), 512, 44100).stft(
        x.T.astype(np.float64), p0=0, p1=frames)
    np.testing.assert_allclose(stft.forward(x), np.moveaxis(whole, 0, -1), atol=1e-3, rtol=1e-5)
    np.testing.assert_allclose(stft.magnitude(x), np.abs(np.moveaxis(whole, 0, -1)),
                               atol=1e-3, rtol=1e-5)
    assert stft.magnitude(x).dtype == np.float32
