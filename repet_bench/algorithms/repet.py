"""REPET: the REpeating Pattern Extraction Technique with one period (beat spectrum).

Z. Rafii and B. Pardo, "REpeating Pattern Extraction Technique (REPET): A Simple Method
for Music/Voice Separation," IEEE TASLP 21(1), 2013. Two flavours (shared ALGORITHMS.md):
``nussl`` follows nussl 1.1.9; ``sisec18`` follows nussl 0.1.6a0, which made the SiSEC
2018 entry REP1 (its lag bounds, a segment of period + 1 frames, its mask). The
``rafii`` flavour is Z. Rafii's REPET-Python ``original``, run on the waveform
(:func:`repet_bench.algorithms.rafii.original`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft

from .registry import Context, Models, register, residual, sisec18_mask

PERIOD_RANGE = {"nussl": (0.8, 8.0), "sisec18": (0.8, 8.0), "rafii": (1.0, 10.0)}
"""REPET's period range in seconds per flavour, for ``min_period`` / ``max_period`` left
null: nussl (1.1.9 and 0.1.6a0) and Rafii & Pardo 2013 search 0.8-8 s, REPET-Python
``period_range = [1, 10]``."""


def period_range(flavour: str, min_period: float | None,
                 max_period: float | None) -> tuple[float, float]:
    """``(min_period, max_period)`` in seconds, each left None taken from
    :data:`PERIOD_RANGE` for ``flavour``.

    >>> period_range("rafii", None, None), period_range("nussl", 1.5, None)
    ((1.0, 10.0), (1.5, 8.0))
    """
    lo, hi = PERIOD_RANGE[flavour]
    return (lo if min_period is None else min_period, hi if max_period is None else max_period)


# Frequency rows per block in the beat spectrum's FFTs and the segment median: bounds
# their temporaries (~75 MB for a 7-minute track) without slowing them down.
_BEAT_BLOCK = 128


def beat_spectrum(power: np.ndarray) -> np.ndarray:
    """Beat spectrum: autocorrelation over time lags, averaged over frequency.

    Parameters
    ----------
    power : ndarray, shape (freq, frames)
        Power spectrogram (channels already averaged).

    Returns
    -------
    beat : ndarray, shape (frames,)
        ``beat[lag]`` = mean over frequencies of the autocorrelation of each row at
        ``lag``, divided by the number of overlapping terms ``frames - lag`` (the
        unbiased estimate, as in nussl).

    Notes
    -----
    The per-row autocorrelations are summed in the frequency domain, so a single inverse
    FFT gives the frequency mean; rows are transformed in blocks to bound memory.
    """
    n_freqs, n_frames = power.shape
    n_fft = next_fast_len(2 * n_frames - 1, real=True)
    spectrum_sum = np.zeros(n_fft // 2 + 1)
    for start in range(0, n_freqs, _BEAT_BLOCK):
        rows = rfft(power[start : start + _BEAT_BLOCK].astype(np.float64), n=n_fft, axis=1)
        spectrum_sum += (rows.real**2 + rows.imag**2).sum(axis=0)
    acf = irfft(spectrum_sum, n=n_fft)[:n_frames]
    return acf / (n_frames - np.arange(n_frames)) / n_freqs


def channel_mean_power(magnitude: np.ndarray) -> np.ndarray:
    """Mean over channels of the power, ``(freq, frames)`` float64, one channel at a time
    (no float64 or squared copy of the whole stereo spectrogram)."""
    power = np.zeros(magnitude.shape[:2])
    for ch in range(magnitude.shape[2]):
        power += np.square(magnitude[:, :, ch], dtype=np.float64)
    power /= magnitude.shape[2]
    return power


def beat_spectrum_of(magnitude: np.ndarray, frame_seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """REPET's beat spectrum of a magnitude spectrogram, with its lags in seconds (for plots).

    Parameters
    ----------
    magnitude : ndarray, shape (freq, frames, channels)
        Magnitude spectrogram.
    frame_seconds : float
        Hop in seconds (``Stft.frame_seconds``).

    Returns
    -------
    lags : ndarray, shape (frames,)
        Lag of each value in seconds (lag ``k`` frames is ``k * frame_seconds``).
    beat : ndarray, shape (frames,)
        :func:`beat_spectrum` of the channel-mean power, as :func:`repet` computes it.
    """
    beat = beat_spectrum(channel_mean_power(magnitude))
    return np.arange(len(beat)) * frame_seconds, beat


def period_bounds(
    n_frames: int, frame_seconds: float, duration: float, min_period: float, max_period: float
) -> tuple[int, int]:
    """Lag range ``[min_lag, max_lag]`` in frames for the period search.

    ``max_period`` is capped at a third of the track (so at least three repetitions
    exist), and seconds convert to frames with ``ceil``, as in nussl.
    """
    max_period = min(max_period, duration / 3)
    min_lag = max(1, math.ceil(min_period / frame_seconds))
    max_lag = min(n_frames - 1, math.ceil(max_period / frame_seconds))
    return min_lag, max_lag


def period_bounds_sisec18(
    n_frames: int, stft, duration: float, min_period: float, max_period: float
) -> tuple[int, int]:
    """nussl 0.1.6a0's lag range ``[min_lag, max_lag]`` in frames (``Repet._update_period``).

    Seconds ``s`` become ``ceil((s * rate + window_length // overlap - 1) / overlap)``
    frames, ``overlap = window_length - hop`` (the integer division is Python 2's); the
    maximum is capped at a third of the track first. At 44.1 kHz, 2048/1024: 0.8 s → 35.
    """
    overlap = stft.window_length - stft.hop
    if overlap <= 0:
        raise ValueError("the sisec18 flavour of repet converts seconds to frames with the "
                         "STFT's overlap (window_length - hop), which is 0 here; use a hop "
                         "below window_length (stft=nussl2018)")

    def frames(seconds):
        return math.ceil((seconds * stft.rate + stft.window_length // overlap - 1) / overlap)

    max_lag = min(n_frames - 1, frames(min(max_period, duration / 3)))
    return max(1, frames(min_period)), max_lag


def find_period(beat: np.ndarray, min_lag: int, max_lag: int) -> int | None:
    """The lag in ``[min_lag, max_lag]`` (inclusive) with the largest beat spectrum.

    Returns ``None`` when the range is empty (a track too short to hold three periods
    of ``min_period``). Plain argmax, no multiple-peak logic, as nussl.
    """
    if max_lag < min_lag:
        return None
    return min_lag + int(np.argmax(beat[min_lag : max_lag + 1]))


def repeating_segment(magnitude: np.ndarray, period: int) -> np.ndarray:
    """Element-wise median of the period-length segments.

    Parameters
    ----------
    magnitude : ndarray, shape (freq, frames, channels)
    period : int
        Period in frames.

    Returns
    -------
    segment : ndarray, shape (freq, period, channels)

    Notes
    -----
    Equal to nussl's NaN-padding + ``nanmedian``: the columns the last (partial) segment
    covers take the median over all segments, the rest over the full segments only. Two
    plain medians avoid nanmedian's slow path.
    """
    n_freqs, n_frames, n_channels = magnitude.shape
    n_segments = math.ceil(n_frames / period)
    if n_segments == 1:  # period ≥ track: the track is its own segment (tail unused)
        segment = np.zeros((n_freqs, period, n_channels), dtype=magnitude.dtype)
        segment[:, :n_frames] = magnitude
        return segment
    n_full = n_segments - 1
    covered = n_frames - n_full * period  # columns of the last, partial segment
    full = magnitude[:, : n_full * period].reshape(n_freqs, n_full, period, n_channels)
    last = magnitude[:, n_full * period :]
    segment = np.empty((n_freqs, period, n_channels), dtype=magnitude.dtype)
    # In blocks of rows: the stacked copy the median needs stays a fraction of the track.
    for start in range(0, n_freqs, _BEAT_BLOCK):
        rows = slice(start, start + _BEAT_BLOCK)
        stacked = np.concatenate([full[rows, :, :covered], last[rows, None]], axis=1)
        segment[rows, :covered] = np.median(stacked, axis=1, overwrite_input=True)
        if covered < period:
            segment[rows, covered:] = np.median(full[rows, :, covered:], axis=1)
    return segment


def repeating_model(magnitude: np.ndarray, period: int) -> np.ndarray:
    """Repeating background model ``min(tiled median segment, mixture)``, same shape."""
    segment = repeating_segment(magnitude, period)
    tiled = segment[:, np.arange(magnitude.shape[1]) % period]
    return np.minimum(tiled, magnitude, out=tiled)


@register("repet", flavours=("nussl", "sisec18"))
def repet(
    magnitude: np.ndarray,
    ctx: Context,
    *,
    min_period: float,
    max_period: float,
    period: float | None,
    flavour: str,
) -> Models:
    """REPET with one repeating period for the whole track.

    Parameters
    ----------
    magnitude : ndarray, shape (freq, frames, channels)
        Mixture magnitude spectrogram.
    ctx : Context
        STFT and track length.
    min_period, max_period : float or None
        Period search range in seconds; None: the flavour's (:data:`PERIOD_RANGE`, 0.8
        and 8 s); the maximum is capped at a third of the track.
    period : float, optional
        Fixed period in seconds; skips the beat spectrum search.
    flavour : {"nussl", "sisec18"}
        ``nussl`` (1.1.9): lags ``ceil(seconds / hop duration)``, segments of ``period``
        frames, models ``min(median, V)`` and the rest. ``sisec18`` (0.1.6a0, REP1): lags
        by :func:`period_bounds_sisec18`, segments of ``period + 1`` frames (nussl's
        "kluge to match MATLAB"), and nussl's mask ``(min(median, V) + 1e-16) / (V +
        1e-16)`` as ``Models.background_mask``.

    Returns
    -------
    Models
        background = ``min(median repeating segment, mixture)`` per channel with one
        shared period; foreground = the rest. ``info`` has ``period_frames``,
        ``segment_frames`` and ``period_seconds`` (NaN when the track is too short for
        any period: then the whole mixture is background, nothing repeats reliably
        enough to subtract).

    Examples
    --------
    >>> import numpy as np
    >>> from repet_bench.algorithms import Context, get_algorithm
    >>> from repet_bench.stft import Stft
    >>> v = np.random.default_rng(0).random((1025, 500, 1))  # (freq, frames, mono)
    >>> stft = Stft(2048, 1024, "hamming", convention="nussl2018")
    >>> # 1 s: ceil((44100 + 1) / 1024) = 44 frames, and nussl 0.1.6's segment is one more
    >>> models = get_algorithm("repet")(v, Context(stft, 500 * 1024), period=1.0,
    ...                                 flavour="sisec18")
    >>> models.info["period_frames"], models.info["segment_frames"]
    (44, 45)
    """
    min_period, max_period = period_range(flavour, min_period, max_period)
    frame_seconds = ctx.stft.frame_seconds
    n_frames = magnitude.shape[1]
    sisec18 = flavour == "sisec18"
    if period is not None:
        lag = (period_bounds_sisec18(n_frames, ctx.stft, math.inf, period, period)[0]
               if sisec18 else max(1, round(period / frame_seconds)))
    else:
        bounds = period_bounds_sisec18 if sisec18 else period_bounds
        beat = beat_spectrum(channel_mean_power(magnitude))
        lag = find_period(beat, *bounds(n_frames, ctx.stft if sisec18 else frame_seconds,
                                        ctx.duration, min_period, max_period))
    if lag is None:
        info = {"period_frames": -1, "segment_frames": -1, "period_seconds": float("nan")}
        if sisec18:
            return Models.from_mask(np.ones_like(magnitude), info)
        return Models(magnitude.copy(), np.zeros_like(magnitude), info)
    segment = lag + 1 if sisec18 else lag
    background = repeating_model(magnitude, segment)
    info = {"period_frames": lag, "segment_frames": segment,
            "period_seconds": lag * frame_seconds}
    if sisec18:
        return Models.from_mask(sisec18_mask(background, magnitude), info)
    return Models(background, residual(magnitude, background), info)
