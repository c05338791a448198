"""The ``rafii`` flavour: the REPET family as its author's own code computes it.

Z. Rafii's REPET-Python (github.com/zafarrafii/REPET-Python, ``repet.py`` at commit
9d33c1e, 2021-01-27) has five functions: ``original`` (REPET, Rafii & Pardo, IEEE TASLP
2013), ``extended`` (REPET on overlapping segments, same paper), ``adaptive`` (Liutkus et
al., ICASSP 2012), ``sim`` (REPET-SIM, Rafii & Pardo, ISMIR 2012) and ``simonline``
(online REPET-SIM, Rafii & Pardo, ICASSP 2013). Each returns the background signal; the
foreground is the mixture minus it. Here each is the ``rafii`` flavour of one registered
algorithm (``repet``, ``repet_extended``, ``adaptive_repet``, ``repet_sim``,
``repet_sim_online``), run on the waveform with his transform and masks, so the run's
``stft``, ``mask`` and ``phase`` do not apply (as for SiSEC's oracles).

What is his, as his indices write it:

- The STFT: a periodic Hamming window of ``2^ceil(log2(0.04 rate))`` samples (2048 at
  44.1 kHz), hop half of it, ``W/2`` zeros before the signal and enough after for a whole
  number of hops; inverse = the frames' raw inverse FFTs overlap-added, divided by the
  window's sum at the hops (1.08). That is frame for frame nussl 0.1.6a0's transform
  (:class:`repet_bench.stft.Stft` in the ``nussl2018`` convention), whose REPET was a
  port of his MATLAB code; ``scripts/compare_rafii.py`` checks it against his
  ``_stft``/``_istft``.
- Seconds to frames with ``round`` (half to even), the period range ``[1, 10]`` s, the
  period picked as ``argmax(beat[lo : min(hi, n // 3)]) + 1 + lo`` (one frame past the
  peak's lag: MATLAB's 1-based index kept), the high-pass ``mask[1 : round(cutoff * W /
  rate) + 1] = 1`` (the DC row keeps its mask), masks ``(min(model, V) + eps) / (V +
  eps)`` with ``eps = 2.2e-16`` per channel, the period or similar frames from the
  channel-mean magnitude.
- ``adaptive``'s beat spectrogram fills ``segment_step - 1`` of every ``segment_step``
  columns (Python's exclusive slice end where MATLAB's was inclusive): one frame in
  every 215 gets an all-zero beat spectrum and so the shortest period, ``lo + 1``.
  Kept, as it is what his code computes.
- ``simonline``'s buffer is compared in buffer order, not time order, and the first
  ``buffer_length`` seconds are never separated (their background is zero): kept.

Where his code fails, it does what he evidently meant (and tests say so):

- A silent frame has no direction: his cosine similarity divides by its zero norm, and a
  frame whose picks come out empty (the silent frame itself, and any frame all of whose
  candidates are within reach of a silent one) gets a NaN median that spreads through the
  masks (``sim`` on the MUSDB18 sample gives NaN). Here the NaN's effect on the picks is
  kept (no frame within ``min_distance`` of a silent one is picked, so every other frame's
  picks are his) and a frame with no similar frame takes itself (a mask of one, which on
  a silent frame changes nothing).
- ``simonline`` reads frames past the end of a signal shorter than its buffer (a NumPy
  broadcast error): here they are zeros, as the rest of his code pads. Such a track has
  no separated frame; a warning says so.
- A track too short for any period (``min_period`` beyond a third of it): his ``argmax``
  of nothing raises; here the whole mixture is background, as the other flavours do.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from scipy.ndimage import maximum_filter1d

from ..stft import Stft
from .registry import add_waveform_flavour, register
from .adaptive_repet import adaptive_model
from .repet import period_range, repeating_model
from .repet_extended import segments

log = logging.getLogger(__name__)

EPS = float(np.finfo(float).eps)
"""His masks' regulariser, ``np.finfo(float).eps``."""

# Frames per block of the similarity matrix and per gathered median: bounds temporaries
# to tens of MB on a 7-minute track (his code holds the whole T x T matrix: 2.6 GB).
_BLOCK = 256
# Values per gathered block of the similar-frame medians (~32 MB of float64, and as much
# inside np.median).
_MEDIAN_VALUES = 4_000_000


def transform(rate: int) -> Stft:
    """His STFT at ``rate`` Hz: periodic Hamming ``2^ceil(log2(0.04 rate))``, hop half.

    >>> transform(44100)
    Stft(window_length=2048, hop=1024, window='hamming', rate=44100, convention='nussl2018')
    """
    window_length = 2 ** int(np.ceil(np.log2(0.04 * rate)))
    return Stft(window_length, window_length // 2, "hamming", rate, "nussl2018")


def to_frames(seconds: float, rate: int, hop: int) -> int:
    """Seconds to frames as he converts them: ``round(seconds * rate / hop)``."""
    return int(np.round(seconds * rate / hop))


def beat_spectrum(power: np.ndarray) -> np.ndarray:
    """His ``_beatspectrum``: the unbiased autocorrelation of each row of ``power``
    ``(freq, frames)`` over time lags (FFTs of length ``2 * frames``), averaged over
    frequency; ``(frames,)``, lag 0 first.

    Rows are transformed in blocks (each row's FFT is the same alone or batched); the
    ``(frames, freq)`` autocorrelations are then averaged as his code averages them.
    """
    n_freqs, n = power.shape
    acf = np.empty((n, n_freqs))
    lags = np.arange(n, 0, -1)[:, np.newaxis]
    for start in range(0, n_freqs, _BLOCK):
        rows = power[start : start + _BLOCK].T
        spectrum = np.power(np.abs(np.fft.fft(rows, n=2 * n, axis=0)), 2)
        acf[:, start : start + _BLOCK] = np.divide(np.real(np.fft.ifft(spectrum, axis=0))[:n],
                                                   lags)
    return np.mean(acf, axis=1)


def pick_period(beat: np.ndarray, period_range: tuple[int, int]) -> np.ndarray | int | None:
    """His ``_periods``: ``argmax(beat[lo : min(hi, len // 3)]) + 1 + lo`` in frames, per
    column of a 2-D beat spectrogram ``(lags, windows)``; None when that range is empty."""
    lo, hi = period_range
    stop = min(hi, beat.shape[0] // 3)
    if stop <= lo:
        return None
    picked = np.argmax(beat[lo:stop], axis=0) + 1 + lo
    return int(picked) if beat.ndim == 1 else picked


def _high_pass(mask: np.ndarray, cutoff: float, stft: Stft) -> None:
    """His dual high-pass of the foreground: ``mask[1 : round(cutoff W / rate) + 1] = 1``."""
    mask[1 : round(cutoff * stft.window_length / stft.rate) + 1] = 1


def _mask(model: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    """His mask ``(min(model, V) + eps) / (V + eps)`` into ``model`` (already min'ed or
    not: the min is taken again)."""
    np.minimum(model, magnitude, out=model)
    model += EPS
    model /= magnitude + EPS
    return model


def _background(spec: np.ndarray, masks, stft: Stft, n_samples: int, cutoff: float) -> np.ndarray:
    """Mask the mixture STFT ``spec`` ``(freq, frames, channels)`` in place with
    ``masks(channel)`` ``(freq, frames)`` after the high-pass, and invert it:
    ``(n_samples, channels)`` float64."""
    for ch in range(spec.shape[2]):
        mask = masks(ch)
        _high_pass(mask, cutoff, stft)
        spec[:, :, ch] *= mask
    return stft.inverse(spec, n_samples)


def _estimates(mixture: np.ndarray, background: np.ndarray) -> dict:
    return {"vocals": np.subtract(mixture, background, dtype=np.float64),
            "accompaniment": background}


def _period_frames(min_period: float, max_period: float, stft: Stft) -> tuple[int, int]:
    """His ``period_range`` in frames of ``stft``."""
    return (to_frames(min_period, stft.rate, stft.hop), to_frames(max_period, stft.rate, stft.hop))


def _period_info(period: int | None, stft: Stft) -> dict:
    """``period_frames`` and ``period_seconds`` (-1 and NaN: no period)."""
    if period is None:
        return {"period_frames": -1, "period_seconds": float("nan")}
    return {"period_frames": period, "period_seconds": period * stft.hop / stft.rate}


def _original_background(mixture, rate, min_period, max_period, high_pass_cutoff):
    """His ``original`` on ``mixture`` ``(samples, channels)``: background and period."""
    stft = transform(rate)
    spec = stft.forward(mixture)
    magnitude = np.abs(spec)
    period = pick_period(beat_spectrum(np.power(np.mean(magnitude, axis=2), 2)),
                         _period_frames(min_period, max_period, stft))
    if period is None:
        return np.asarray(mixture, dtype=np.float64).copy(), None
    # One median over the same segments as his reshape (repet.repeating_model): the
    # columns the last, partial segment covers over every segment, the others over the
    # full ones.
    background = _background(
        spec, lambda ch: _mask(repeating_model(magnitude[:, :, ch : ch + 1], period)[:, :, 0],
                               magnitude[:, :, ch]),
        stft, mixture.shape[0], high_pass_cutoff)
    return background, period


def original(mixture: np.ndarray, rate: int, *, min_period: float | None,
             max_period: float | None, high_pass_cutoff: float,
             period: float | None = None) -> tuple[dict, dict]:
    """REPET-Python's ``original``: one period for the track (``repet``, ``flavour=rafii``).

    Parameters
    ----------
    mixture : ndarray, shape (samples, channels)
    rate : int
        Sample rate in Hz.
    min_period, max_period : float or None
        Period range in seconds; None: his ``period_range``, [1, 10]
        (:data:`repet.PERIOD_RANGE`).
    high_pass_cutoff : float
        Hz (his ``cutoff_frequency``, 100).
    period : None
        His code always searches; a fixed period is refused.

    Returns
    -------
    estimates : dict
        ``vocals`` = mixture - background, ``accompaniment`` = background, each
        ``(samples, channels)`` float64.
    info : dict
        ``period_frames`` (his period, frames of 1024 samples at 44.1 kHz),
        ``period_seconds``.

    Examples
    --------
    >>> import numpy as np
    >>> beat = np.tile(np.random.default_rng(0).standard_normal((44100, 1)), (12, 2))
    >>> estimates, info = original(beat, 44100, min_period=None, max_period=None,
    ...                            high_pass_cutoff=100.0)
    >>> info["period_frames"], estimates["vocals"].shape
    (44, (529200, 2))
    """
    if period is not None:
        raise ValueError("algo.period is not a parameter of REPET-Python's original (it always "
                         "searches the beat spectrum): leave it null in the rafii flavour")
    background, found = _original_background(mixture, rate,
                                              *period_range("rafii", min_period, max_period),
                                              high_pass_cutoff)
    return _estimates(mixture, background), _period_info(found, transform(rate))


def triangular_window(length: int) -> np.ndarray:
    """``scipy.signal.windows.triang(length)`` for an even ``length``, computed as scipy
    does: ``(2n - 1) / length`` for ``n = 1 .. length / 2``, then mirrored.

    >>> triangular_window(4)
    array([0.25, 0.75, 0.75, 0.25])
    """
    half = (2 * np.arange(1, length // 2 + 1) - 1.0) / length
    return np.r_[half, half[::-1]]


def extended(mixture: np.ndarray, rate: int, *, min_period: float, max_period: float,
             segment_length: float, segment_step: float,
             high_pass_cutoff: float) -> tuple[dict, dict]:
    """REPET-Python's ``extended`` (``repet_extended``, ``flavour=rafii``).

    The signal is cut into segments of ``segment_length`` seconds every ``segment_step``
    (the last runs to the end; a signal shorter than ``length + step`` is one segment);
    each is separated by :func:`original` on its own (its own STFT and period), and the
    segments' background *signals* are cross-faded over their overlaps with the halves of
    a triangular window (his ``triang(2 overlap)``), then summed.

    Returns
    -------
    estimates : dict
        As :func:`original`.
    info : dict
        ``period_frames``: the median of the segments' periods; ``segment_periods``:
        each segment's, -1 where none fits.
    """
    n_samples = mixture.shape[0]
    length, step = round(segment_length * rate), round(segment_step * rate)
    overlap = length - step
    parts = segments(n_samples, length, step)
    window = triangular_window(2 * overlap) if len(parts) > 1 else None
    background = np.zeros(mixture.shape)
    periods = []
    for j, part in enumerate(parts):
        segment, period = _original_background(mixture[part], rate, min_period, max_period,
                                               high_pass_cutoff)
        periods.append(-1 if period is None else period)
        if len(parts) == 1:
            background = segment
            continue
        if j > 0:  # fade out the signal so far and fade in this segment over the overlap
            k = part.start
            background[k : k + overlap] *= window[overlap : 2 * overlap, np.newaxis]
            segment[:overlap] *= window[:overlap, np.newaxis]
        background[part] += segment
    found = [p for p in periods if p > 0]
    info = _period_info(int(np.median(found)) if found else None, transform(rate))
    return _estimates(mixture, background), {**info, "segment_periods": periods}


def beat_spectrogram(power: np.ndarray, length: int, step: int) -> np.ndarray:
    """His ``_beatspectrogram`` of ``power`` ``(freq, frames)``: ``(length, frames)``.

    Every ``step``-th frame ``i`` gets the beat spectrum of the ``length`` frames centred
    on it (zero-padded by ``ceil((length - 1) / 2)`` before and ``floor`` after), copied
    to the next ``step - 2`` frames; the frame before the next window's keeps zeros (his
    slice ``i : i + step - 1``).
    """
    n_frames = power.shape[1]
    padded = np.pad(power, ((0, 0), (math.ceil((length - 1) / 2), (length - 1) // 2)))
    out = np.zeros((length, n_frames))
    for i in range(0, n_frames, step):
        out[:, i] = beat_spectrum(padded[:, i : i + length])
        out[:, i : min(i + step - 1, n_frames)] = out[:, i : i + 1]
    return out


def adaptive(mixture: np.ndarray, rate: int, *, min_period: float, max_period: float,
             segment_length: float, segment_step: float, filter_order: int,
             high_pass_cutoff: float) -> tuple[dict, dict]:
    """REPET-Python's ``adaptive`` (``adaptive_repet``, ``flavour=rafii``).

    A period per frame from the beat spectrogram (:func:`beat_spectrogram`, windows of
    ``segment_length`` seconds every ``segment_step``, periods capped at a third of the
    window); each frame's model is the median of the frames ``(1..order) - ceil(order /
    2)`` periods around it that exist (:func:`adaptive_repet.adaptive_model`, his
    ``_adaptivemask``).

    Returns
    -------
    estimates : dict
        As :func:`original`.
    info : dict
        ``period_frames``: the median of the frames' periods.
    """
    stft = transform(rate)
    spec = stft.forward(mixture)
    magnitude = np.abs(spec)
    length, step = (to_frames(s, rate, stft.hop) for s in (segment_length, segment_step))
    power = np.power(np.mean(magnitude, axis=2), 2)
    periods = pick_period(beat_spectrogram(power, length, step),
                          _period_frames(min_period, max_period, stft))
    if periods is None:
        return _estimates(mixture, np.asarray(mixture, np.float64).copy()), _period_info(None, stft)
    model = adaptive_model(magnitude, periods, filter_order)
    background = _background(spec, lambda ch: _mask(model[:, :, ch], magnitude[:, :, ch]),
                             stft, mixture.shape[0], high_pass_cutoff)
    return _estimates(mixture, background), _period_info(int(np.median(periods)), stft)


def unit_columns(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns of ``data`` ``(freq, frames)`` divided by their norms, as his similarity
    matrices normalise them, and which columns are silent (norm 0: his code divides 0 by
    0; here they stay zero and :func:`local_maxima` treats them as his NaNs)."""
    norms = np.sqrt(np.sum(np.power(data, 2), axis=0))
    silent = norms == 0
    norms[silent] = 1
    return data / norms, silent


def local_maxima(values: np.ndarray, minimum: float, distance: int, number: int,
                 silent: np.ndarray | None = None) -> list[np.ndarray]:
    """His ``_localmaxima`` on each column of ``values`` ``(n, columns)``: per column the
    indices ``i`` with ``values[i] >= minimum`` and strictly above every value within
    ``distance`` on either side (the slices stop at the ends), the ``number`` largest,
    largest first (his ``argsort(...)[::-1]``, so ties break as his).

    ``silent`` ``(n,)``: rows of silent frames, NaN in his similarity (0 / 0). A NaN is
    never a maximum and, as every comparison with it is false, no row within ``distance``
    of one is either: kept, so that the picks of every other frame are his."""
    if distance > 0:
        # Maxima over the windows [i - distance + 1, i] and [i, i + distance - 1] (scipy's
        # origin places the window), shifted by one: those over [i - distance, i - 1] and
        # [i + 1, i + distance]. -inf outside, as his slices stop at the ends.
        trailing = maximum_filter1d(values, distance, axis=0, mode="constant",
                                    cval=-np.inf, origin=(distance - 1) // 2)
        leading = maximum_filter1d(values, distance, axis=0, mode="constant",
                                   cval=-np.inf, origin=-(distance // 2))
        before = np.full_like(values, -np.inf)
        before[1:] = trailing[:-1]
        after = np.full_like(values, -np.inf)
        after[:-1] = leading[1:]
        peaks = (values >= minimum) & (values > before) & (values > after)
    else:
        peaks = values >= minimum
    if silent is not None and silent.any():
        near = maximum_filter1d(silent.astype(np.uint8), 2 * distance + 1, mode="constant")
        peaks &= ~near.astype(bool)[:, np.newaxis]
    picks = []
    for column in range(values.shape[1]):
        at = np.flatnonzero(peaks[:, column])
        order = np.argsort(values[at, column])[::-1][:number]
        picks.append(at[order])
    return picks


def _similar_frames_median(magnitude: np.ndarray, ch: int, picks: list, frames) -> np.ndarray:
    """The median over ``picks[i]`` of channel ``ch``'s frames, for each frame ``i`` of
    ``frames``: ``(freq, len(frames))``. Frames with as many picks are gathered together
    (his per-frame medians, the same values)."""
    out = np.empty((magnitude.shape[0], len(frames)))
    counts = np.array([len(picks[i]) for i in frames])
    for count in np.unique(counts):
        group = np.flatnonzero(counts == count)
        step = max(1, _MEDIAN_VALUES // (magnitude.shape[0] * count))
        for start in range(0, len(group), step):
            rows = group[start : start + step]
            at = np.array([picks[frames[r]] for r in rows])  # (rows, count)
            out[:, rows] = np.median(magnitude[:, at, ch], axis=2)
    return out


def sim(mixture: np.ndarray, rate: int, *, similarity_threshold: float,
        min_distance_between_frames: float, max_repeating_frames: int,
        high_pass_cutoff: float) -> tuple[dict, dict]:
    """REPET-Python's ``sim`` (``repet_sim``, ``flavour=rafii``).

    Each frame's model is the median of its similar frames: the local maxima of its row of
    the cosine self-similarity of the channel-mean magnitude, at least
    ``similarity_threshold`` (raw cosine, not rescaled), ``min_distance_between_frames``
    seconds apart (``round`` to frames: 43 at 44.1 kHz), at most
    ``max_repeating_frames`` of them, the frame itself included.

    Returns
    -------
    estimates : dict
        As :func:`original`.
    info : dict
        ``median_similar_frames``: the median number of frames each median took.
    """
    stft = transform(rate)
    spec = stft.forward(mixture)
    magnitude = np.abs(spec)
    unit, silent = unit_columns(np.mean(magnitude, axis=2))
    distance = to_frames(min_distance_between_frames, rate, stft.hop)
    n_frames = unit.shape[1]
    picks = []
    for start in range(0, n_frames, _BLOCK):  # columns of the similarity matrix in blocks
        block = np.matmul(unit.T, unit[:, start : start + _BLOCK])
        picks += local_maxima(block, similarity_threshold, distance, max_repeating_frames,
                              silent)
    # A frame with no similar frame takes itself; a silent frame's own column is all NaN
    # in his code, so it has none.
    picks = [p if len(p) and not silent[i] else np.array([i]) for i, p in enumerate(picks)]
    frames = np.arange(n_frames)

    def masks(ch):
        return _mask(_similar_frames_median(magnitude, ch, picks, frames), magnitude[:, :, ch])

    background = _background(spec, masks, stft, mixture.shape[0], high_pass_cutoff)
    return _estimates(mixture, background), {
        "median_similar_frames": float(np.median([len(p) for p in picks]))}


def simonline(mixture: np.ndarray, rate: int, *, similarity_threshold: float,
              min_distance_between_frames: float, max_repeating_frames: int,
              buffer_length: float, high_pass_cutoff: float) -> tuple[dict, dict]:
    """REPET-Python's ``simonline`` (``repet_sim_online``; ``rafii`` is its only flavour).

    Frames start at sample 0 (no padding before), every half window. A buffer holds the
    last ``buffer_length`` seconds of frames (``round`` to frames: 431 at 44.1 kHz),
    filled with the first ``buffer - 1`` frames before any output; from then on each new
    frame replaces the oldest, and its model is the median of its similar frames in the
    buffer (as :func:`sim`, the local maxima taken in buffer order, which wraps in time),
    min'ed with it. The first ``buffer - 1`` frames are not separated: the background is
    zero there and only half overlap-added in the next half window, as in his code.

    His frame ``j`` is frame ``j + 1`` of the transform (:func:`transform`, which pads
    half a window before), so the whole-track STFT masked frame by frame (zero on the
    frames he never outputs) and inverted is his overlap-add divided by 1.08.

    Returns
    -------
    estimates : dict
        As :func:`original`.
    info : dict
        ``separated_seconds``: hops of signal whose frames were separated (0 on a track
        no longer than the buffer).
    """
    stft = transform(rate)
    n_samples, hop, length = mixture.shape[0], stft.hop, stft.window_length
    spec = stft.forward(mixture)
    magnitude = np.abs(spec)
    unit, silent = unit_columns(np.mean(magnitude, axis=2))
    distance = to_frames(min_distance_between_frames, rate, hop)
    buffer = to_frames(buffer_length, rate, hop)
    his_frames = int(np.ceil((n_samples - length) / hop + 1))
    # Buffer position q holds his frame f with f % buffer == q: spectrogram frame f + 1.
    # The buffer is full before the first frame is separated, so it holds real frames only
    # (his fill loop reads past the end of a shorter signal; nothing is separated then).
    held = np.arange(1, buffer + 1)
    separated = range(buffer - 1, his_frames)
    for j in separated:
        held[j % buffer] = j + 1
        similarity = np.matmul(unit[:, held].T, unit[:, j + 1 : j + 2])
        frames = held[local_maxima(similarity, similarity_threshold, distance,
                                   max_repeating_frames, silent[held])[0]]
        if len(frames) == 0 or silent[j + 1]:  # none similar (his NaN): the frame itself
            frames = np.array([j + 1])
        for ch in range(spec.shape[2]):
            mask = _mask(np.median(magnitude[:, frames, ch], axis=1), magnitude[:, j + 1, ch])
            _high_pass(mask, high_pass_cutoff, stft)
            spec[:, j + 1, ch] *= mask
    # The frames he never outputs: before the buffer is full, and ours past his last.
    spec[:, :buffer] = 0
    spec[:, his_frames + 1 :] = 0
    if not len(separated):
        log.warning("repet_sim_online: the track (%.2f s) is no longer than its buffer "
                    "(algo.buffer_length=%s s): no frame is separated (the background is "
                    "zero, the vocals are the mixture)", n_samples / rate, buffer_length)
    background = stft.inverse(spec, n_samples)
    return _estimates(mixture, background), {
        "separated_seconds": len(separated) * hop / rate}


# The rafii flavour of each algorithm (repet_sim_online has no other).
for _name, _fn in (("repet", original), ("repet_extended", extended),
                   ("adaptive_repet", adaptive), ("repet_sim", sim)):
    add_waveform_flavour(_name, "rafii", _fn)
register("repet_sim_online", waveform={"rafii": simonline})(None)
