import math
import warnings

import numpy as np
import pytest

from repet_bench.algorithms import Context, get_algorithm
from repet_bench.algorithms.repet import (beat_spectrum, find_period, period_bounds,
                                          repeating_model, repeating_segment)
from repet_bench.stft import Stft
from repet_bench.synthetic import specs


def test_beat_spectrum_equals_direct_autocorrelation():
    power = np.random.default_rng(0).random((300, 157))  # > one frequency block
    t = power.shape[1]
    direct = np.mean([np.correlate(row, row, "full")[t - 1:] for row in power], axis=0)
    direct /= t - np.arange(t)
    np.testing.assert_allclose(beat_spectrum(power), direct, rtol=1e-9)


@pytest.mark.parametrize("n_frames,period", [(100, 7), (100, 10), (100, 33), (20, 20), (9, 20)])
def test_repeating_segment_equals_nan_padded_nanmedian(n_frames, period):
    v = np.random.default_rng(1).random((5, n_frames, 2)).astype(np.float32)
    n_seg = math.ceil(n_frames / period)
    padded = np.full((5, n_seg * period, 2), np.nan, np.float32)
    padded[:, :n_frames] = v
    with warnings.catch_warnings():  # columns no segment covers are all NaN, on purpose
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanmedian(padded.reshape(5, n_seg, period, 2), axis=1)
    got = repeating_segment(v, period)
    valid = ~np.isnan(expected)  # columns no segment covers (period > frames)
    np.testing.assert_allclose(got[valid], expected[valid], rtol=1e-6)


def test_repeating_model_is_below_mixture_and_exact_on_pure_repetition():
    rng = np.random.default_rng(2)
    loop = rng.random((20, 13, 1)).astype(np.float32)
    v = np.tile(loop, (1, 6, 1))[:, :70]
    np.testing.assert_allclose(repeating_model(v, 13), v)
    noisy = v + rng.random(v.shape).astype(np.float32) * (rng.random(v.shape) < 0.1)
    model = repeating_model(noisy, 13)
    assert (model <= noisy).all()


def test_period_search_range_follows_nussl():
    # 0.8 s and min(8 s, duration / 3) converted with ceil
    assert period_bounds(3000, 512 / 44100, 60.0, 0.8, 8.0) == (69, 690)
    assert period_bounds(3000, 512 / 44100, 12.0, 0.8, 8.0) == (69, 345)
    assert find_period(np.arange(10.0), 2, 5) == 5
    assert find_period(np.arange(10.0), 6, 5) is None


def test_repet_finds_the_known_period_of_each_synthetic_track(synthetic_tracks):
    stft = Stft()
    periods = {s.name: s.period for s in specs(len(synthetic_tracks))}
    for track in synthetic_tracks:
        magnitude = np.abs(stft.forward(track.mixture.astype(np.float32)))
        models = get_algorithm("repet")(magnitude, Context(stft, len(track.mixture)))
        true_frames = periods[track.ref.name] / stft.frame_seconds
        assert abs(models.info["period_frames"] - true_frames) <= 1, track.ref.name


@pytest.mark.parametrize("shape", [(1025, 50, 1), (1025, 50, 2)])
def test_repet_handles_mono_stereo_short_and_silent_input(shape):
    stft = Stft()
    ctx = Context(stft, shape[1] * 512)  # 0.6 s: shorter than 3 × min_period
    for magnitude in (np.zeros(shape, np.float32), np.random.default_rng(0).random(shape).astype(np.float32)):
        models = get_algorithm("repet")(magnitude, ctx)
        assert models.background.shape == models.foreground.shape == shape
        assert np.isfinite(models.background).all() and (models.foreground >= 0).all()
    fixed = get_algorithm("repet")(magnitude, ctx, period=0.1)
    assert fixed.info["period_frames"] == round(0.1 / stft.frame_seconds)
