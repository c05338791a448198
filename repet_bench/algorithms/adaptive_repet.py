"""Adaptive REPET: a repeating period per frame, tracked with a beat spectrogram.

A. Liutkus, Z. Rafii, R. Badeau, B. Pardo and G. Richard, "Adaptive Filtering for
Music/Voice Separation Exploiting the Repeating Musical Structure," IEEE ICASSP 2012.
Not a SiSEC 2018 entry, and not in nussl. Two flavours:

``nussl`` (the default; this module)
    repet_bench's own variant on nussl 1.1.9's conventions: the run's STFT, nussl's
    period search per window (windows shifted inside the track at its edges), the median
    filter of Rafii's ``adaptivemask`` as models, and the run's mask and phase. Its
    defaults and filter layout are Rafii's; its numbers are not his (7 dB apart on the
    sample).
``rafii``
    Z. Rafii's REPET-Python ``adaptive`` exactly (:func:`repet_bench.algorithms.rafii.adaptive`),
    his STFT, zero-padded beat spectrogram and masks. The run's STFT, mask and phase do
    not apply.

The beat spectrum is computed over windows sliding along the track (a beat spectrogram),
each window gives the period around it, and every frame is modelled by the median of
the frames one, two, ... periods before and after it.
"""

from __future__ import annotations

import math

import numpy as np

from .registry import Context, Models, register, residual
from .repet import beat_spectrum, channel_mean_power, find_period, period_bounds

# Values per gathered block in the median filter (bounds its temporary to ~16 MB).
_MEDIAN_VALUES = 4_000_000


def _window(center: int, length: int, n_frames: int) -> slice:
    """``length`` frames centred on ``center``, shifted inside the track at its edges."""
    start = center - length // 2
    start = min(max(start, 0), max(n_frames - length, 0))
    return slice(start, min(start + length, n_frames))


def beat_spectrogram_periods(
    power: np.ndarray, frame_seconds: float, segment_length: float, segment_step: float,
    min_period: float, max_period: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Repeating period of each window of the beat spectrogram.

    Parameters
    ----------
    power : ndarray, shape (freq, frames)
        Power spectrogram (channels averaged).
    frame_seconds : float
        Hop in seconds.
    segment_length, segment_step : float
        Window length and hop of the beat spectrogram, in seconds.
    min_period, max_period : float
        Period search range in seconds; the maximum is capped at a third of the window.

    Returns
    -------
    centers : ndarray, int, shape (windows,)
        Centre frame of each window: ``0, step, 2 step, ...``.
    periods : ndarray, int, shape (windows,)
        Period in frames of each window, -1 where none fits (window shorter than three
        minimum periods).

    Notes
    -----
    Windows at the edges are shifted to lie inside the track rather than zero-padded as
    in Rafii's code: the beat spectrum's normalisation by the number of overlapping
    terms assumes no padding, and padding biases edge windows towards short periods.
    """
    n_frames = power.shape[1]
    length = max(1, round(segment_length / frame_seconds))
    step = max(1, round(segment_step / frame_seconds))
    centers = np.arange(0, n_frames, step)
    periods = np.full(len(centers), -1, dtype=np.int64)
    for i, center in enumerate(centers):
        window = _window(int(center), length, n_frames)
        n = window.stop - window.start
        bounds = period_bounds(n, frame_seconds, n * frame_seconds, min_period, max_period)
        lag = find_period(beat_spectrum(power[:, window]), *bounds)
        periods[i] = -1 if lag is None else lag
    return centers, periods


def adaptive_model(magnitude: np.ndarray, frame_periods: np.ndarray, filter_order: int) -> np.ndarray:
    """Median filter along each frame's period, min'ed with the mixture.

    Parameters
    ----------
    magnitude : ndarray, shape (freq, frames, channels)
    frame_periods : ndarray, int, shape (frames,)
        Period of each frame in frames; -1: no period (the frame is all background).
    filter_order : int
        Number of frames in the median: offsets ``(1..order) - ceil(order / 2)`` periods
        (5 → -2..2, 4 → -1..2), as Rafii's ``adaptivemask``; offsets falling outside
        the track are dropped.

    Returns
    -------
    model : ndarray, shape (freq, frames, channels)
    """
    n_freqs, n_frames, n_channels = magnitude.shape
    model = magnitude.copy()
    offsets = np.arange(1, filter_order + 1) - math.ceil(filter_order / 2)
    frames = np.flatnonzero(frame_periods > 0)
    neighbours = frames[:, None] + offsets * frame_periods[frames, None]  # (frames, order)
    valid = (neighbours >= 0) & (neighbours < n_frames)
    counts = valid.sum(axis=1)
    # Valid offsets of a frame are contiguous; sorting with out-of-range set past the end
    # puts them first.
    neighbours = np.sort(np.where(valid, neighbours, n_frames), axis=1)
    for n in np.unique(counts):
        group = np.flatnonzero(counts == n)
        step = max(1, _MEDIAN_VALUES // (n_freqs * n * n_channels))
        for start in range(0, len(group), step):
            rows = group[start : start + step]
            gathered = np.take(magnitude, neighbours[rows, :n], axis=1)  # (freq, rows, n, ch)
            at = frames[rows]
            model[:, at] = np.minimum(np.median(gathered, axis=2), magnitude[:, at])
    return model


@register("adaptive_repet", flavours=("nussl",))
def adaptive_repet(
    magnitude: np.ndarray,
    ctx: Context,
    *,
    min_period: float,
    max_period: float,
    segment_length: float,
    segment_step: float,
    filter_order: int,
    flavour: str = "nussl",
) -> Models:
    """Adaptive REPET with a period per beat-spectrogram window (the ``nussl`` flavour;
    ``rafii`` runs :func:`repet_bench.algorithms.rafii.adaptive` instead).

    Parameters
    ----------
    magnitude : ndarray, shape (freq, frames, channels)
        Mixture magnitude spectrogram.
    ctx : Context
        STFT (hop in seconds).
    min_period, max_period : float
        Period range in seconds (Rafii: [1, 10] s), capped at a third of the window.
    segment_length, segment_step : float
        Beat-spectrogram window and hop in seconds (Rafii: 10 s and 5 s). A frame takes
        the period of the window centred at or before it (within one step).
    filter_order : int
        Frames in the median filter (Rafii: 5, i.e. -2..2 periods around the frame).

    Returns
    -------
    Models
        background = ``min(median over the frames t + k p(t), mixture)`` per channel;
        foreground = the rest. ``info`` has the centre and the period of each window in
        seconds (NaN where none fits).

    References
    ----------
    A. Liutkus, Z. Rafii, R. Badeau, B. Pardo and G. Richard, "Adaptive Filtering for
    Music/Voice Separation Exploiting the Repeating Musical Structure," ICASSP 2012.
    """
    frame_seconds = ctx.stft.frame_seconds
    power = channel_mean_power(magnitude)
    centers, periods = beat_spectrogram_periods(power, frame_seconds, segment_length,
                                                segment_step, min_period, max_period)
    del power
    # Each frame takes the period of the last window centred at or before it.
    window = np.searchsorted(centers, np.arange(magnitude.shape[1]), side="right") - 1
    background = adaptive_model(magnitude, periods[window], int(filter_order))
    info = {"periods_seconds": [float(p * frame_seconds) if p > 0 else float("nan")
                                for p in periods.tolist()],
            "window_centers_seconds": [c * frame_seconds for c in centers.tolist()]}
    return Models(background, residual(magnitude, background), info)
