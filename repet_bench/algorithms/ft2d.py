"""2DFT: repeating patterns are peaks in the 2D Fourier transform of the spectrogram.

P. Seetharaman, F. Pishdadian and B. Pardo, "Music/Voice Separation Using the 2D Fourier
Transform," IEEE WASPAA 2017. Two flavours (shared ALGORITHMS.md): ``nussl`` follows
nussl 1.1.9 (soft peak weights, a soft mask divided by its maximum); ``sisec18`` follows
nussl 0.1.6a0, which made the SiSEC 2018 entry 2DFT (0/1 peaks, a binary mask). Both keep
nussl's left-right-only symmetrisation of the peak map unless ``nussl_quirks`` is false.

A periodic pattern in the magnitude spectrogram concentrates in a few peaks of its 2DFT
(freq × frames), while the non-repeating voice spreads out. Keeping the peaks and
inverting gives the repeating background.
"""

from __future__ import annotations

import numpy as np
from scipy import fft
from scipy.ndimage import maximum_filter, minimum_filter, uniform_filter

from .registry import Context, Models, register, residual

PEAK_METHODS = ("local_std", "original")
# Frequency rows of the 2DFT filtered at once: the float64 filter temporaries stay
# ~10 × rows × frames × 8 bytes (~90 MB for a 7-minute track) instead of full-size.
_ROW_BLOCK = 32
# nussl's guard against dividing by zero, used in several places.
_EPS = 1e-7


def _row_slices(n_rows: int):
    for start in range(0, n_rows, _ROW_BLOCK):
        yield slice(start, min(start + _ROW_BLOCK, n_rows))


def _blocks(n_rows: int, halo: int):
    """Row blocks ``(inner, outer, out)`` with ``halo`` extra rows around each block.

    ``outer`` is the block with its halo, ``inner`` the block within ``outer`` and
    ``out`` the block within the whole array. Filters of height ``2 * halo + 1`` or less
    see the same neighbours in ``outer`` as in the whole array, so filtering block by
    block equals filtering at once.
    """
    for out in _row_slices(n_rows):
        lo, hi = max(0, out.start - halo), min(n_rows, out.stop + halo)
        yield slice(out.start - lo, out.stop - lo), slice(lo, hi), out


def shifted_magnitude(magnitude: np.ndarray) -> np.ndarray:
    """``|fftshift(fft2(magnitude))|`` of one channel, float32 ``(freq, frames)``."""
    return np.fft.fftshift(np.abs(fft.fft2(magnitude)))


def peak_map(
    data: np.ndarray, neighborhood_size, peak_method: str,
    normalise_eps: float = _EPS,
) -> np.ndarray:
    """Peaks of the fftshifted 2DFT magnitude, before symmetrisation.

    Parameters
    ----------
    data : ndarray, shape (freq, frames)
        ``|fftshift(2DFT)|`` of one channel's magnitude spectrogram
        (:func:`shifted_magnitude`).
    neighborhood_size : (int, int)
        Filter size in 2DFT bins (freq, time) defining a local peak (nussl: (1, 25)).
    peak_method : {"local_std", "original"}
        ``local_std`` (nussl 1.1.9's default): a soft weight
        ``(local max - local mean) / local std`` at points equal to their local maximum,
        scaled to max 1. ``original`` (the paper): 1 at points equal to their local
        maximum whose local max - local min exceeds the standard deviation of the whole
        normalised 2DFT, else 0 (nussl 0.1.6a0's only method, SiSEC 2018).
    normalise_eps : float
        The magnitude is divided by ``max + normalise_eps``: 1e-7 in nussl 1.1.9, 0 in
        nussl 0.1.6a0.

    Returns
    -------
    peaks : ndarray, float32, shape (freq, frames)
        Weights in [0, 1], in fftshifted coordinates.

    Notes
    -----
    As nussl: the magnitude is first divided by its maximum and the filters use
    scipy.ndimage's default ``reflect`` edges. The statistics are computed in float64
    row block by row block (with a halo of rows for filters taller than one bin). One
    deviation: the local variance ``E[x²] - E[x]²`` is clipped at 0 before the square
    root, where nussl takes the root of a rounding-error negative and gets NaN.
    """
    if peak_method not in PEAK_METHODS:
        raise ValueError(f"ft2d peak_method={peak_method!r} is unknown; use one of {PEAK_METHODS}")
    size = tuple(int(s) for s in neighborhood_size)
    n_freqs = data.shape[0]
    denominator = float(data.max()) + normalise_eps
    peaks = np.empty(data.shape, dtype=np.float32)

    if peak_method == "original":
        # Global std of the normalised magnitude (two passes, as np.std).
        def normalised(rows):
            return data[rows].astype(np.float64) / denominator

        mean = sum(float(normalised(r).sum()) for r in _row_slices(n_freqs)) / data.size
        squares = sum(float(np.sum(np.square(normalised(r) - mean))) for r in _row_slices(n_freqs))
        threshold = np.sqrt(squares / data.size)

    for inner, outer, out in _blocks(n_freqs, size[0] // 2 + 1):
        block = data[outer].astype(np.float64) / denominator
        local_max = maximum_filter(block, size)
        if peak_method == "original":
            local_min = minimum_filter(block, size)
            is_peak = (block == local_max) & (local_max - local_min > threshold)
            peaks[out] = is_peak[inner]
            continue
        mean = uniform_filter(block, size)
        mean_sq = uniform_filter(block * block, size)
        std = np.sqrt(np.maximum(mean_sq - mean * mean, 0)) + _EPS
        score = (local_max - mean) / std
        score *= block == local_max
        peaks[out] = score[inner]
    if peak_method == "local_std":
        peaks /= peaks.max() + _EPS
    return peaks


def symmetric_weights(peaks: np.ndarray, rows: np.ndarray, nussl_quirks: bool) -> np.ndarray:
    """Rows ``rows`` of the symmetrised peak map, unshifted (``ifftshift``), as float32.

    The 2DFT of a real spectrogram is conjugate symmetric, ``X[-k, -l] = conj(X[k, l])``,
    so a peak has a twin at the opposite frequency. nussl, 0.1.6a0 and 1.1.9 alike
    (**quirk**, kept when ``nussl_quirks``) writes ``np.maximum(m, np.fliplr(m), np.flipud(m))``: the third
    argument is numpy's ``out``, so only the left-right mirror is taken (and, for an
    even number of frames, mirrored about the wrong column). Without the quirk each
    point takes the maximum with its conjugate twin ``[-k, -l]``, so the background
    2DFT stays conjugate symmetric and its inverse real.

    Computed for a block of rows at a time, so no full-size copy of the map is made.

    Parameters
    ----------
    peaks : ndarray, shape (freq, frames)
        Peak map in fftshifted coordinates (:func:`peak_map`).
    rows : ndarray of int
        Rows of the unshifted map wanted.
    nussl_quirks : bool
    """
    n_freqs = peaks.shape[0]

    def unshifted(k):  # ifftshift: unshifted row k is shifted row k + F // 2
        return np.fft.ifftshift(peaks[(k + n_freqs // 2) % n_freqs], axes=1)

    if nussl_quirks:
        shifted = peaks[(rows + n_freqs // 2) % n_freqs]
        return np.fft.ifftshift(np.maximum(shifted, shifted[:, ::-1]), axes=1)
    twin = np.roll(unshifted((-rows) % n_freqs)[:, ::-1], 1, axis=1)  # twin[k, l] = m[-k, -l]
    return np.maximum(unshifted(rows), twin)


def filter_quadrants(spectrum: np.ndarray, quadrants) -> None:
    """Zero the quadrants of an (unshifted) 2DFT not in ``quadrants``, in place.

    nussl's numbering on the unshifted array (rows = freq, columns = time):
    0 = ``[F//2:, :T//2]``, 1 = ``[:F//2, :T//2]``, 2 = ``[:F//2, T//2:]``,
    3 = ``[F//2:, T//2:]``. Keeping (0, 2) or (1, 3) separates upward from downward
    moving spectro-temporal patterns.
    """
    f, t = spectrum.shape[0] // 2, spectrum.shape[1] // 2
    regions = {0: (slice(f, None), slice(None, t)), 1: (slice(None, f), slice(None, t)),
               2: (slice(None, f), slice(t, None)), 3: (slice(f, None), slice(t, None))}
    for quadrant, region in regions.items():
        if quadrant not in quadrants:
            spectrum[region] = 0


@register("ft2d", flavours=("nussl", "sisec18"))
def ft2d(
    magnitude: np.ndarray,
    ctx: Context,
    *,
    peak_method: str | None,
    neighborhood_size,
    quadrants,
    nussl_quirks: bool,
    flavour: str,
) -> Models:
    """2DFT separation, per channel.

    Parameters
    ----------
    magnitude : ndarray, shape (freq, frames, channels)
        Mixture magnitude spectrogram.
    ctx : Context
        The STFT (the scale of nussl's guard against dividing by zero).
    peak_method : {"local_std", "original"}, optional
        See :func:`peak_map`; ``None``: the flavour's own (``nussl``: ``local_std``,
        ``sisec18``: ``original``).
    neighborhood_size : (int, int)
        Peak neighbourhood in 2DFT bins (freq, time); nussl: (1, 25).
    quadrants : sequence of int
        2DFT quadrants kept in the background (see :func:`filter_quadrants`); all four
        by default (nussl 0.1.6a0 had no such option).
    nussl_quirks : bool
        Keep nussl's left-right-only symmetrisation (:func:`symmetric_weights`) and, in
        the ``nussl`` flavour, its mask normalisation: the mask
        ``min(W, V + ε) / (V + ε)`` (ε = 1e-7 in scipy.signal.stft's units, as nussl
        1.1.9: 1e-7 × the window's sum in ours) divided by its own maximum, which
        inflates the background wherever the maximum is below one. False: conjugate symmetrisation
        and, in the ``nussl`` flavour, the REPET-like model ``min(W, V)``.
    flavour : {"nussl", "sisec18"}
        ``nussl`` (1.1.9): ``W = |inverse 2DFT of the weighted peaks|`` gives a soft
        mask (above). ``sisec18`` (0.1.6a0, the SiSEC 2018 entry): the binary mask
        ``B > G`` with ``B`` = inverse 2DFT of the peaks and ``G`` of the rest, compared
        as numpy orders complex numbers (real parts, then imaginary parts); as
        ``B + G = V``, that is ``Re(B) > V / 2`` but for ties. Double precision.

    Returns
    -------
    Models
        ``nussl`` with quirks: background = ``V × mask``, foreground = ``V − background``,
        so the soft mask is nussl's mask; without: background = ``min(W, V)``.
        ``sisec18``: ``background_mask`` = the binary mask. ``info`` has the fraction of
        2DFT bins with a non-zero peak weight.

    Notes
    -----
    The ``nussl`` flavour takes the 2DFT in single precision (complex64, as the STFT): a
    7-minute track's 2DFT is 300 MB per channel instead of 600 MB in complex128. Masks
    match nussl 1.1.9's float64 ones to ~2e-5 on bins within 60 dB of the loudest, more
    loosely below (measured on a 30 s track; ``scripts/compare_nussl.py``). Peak statistics
    and symmetrisation go a block of rows at a time, and channels
    one at a time: at most two 2DFTs (or one and the peak map) are alive.

    Examples
    --------
    >>> import numpy as np
    >>> from repet_bench.algorithms import Context, get_algorithm
    >>> from repet_bench.stft import Stft
    >>> v = np.tile(np.random.default_rng(0).random((1025, 20)), (1, 15))[:, :, None]
    >>> ctx = Context(Stft(2048, 1024, "hamming", convention="nussl2018"), 300 * 1024)
    >>> mask = get_algorithm("ft2d")(v, ctx, flavour="sisec18").background_mask
    >>> sorted(np.unique(mask).tolist())
    [0.0, 1.0]

    References
    ----------
    P. Seetharaman, F. Pishdadian and B. Pardo, "Music/Voice Separation Using the 2D
    Fourier Transform," IEEE WASPAA 2017.
    """
    sisec18 = flavour == "sisec18"
    if peak_method is None:
        peak_method = "original" if sisec18 else "local_std"
    n_freqs = magnitude.shape[0]
    channels, peak_fraction = [], []
    for ch in range(magnitude.shape[2]):
        v = magnitude[:, :, ch]
        peaks = peak_map(shifted_magnitude(v), neighborhood_size, peak_method,
                         normalise_eps=0.0 if sisec18 else _EPS)
        # The 2DFT is recomputed rather than held through peak picking: one more FFT
        # instead of a full-size complex array alive next to the peak map.
        spectrum = fft.fft2(v)
        kept = np.empty_like(spectrum) if sisec18 else spectrum
        nonzero = 0
        for rows in _row_slices(n_freqs):
            weights = symmetric_weights(peaks, np.arange(rows.start, rows.stop), nussl_quirks)
            nonzero += np.count_nonzero(weights)
            np.multiply(spectrum[rows], weights, out=kept[rows])
        del peaks
        peak_fraction.append(nonzero / spectrum.size)
        filter_quadrants(kept, tuple(quadrants))
        if sisec18:
            spectrum -= kept  # (1 - P) F, exactly, for 0/1 peaks
            channels.append(_binary_mask(fft.ifft2(kept, overwrite_x=True),
                                         fft.ifft2(spectrum, overwrite_x=True)))
            del spectrum, kept
            continue
        model = np.abs(fft.ifft2(spectrum, overwrite_x=True))
        del spectrum, kept
        if nussl_quirks:
            # nussl adds 1e-7 to scipy.signal.stft's magnitudes, which are ours divided
            # by the window's sum: the same guard in our units.
            denominator = v + np.float32(_EPS * ctx.stft.spectrum_scale)
            mask = np.minimum(model, denominator, out=model)
            mask /= denominator
            del denominator
            mask /= np.float32(float(mask.max()) + _EPS)  # nussl: mask / (mask + 1e-7).max()
            channels.append(np.multiply(v, mask, out=mask))
        else:
            channels.append(np.minimum(model, v, out=model))
        del model
    stacked = np.stack(channels, axis=2)
    del channels
    info = {"peak_fraction": float(np.mean(peak_fraction)) if peak_fraction else 0.0}
    if sisec18:
        return Models.from_mask(stacked, info)
    return Models(stacked, residual(magnitude, stacked), info)


def _binary_mask(background: np.ndarray, foreground: np.ndarray) -> np.ndarray:
    """nussl 0.1.6a0's ``background > foreground`` on complex arrays, as float64 0/1.

    numpy orders complex numbers by real part, then imaginary part; the rule is written
    out so that it is visible and does not rest on numpy keeping that ordering.
    """
    greater = background.real > foreground.real
    greater |= (background.real == foreground.real) & (background.imag > foreground.imag)
    return greater.astype(np.float64)
