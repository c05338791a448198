"""REPET extended: REPET on overlapping windows, each with its own period.

Z. Rafii and B. Pardo, "REpeating Pattern Extraction Technique (REPET): A Simple Method
for Music/Voice Separation," IEEE TASLP 21(1), 2013 (Section on longer excerpts: REPET
applied along time on windows). Not a SiSEC 2018 entry, and not in nussl.

Two flavours:

``nussl`` (the default; this module)
    repet_bench's own variant on nussl 1.1.9's conventions: the run's STFT (sqrt-Hann
    2048 / hop 512 by default), REPET's ``min(median, V)`` models per window with the
    period found as nussl's REPET finds it, the windows' *magnitude models* cross-faded
    in the STFT domain with Rafii's triangular ramps, and the run's mask and phase. Its
    segmentation and defaults are Rafii's; its numbers are not his (6 dB apart on the
    sample).
``rafii``
    Z. Rafii's REPET-Python ``extended`` exactly (:func:`repet_bench.algorithms.rafii.extended`):
    each segment separated on its own with his STFT and masks, the background *signals*
    cross-faded. The run's STFT, mask and phase do not apply.
"""

from __future__ import annotations

import numpy as np

from .registry import Context, Models, register, residual
from .repet import beat_spectrum, channel_mean_power, find_period, period_bounds, repeating_model


def segments(n_frames: int, length: int, step: int) -> list[slice]:
    """Rafii's segmentation: windows of ``length`` every ``step``, the last one longer.

    A track shorter than ``length + step`` is a single segment. Otherwise there are
    ``1 + (n_frames - length) // step`` windows and the last one runs to the end.
    """
    if n_frames < length + step:
        return [slice(0, n_frames)]
    count = 1 + (n_frames - length) // step
    return [slice(i * step, i * step + length if i < count - 1 else n_frames) for i in range(count)]


def crossfade_weights(parts: list[slice], n_frames: int) -> list[np.ndarray]:
    """Weight of each segment over its frames, summing to one over the track.

    Each segment ramps up over its overlap with the previous one and down over its
    overlap with the next, with the complementary halves of a triangular window
    (``(2n + 1) / (2 overlap)``, as Rafii's ``triang(2 overlap)``); elsewhere 1. With the
    default step of half a window the ramps already sum to one; other steps are
    normalised.
    """
    weights = []
    for i, part in enumerate(parts):
        w = np.ones(part.stop - part.start)
        if i > 0:
            overlap = parts[i - 1].stop - part.start
            if overlap > 0:
                w[:overlap] = np.minimum(w[:overlap], (2 * np.arange(overlap) + 1) / (2 * overlap))
        if i < len(parts) - 1:
            overlap = part.stop - parts[i + 1].start
            if overlap > 0:
                ramp = (2 * np.arange(overlap)[::-1] + 1) / (2 * overlap)
                w[-overlap:] = np.minimum(w[-overlap:], ramp)
        weights.append(w)
    total = np.zeros(n_frames)
    for part, w in zip(parts, weights):
        total[part] += w
    return [w / total[part] for part, w in zip(parts, weights)]


@register("repet_extended", flavours=("nussl",))
def repet_extended(
    magnitude: np.ndarray,
    ctx: Context,
    *,
    min_period: float,
    max_period: float,
    segment_length: float,
    segment_step: float,
    flavour: str = "nussl",
) -> Models:
    """REPET per overlapping window, models cross-faded (the ``nussl`` flavour; ``rafii``
    runs :func:`repet_bench.algorithms.rafii.extended` instead).

    Parameters
    ----------
    magnitude : ndarray, shape (freq, frames, channels)
        Mixture magnitude spectrogram.
    ctx : Context
        STFT (hop in seconds).
    min_period, max_period : float
        Period range in seconds (Rafii: [1, 10] s), capped at a third of each window.
    segment_length, segment_step : float
        Window length and hop in seconds (Rafii: 10 s and 5 s; the last window takes
        the rest of the track, so it may be up to one step longer).

    Returns
    -------
    Models
        background = per window, REPET's ``min(median repeating segment, mixture)``
        with that window's period, cross-faded; foreground = the rest. ``info`` has each
        window's start and period in seconds (NaN where the window is too short for any
        period: it is then all background, as in REPET).

    References
    ----------
    Z. Rafii and B. Pardo, "REpeating Pattern Extraction Technique (REPET): A Simple
    Method for Music/Voice Separation," IEEE TASLP 21(1), 2013.
    """
    frame_seconds = ctx.stft.frame_seconds
    n_frames = magnitude.shape[1]
    length = max(1, round(segment_length / frame_seconds))
    step = max(1, round(segment_step / frame_seconds))
    parts = segments(n_frames, length, step)
    background = np.zeros_like(magnitude)
    periods = []
    for part, weight in zip(parts, crossfade_weights(parts, n_frames)):
        window = magnitude[:, part]
        n = part.stop - part.start
        lag = find_period(beat_spectrum(channel_mean_power(window)), *period_bounds(
            n, frame_seconds, n * frame_seconds, min_period, max_period))
        model = window if lag is None else repeating_model(window, lag)
        background[:, part] += model * weight[:, None].astype(magnitude.dtype)
        periods.append(float("nan") if lag is None else lag * frame_seconds)
    # A cross-faded model can exceed the mixture only by rounding; REPET's W <= V holds.
    np.minimum(background, magnitude, out=background)
    info = {"periods_seconds": periods,
            "segment_starts_seconds": [p.start * frame_seconds for p in parts]}
    return Models(background, residual(magnitude, background), info)
