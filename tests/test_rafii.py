"""The rafii flavour (REPET-Python) rule by rule, on small signals against the facts of his
code written out here; the whole functions against his code on real audio are
scripts/compare_rafii.py, whose medians tests/test_stored_scores.py keeps."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from configs import composed

from repet_bench import separate
from repet_bench.algorithms import rafii
from repet_bench.validation import validate
from repet_bench.results import config_labels
from repet_bench.sisec18 import implementation, sisec18_entry

RATE = 44100


def his_frames(signal: np.ndarray, window_length: int) -> np.ndarray:
    """His ``_stft`` as its facts read: ``W/2`` zeros before, frame ``j`` = the padded
    samples ``[j hop, j hop + W)`` times the periodic Hamming window, ``ceil(n / hop) + 1``
    frames, full FFT (here its first ``W/2 + 1`` rows)."""
    hop = window_length // 2
    n_frames = int(np.ceil(len(signal) / hop)) + 1
    padded = np.zeros(n_frames * hop + window_length)
    padded[hop : hop + len(signal)] = signal
    window = 0.54 - 0.46 * np.cos(2 * np.pi * np.arange(window_length) / window_length)
    frames = np.stack([padded[j * hop : j * hop + window_length] * window
                       for j in range(n_frames)], axis=1)
    return np.fft.fft(frames, axis=0)[: window_length // 2 + 1]


def test_his_transform_is_nussl_2018s_frames_and_inverts_to_the_signal():
    x = np.random.default_rng(0).standard_normal((10_000, 1))
    stft = rafii.transform(RATE)
    assert (stft.window_length, stft.hop, stft.window) == (2048, 1024, "hamming")
    spec = stft.forward(x)
    # Our frames are rolled by half a window (scipy's ShortTimeFFT): bin k differs from his
    # by (-1)^k, which no real mask sees and the inverse undoes.
    signs = (-1.0) ** np.arange(1025)[:, None]
    np.testing.assert_allclose(spec[:, :, 0] * signs, his_frames(x[:, 0], 2048), atol=1e-9)
    np.testing.assert_allclose(stft.inverse(spec, len(x)), x, atol=1e-12)
    assert rafii.transform(16000).window_length == 1024  # 2^ceil(log2(640))


def test_period_is_one_frame_past_the_peak_and_capped_at_a_third():
    beat = np.zeros(300)
    beat[50] = 1.0  # peak at lag 50
    assert rafii.pick_period(beat, (43, 431)) == 51  # MATLAB's 1-based index kept
    beat[120] = 2.0  # beyond 300 // 3 = 100: not searched
    assert rafii.pick_period(beat, (43, 431)) == 51
    assert rafii.pick_period(beat[:120], (43, 431)) is None  # 120 // 3 = 40 <= 43


def test_high_pass_gives_five_rows_above_dc_to_the_background():
    mask = np.zeros((1025, 3))
    rafii._high_pass(mask, 100.0, rafii.transform(RATE))
    assert mask[0].sum() == 0 and (mask[1:6] == 1).all() and mask[6:].sum() == 0


def test_beat_spectrogram_leaves_the_column_before_each_window_empty():
    power = np.random.default_rng(1).random((8, 50)) + 0.1
    out = rafii.beat_spectrogram(power, 9, 5)
    padded = np.pad(power, ((0, 0), (4, 4)))
    for i in range(0, 50, 5):
        np.testing.assert_allclose(out[:, i], rafii.beat_spectrum(padded[:, i : i + 9]))
        assert (out[:, i : min(i + 4, 50)] == out[:, i : i + 1]).all()
        if i + 4 < 50:
            assert (out[:, i + 4] == 0).all()  # his slice i : i + step - 1


def test_beat_spectrum_is_the_unbiased_autocorrelation_averaged_over_frequency():
    power = np.random.default_rng(2).random((300, 40))  # more rows than one block
    expected = np.mean([[np.dot(row[: 40 - k], row[k:]) / (40 - k) for k in range(40)]
                        for row in power], axis=0)
    np.testing.assert_allclose(rafii.beat_spectrum(power), expected, rtol=1e-10)


def _his_local_maxima(v, minimum, distance, number):
    at = [i for i in range(len(v)) if v[i] >= minimum
          and all(v[i] > v[max(i - distance, 0) : i])
          and all(v[i] > v[i + 1 : i + distance + 1])]
    at = np.array(at, dtype=int)
    return at[np.argsort(v[at])[::-1][:number]]


@pytest.mark.parametrize("distance", [0, 1, 2, 5, 43])
def test_local_maxima_are_his_including_ties_and_the_ends(distance):
    rng = np.random.default_rng(distance)
    values = np.round(rng.random((200, 4)), 1)  # many ties
    for column, picks in enumerate(rafii.local_maxima(values, 0.2, distance, 7)):
        np.testing.assert_array_equal(picks, _his_local_maxima(values[:, column], 0.2,
                                                               distance, 7))


@pytest.mark.parametrize("distance", [1, 3])
def test_silent_rows_block_the_picks_near_them_as_his_nans_do(distance):
    rng = np.random.default_rng(10 + distance)
    values = rng.random((60, 3))
    silent = np.zeros(60, dtype=bool)
    silent[[5, 30, 31]] = True
    his_values = values.copy()
    his_values[silent] = np.nan  # his 0 / 0
    for column, picks in enumerate(rafii.local_maxima(values, 0.0, distance, 100, silent)):
        with np.errstate(invalid="ignore"):
            expected = _his_local_maxima(his_values[:, column], 0.0, distance, 100)
        np.testing.assert_array_equal(np.sort(picks), np.sort(expected))


def test_a_silent_frame_is_similar_to_no_frame_and_sim_stays_finite():
    x = np.random.default_rng(3).standard_normal((4 * RATE, 2))
    x[RATE : RATE + 8192] = 0  # several all-zero frames (his similarity divides 0 by 0)
    unit, silent = rafii.unit_columns(np.abs(rafii.transform(RATE).forward(x)).mean(axis=2))
    assert np.isfinite(unit).all() and silent.sum() >= 4
    estimates, _ = rafii.sim(x, RATE, similarity_threshold=0.0, min_distance_between_frames=1.0,
                             max_repeating_frames=100, high_pass_cutoff=100.0)
    assert np.isfinite(estimates["vocals"]).all()
    assert np.abs(estimates["accompaniment"][RATE + 2048 : RATE + 6144]).max() == 0


def test_simonline_leaves_its_first_buffer_unseparated_and_warns_when_that_is_all(caplog):
    x = np.random.default_rng(4).standard_normal((3 * RATE, 2))
    params = dict(similarity_threshold=0.0, min_distance_between_frames=1.0,
                  max_repeating_frames=100, high_pass_cutoff=100.0)
    estimates, info = rafii.simonline(x, RATE, buffer_length=1.0, **params)
    buffer = round(RATE / 1024)  # 43 frames; his frame j starts at j * 1024
    assert (estimates["accompaniment"][: (buffer - 1) * 1024] == 0).all()
    assert np.abs(estimates["accompaniment"][buffer * 1024 :]).max() > 0
    assert info["separated_seconds"] > 1.5
    with caplog.at_level(logging.WARNING):
        estimates, info = rafii.simonline(x, RATE, buffer_length=10.0, **params)
    assert info["separated_seconds"] == 0 and (estimates["accompaniment"] == 0).all()
    assert "no frame is separated" in caplog.text


def test_extended_crossfades_signals_with_his_triangular_halves():
    assert np.allclose(rafii.triangular_window(6), [1 / 6, 3 / 6, 5 / 6, 5 / 6, 3 / 6, 1 / 6])
    halves = rafii.triangular_window(8)
    np.testing.assert_allclose(halves[:4] + halves[4:], 1)  # the overlaps sum to one
    x = np.tile(np.random.default_rng(5).standard_normal((RATE, 2)), (32, 1))
    estimates, info = rafii.extended(x, RATE, min_period=1.0, max_period=10.0,
                                     segment_length=10.0, segment_step=5.0,
                                     high_pass_cutoff=100.0)
    assert len(info["segment_periods"]) == 1 + (32 - 10) // 5  # 5: the last one longer
    np.testing.assert_allclose(estimates["vocals"] + estimates["accompaniment"], x)


def test_flavours_are_checked_per_algorithm():
    for name, flavour in (("adaptive_repet", "sisec18"), ("repet_sim_online", "nussl"),
                          ("ft2d", "rafii")):
        cfg = composed(f"+algo={name}")
        cfg["algo"]["flavour"] = flavour
        with pytest.raises(ValueError, match=f"algo.flavour='{flavour}' is invalid for {name}"):
            validate(cfg)
    with pytest.raises(ValueError, match="always searches"):
        separate(np.zeros((RATE, 2)), algo="repet", flavour="rafii", period=2.0)


def test_rafii_runs_are_labelled_without_strategies_and_named_as_his_code():
    configs = [composed("+experiment=rafii", f"+algo={n}", "algo.flavour=rafii")
               for n in ("repet", "repet_sim_online")]
    configs.append(composed("+algo=adaptive_repet"))
    labels = config_labels(configs)
    assert labels[0].mask is None and labels[0].phase is None and "stft" not in labels[0].extra
    assert implementation(configs[0]).startswith("REPET-Python 9d33c1e")
    assert sisec18_entry(configs[0]) is None  # not REP1, whatever the eval
    assert "variant" in implementation(configs[2])  # the nussl flavour is ours, not his
