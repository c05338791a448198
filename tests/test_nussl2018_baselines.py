"""nussl 0.1.6a0's other SiSEC 2018 baselines (RPCA, HPSS, HPLP; the ``sisec18`` flavour):
each rule against an independent computation on a small signal, chosen so that the
neighbouring rule (REPET's 6-row high-pass for HPLP, no high-pass for RPCA, a plain
ratio for HPSS) would fail; the known answers on the real sample are in
test_stored_scores.py."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import median_filter

import repet_bench as rb
from repet_bench.algorithms import Context, get_algorithm
from repet_bench.algorithms.rpca import decompose
from repet_bench.stft import Stft

RATE = 44100
STFT_2018 = Stft.from_config(rb.config.option("stft", "nussl2018"), RATE)


@pytest.fixture(scope="module")
def mixture():
    rng = np.random.default_rng(3)
    t = np.arange(2 * RATE) / RATE
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    clicks = np.zeros_like(t)
    clicks[:: RATE // 4] = 1.0
    return np.stack([tone + clicks + 0.01 * rng.standard_normal(len(t)),
                     tone - clicks + 0.01 * rng.standard_normal(len(t))], axis=1)


def test_rpca_mask_is_sparse_below_low_rank_with_six_background_rows(mixture):
    result = rb.separate(mixture, RATE, "rpca", stft="nussl2018", masks=True, flavour="sisec18")
    background = result.masks["accompaniment"]
    v = np.abs(STFT_2018.forward(mixture))
    low_rank, sparse, info = decompose(v[..., 0], 100, 1e-7)
    expected = (np.abs(sparse) <= np.abs(low_rank)).astype(float)
    expected[:6] = 1  # nussl 0.1.6a0's ceil(100 * 2047 / 44100) + 1 rows
    np.testing.assert_array_equal(background[..., 0], expected)
    assert not np.all(background[6] == 1)  # the 7th row is the algorithm's, not the high-pass
    assert result.info["rpca_iterations"][0] == info["iterations"] < 100
    # the foreground is the mixture minus the inverted background
    np.testing.assert_allclose(result.estimates["vocals"] + result.estimates["accompaniment"],
                               mixture, atol=1e-12)


def test_rpca_recovers_a_low_rank_plus_sparse_matrix():
    rng = np.random.default_rng(0)
    low = rng.random((60, 3)) @ rng.random((3, 80))  # rank 3
    spikes = np.where(rng.random((60, 80)) > 0.97, 5.0, 0.0)
    low_rank, sparse, info = decompose(low + spikes, 100, 1e-7)
    assert np.abs(low_rank - low).max() < 1e-3 and np.abs(sparse - spikes).max() < 1e-3
    assert info["error"] < 1e-7


def test_hpss_is_librosas_power_two_softmask_of_median_filters(mixture):
    v = np.abs(STFT_2018.forward(mixture))
    v[:, 5] = 0  # a silent frame: librosa's split_zeros gives 0.5 where both medians are 0
    mask = get_algorithm("hpss")(v, Context(STFT_2018, len(mixture)), flavour="sisec18").background_mask
    for ch in range(2):
        h = median_filter(v[..., ch], size=(1, 31), mode="reflect")
        p = median_filter(v[..., ch], size=(31, 1), mode="reflect")
        with np.errstate(invalid="ignore"):
            expected = np.where(np.maximum(h, p) > 0, h ** 2 / (h ** 2 + p ** 2), 0.5)
        np.testing.assert_allclose(mask[..., ch], expected, rtol=1e-12, atol=1e-15)
    # the tone (440 Hz, bin 20) is harmonic: accompaniment; a click's frame is percussive
    click = int(v[600, :, 0].argmax())
    assert mask[20].mean() > 0.9 and mask[600, click, 0] < 0.2


def test_hplp_gives_the_five_rows_below_107_hz_to_the_accompaniment(mixture):
    result = rb.separate(mixture, RATE, "hplp", stft="nussl2018", masks=True, flavour="sisec18")
    background = result.masks["accompaniment"]
    assert (background[:5] == 1).all() and (background[5:] == 0).all()  # REPET's rule: 6
    assert result.info == {"cutoff_bin": 5, "cutoff_hz": pytest.approx(107.666, abs=1e-3)}


def test_nussl_flavour_rpca_has_the_five_row_high_pass_and_float32_masks(mixture):
    result = rb.separate(mixture, RATE, "rpca", masks=True)  # nussl 1.1.9's, its STFT
    background = result.masks["accompaniment"]
    assert background.dtype == np.float32
    assert (background[:5] == 1).all() and not (background[5] == 1).all()


def test_nussl_flavour_hpss_runs_in_the_stfts_single_precision(mixture):
    stft = Stft()  # nussl 1.1.9's: complex64
    v = np.abs(stft.forward(mixture))
    nussl = get_algorithm("hpss")(v, Context(stft, len(mixture)), flavour="nussl").background_mask
    sisec = get_algorithm("hpss")(v, Context(stft, len(mixture)), flavour="sisec18").background_mask
    assert nussl.dtype == np.float32 and sisec.dtype == np.float64
    assert 0 < np.abs(nussl - sisec).max() < 1e-5
