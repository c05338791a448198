"""REPET-SIM: REPET with a similarity matrix instead of a period.

Z. Rafii and B. Pardo, "Music/Voice Separation using the Similarity Matrix," ISMIR 2012.
Each frame is modelled by the median of the frames most similar to it. Two flavours
(shared ALGORITHMS.md): ``nussl`` follows nussl 1.1.9; ``sisec18`` follows nussl 0.1.6a0,
which made the SiSEC 2018 entry REP2 (its 43-frame minimum distance, double precision,
its mask).

The full frames × frames similarity matrix of a 7-minute track (~36 000² values) would
take 5–10 GB; only the similar frames of each row are needed, so rows are computed and
reduced in blocks and memory stays bounded whatever the track length.
"""

from __future__ import annotations


import numpy as np

from .registry import Context, Models, register, residual, sisec18_mask

# Similarity rows computed at once: (block, frames) float32, ~74 MB for a 7-minute track
# (large enough for an efficient matrix product).
_ROW_BLOCK = 512
# Width of the chunks whose running maxima make each greedy pick cost O(frames / chunk +
# chunk + window) instead of O(frames).
_CHUNK = 32
# Frames per block in the median step: its (frames, ~99) float32 buffer (1.6 MB) stays
# in cache, and numpy's per-call overhead is paid per 4096 frames.
_MEDIAN_FRAMES = 4096
# Similarity value of a frame that can no longer be picked (real cosines of
# non-negative spectra lie in [0, 1]).
_GONE = np.float32(-1.0)


def zeroed_reach(seconds: float, stft, flavour: str = "nussl") -> tuple[float, float]:
    """How far around a pick ``p`` nussl zeroes a similarity row: ``(left, right)``.

    The zeroed range is ``[floor(p - left), floor(p + right))``, clipped to the row
    (``_set_array_zero_indices``), with ``d`` the minimum distance in frames:

    - ``nussl`` (1.1.9): ``d = seconds * rate / hop``, never rounded, and the range is
      ``[p - d, p + d + 1)``: 86.13 frames for 1 s at 44.1 kHz / hop 512, so
      ``[p - 87, p + 87)``.
    - ``sisec18`` (0.1.6a0): ``d = seconds * (rate // overlap)`` (Python 2's integer
      division, ``overlap = window_length - hop``) and the range is
      ``[p - d - 1, p + d + 1)``: 43 frames for 1 s at 44.1 kHz, 2048/1024, so
      ``[p - 44, p + 44)``.
    """
    if flavour == "sisec18":
        overlap = stft.window_length - stft.hop
        if overlap <= 0:
            raise ValueError("the sisec18 flavour of repet_sim converts seconds to frames "
                             "with the STFT's overlap (window_length - hop), 0 here; use a "
                             "hop below window_length (stft=nussl2018)")
        d = seconds * (stft.rate // overlap)
        return d + 1, d + 1
    d = seconds * stft.rate / stft.hop
    return d, d + 1


def _unit_frames(magnitude: np.ndarray, n_rows: int, dtype) -> np.ndarray:
    """Frames of the channel-mean magnitude as unit vectors, ``(n_rows, freq)``.

    Rows past the last frame and silent frames are zero vectors, whose cosine with
    anything is 0 (nussl sets their inverse norm to 0 for the same reason).
    """
    n_frames = magnitude.shape[1]
    frames = np.zeros((n_rows, magnitude.shape[0]), dtype=dtype)
    frames[:n_frames] = np.mean(magnitude, axis=2, dtype=np.float64).T
    norms = np.sqrt(np.einsum("tf,tf->t", frames, frames, dtype=np.float64))
    loud = norms > 0
    frames[loud] /= norms[loud, None].astype(dtype)
    return frames


def _window(picks: np.ndarray, reach: tuple[float, float], n_frames: int):
    """nussl's zeroed range ``[lower, upper)`` around each pick (:func:`zeroed_reach`)."""
    left, right = reach
    lower = np.floor(np.maximum(picks - left, 0)).astype(np.int64)
    upper = np.floor(np.minimum(picks + right, n_frames)).astype(np.int64)
    return lower, upper


def _constant_row_picks(n_frames: int, windows, n_picks: int) -> list[int]:
    """nussl's picks for a constant similarity row (e.g. a silent frame).

    Rescaling a constant row divides 0 by 0, so the row is all NaN; ``argmax`` returns
    the first NaN, so the picks are 0 and then the first frame after each zeroed window.
    """
    picks, p = [], 0
    while p < n_frames and len(picks) < n_picks:
        picks.append(p)
        p = int(windows.upper[p])
    return picks


class _Windows:
    """nussl's zeroed window around every possible pick, tabulated once per track.

    For a pick ``p``: the window ``[lower, upper)``, the two chunks at its edges (equal
    when it fits in one), which of their columns it covers, and the chunks strictly
    inside it. Looking these up costs one gather per pick instead of a dozen array
    operations.
    """

    def __init__(self, n_frames: int, reach: tuple[float, float]):
        p = np.arange(n_frames)
        self.lower, self.upper = _window(p, reach, n_frames)
        first, last = self.lower // _CHUNK, (self.upper - 1) // _CHUNK
        self.edges = np.stack([first, last], axis=1)  # (frames, 2)
        cols = self.edges[:, :, None] * _CHUNK + np.arange(_CHUNK)
        self.covers = (cols >= self.lower[:, None, None]) & (cols < self.upper[:, None, None])
        widest = int((self.upper - self.lower).max(initial=0))
        inner = 1 + np.arange(widest // _CHUNK + 1)
        self.inner = first[:, None] + inner  # (frames, n_inner) chunk ids
        self.inner_valid = self.inner < last[:, None]


def _greedy_picks(
    sim: np.ndarray, n_frames: int, windows: _Windows, n_picks: int, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """nussl's ``find_peak_indices`` on each row of a similarity block, vectorised.

    Parameters
    ----------
    sim : ndarray, float, shape (rows, padded_frames)
        Similarity rows, C-contiguous; columns past ``n_frames`` are padding. Overwritten.
    n_frames : int
        Number of real frames.
    windows : _Windows
        The zeroed window of each pick (:func:`zeroed_reach`).
    n_picks : int
        Maximum number of picks per row.
    threshold : float
        Minimum rescaled similarity in [0, 1].

    Returns
    -------
    picks : ndarray, int64, shape (rows, n_picks)
        Picks in order, padded with -1.
    counts : ndarray, int64, shape (rows,)

    Notes
    -----
    nussl rescales each row to [0, 1], zeroes values below ``threshold``, then repeats:
    take the argmax (first index on ties), zero ``[floor(p - d), floor(p + d + 1))``
    around it, stop when the row is all zero. Rescaling is monotone, so the raw values
    give the same order; a value is pickable iff its rescaled value is positive and at
    least ``threshold``. Zeroed values are set to -1 here, and a chunk whose maximum is
    the row minimum counts as empty. To avoid scanning whole rows per pick, each chunk
    of ``_CHUNK`` columns keeps its maximum: the first chunk with the row maximum holds
    the first index of that maximum, and after zeroing a window only the chunks it
    touches are updated.
    """
    n_rows, padded = sim.shape
    real = sim[:, :n_frames]
    sim[:, n_frames:] = _GONE
    n_chunks = padded // _CHUNK
    chunk_max = np.maximum.reduceat(sim, np.arange(0, padded, _CHUNK), axis=1)
    # A value is dead (never picked) when it is at most `floor`: the row minimum (nussl
    # rescales it to 0), or -1 once zeroed. Comparing with the floor spares a pass that
    # would mark the minima.
    floor = real.min(axis=1)
    constant = chunk_max.max(axis=1) <= floor
    if threshold > 0:
        span = np.where(constant, 1, chunk_max.max(axis=1).astype(np.float64) - floor)
        dropped = (real - floor[:, None].astype(np.float64)) / span[:, None] < threshold
        real[dropped] = _GONE
        del dropped
        chunk_max = np.maximum.reduceat(sim, np.arange(0, padded, _CHUNK), axis=1)
    chunk_max[chunk_max <= floor[:, None]] = _GONE
    chunk_max[constant] = _GONE

    picks = np.full((n_rows, n_picks), -1, dtype=np.int64)
    counts = np.zeros(n_rows, dtype=np.int64)
    if constant.any():
        fixed = _constant_row_picks(n_frames, windows, n_picks)
        picks[constant, : len(fixed)] = fixed
        counts[constant] = len(fixed)

    # Flat views and row offsets: 1-D take/put is much cheaper than 2-D fancy indexing.
    flat, flat_max = sim.reshape(-1), chunk_max.reshape(-1)
    row_start = np.arange(n_rows) * padded
    row_chunk = np.arange(n_rows) * n_chunks
    rows = np.arange(n_rows)
    in_chunk = np.arange(_CHUNK)
    live = ~constant
    for k in range(n_picks):
        chunk = chunk_max.argmax(axis=1)
        segment = np.take(flat, (row_start + chunk * _CHUNK)[:, None] + in_chunk)
        best = segment.argmax(axis=1)
        live &= chunk_max[rows, chunk] > _GONE
        if not live.any():
            break
        pick = chunk * _CHUNK + best
        picks[live, k] = pick[live]
        counts += live
        # Zero the window around each pick (rows already exhausted zero one of their own:
        # harmless, and cheaper than masking). Chunks entirely inside it only get their
        # maximum set to -1: they can never be chosen again, so their values are left
        # stale and never read. The (one or two) chunks at its edges are zeroed value by
        # value and their maxima recomputed.
        inner = row_chunk[:, None] + windows.inner[pick]
        flat_max[inner[windows.inner_valid[pick]]] = _GONE
        edges = windows.edges[pick]  # (rows, 2)
        where = (row_start[:, None] + edges * _CHUNK)[:, :, None] + in_chunk
        values = np.take(flat, where)
        values[windows.covers[pick]] = _GONE
        flat[where] = values
        at = row_chunk[:, None] + edges
        # A chunk covered whole by an earlier window holds stale values: keep it gone.
        new_max = values.max(axis=2)
        flat_max[at] = np.where((np.take(flat_max, at) > _GONE) & (new_max > floor[:, None]),
                                new_max, _GONE)
    return picks, counts


def similar_frames(
    magnitude: np.ndarray,
    reach: tuple[float, float],
    max_repeating_frames: int = 100,
    similarity_threshold: float = 0.0,
    block: int = _ROW_BLOCK,
    dtype=np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """The frames similar to each frame, computed block by block.

    Parameters
    ----------
    magnitude : ndarray, shape (freq, frames, channels)
        Mixture magnitude; similarity is the cosine between frames of the channel mean.
    reach : (float, float)
        The range zeroed around each pick, in frames (:func:`zeroed_reach`).
    max_repeating_frames : int
        Picks per frame, the first of which (normally the frame itself) is dropped.
    similarity_threshold : float
        Minimum similarity, after rescaling each row to [0, 1].
    block : int
        Similarity rows computed at once; the result does not depend on it.
    dtype : numpy dtype
        Precision of the cosine similarities. float32 (default) halves the cost of the
        matrix products; picks then differ from float64 only where two similarities of a
        row are within float32 rounding (~1e-7) of each other.

    Returns
    -------
    indices : ndarray, int64, shape (frames, max_repeating_frames - 1)
        Similar frames of each frame in pick order (most similar first), padded with -1.
    counts : ndarray, int64, shape (frames,)
        Number of similar frames of each frame.
    """
    n_frames = magnitude.shape[1]
    padded = -(-n_frames // _CHUNK) * _CHUNK
    frames = _unit_frames(magnitude, padded, dtype)
    n_picks = max(int(max_repeating_frames), 0)
    windows = _Windows(n_frames, reach)
    indices = np.full((n_frames, max(n_picks - 1, 0)), -1, dtype=np.int64)
    counts = np.zeros(n_frames, dtype=np.int64)
    for start in range(0, n_frames, block):
        stop = min(start + block, n_frames)
        sim = frames[start:stop] @ frames.T  # (rows, padded): one matrix product per block
        picks, found = _greedy_picks(sim, n_frames, windows, n_picks, similarity_threshold)
        indices[start:stop] = picks[:, 1:]  # nussl drops the first pick (the frame itself)
        counts[start:stop] = np.maximum(found - 1, 0)
    return indices, counts


def similarity_model(magnitude: np.ndarray, indices: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Repeating model: per frame, the median of its similar frames, min'ed with the mixture.

    Parameters
    ----------
    magnitude : ndarray, shape (freq, frames, channels)
    indices, counts : ndarray
        From :func:`similar_frames`.

    Returns
    -------
    model : ndarray, shape (freq, frames, channels)
        A frame without similar frames is all background (its mask is ones, as
        ALGORITHMS.md has it; nussl writes a model of ones there and then takes
        ``min(model, V)``, giving ``min(1, V) / V``, which only differs on tracks too
        short to have any frame farther than ``min_distance_between_frames``).

    Notes
    -----
    The hot loop of REPET-SIM (frames × freq × ~99 values per channel). It runs one
    frequency row at a time: the row (one channel, all frames) stays in cache while its
    values at the similar frames of a block of frames are gathered with a 1-D ``take``
    and sorted in place (numpy sorts short float32 rows with SIMD kernels, faster than
    ``np.median``'s partition); the median is the middle (or the mean of the middle two,
    as ``np.median``).
    """
    n_freqs, _, n_channels = magnitude.shape
    model = magnitude.copy()
    for ch in range(n_channels):
        channel = np.ascontiguousarray(magnitude[:, :, ch])
        for n in np.unique(counts[counts > 0]):
            frames = np.flatnonzero(counts == n)
            for start in range(0, len(frames), _MEDIAN_FRAMES):
                group = frames[start : start + _MEDIAN_FRAMES]
                picks = indices[group, :n]
                values = np.empty(picks.shape, dtype=magnitude.dtype)
                median = np.empty((n_freqs, len(group)), dtype=magnitude.dtype)
                for f in range(n_freqs):
                    np.take(channel[f], picks, out=values, mode="clip")  # valid: skip checks
                    values.sort(axis=1)
                    if n % 2:
                        median[f] = values[:, n // 2]
                    else:
                        np.add(values[:, n // 2 - 1], values[:, n // 2], out=median[f])
                        median[f] /= 2
                model[:, group, ch] = np.minimum(median, channel[:, group])
    return model


@register("repet_sim", flavours=("nussl", "sisec18"))
def repet_sim(
    magnitude: np.ndarray,
    ctx: Context,
    *,
    similarity_threshold: float,
    min_distance_between_frames: float,
    max_repeating_frames: int,
    flavour: str,
) -> Models:
    """REPET-SIM: each frame modelled by the median of the frames most similar to it.

    Parameters
    ----------
    magnitude : ndarray, shape (freq, frames, channels)
        Mixture magnitude spectrogram.
    ctx : Context
        STFT (rate and hop convert seconds to frames).
    similarity_threshold : float
        Minimum cosine similarity, after rescaling each row to [0, 1] (nussl: 0).
    min_distance_between_frames : float
        Minimum distance in seconds between two similar frames (nussl: 1 s).
    max_repeating_frames : int
        Frames picked per frame, the frame itself included and then dropped (nussl: 100).
    flavour : {"nussl", "sisec18"}
        ``nussl`` (1.1.9): similarities in single precision, picks zeroing
        ``[p - 87, p + 87)`` at 1 s / hop 512, a frame without similar frames is all
        background. ``sisec18`` (0.1.6a0, REP2): double precision, ``[p - 44, p + 44)`` at
        1 s / hop 1024 (:func:`zeroed_reach`), a frame without similar frames gets the
        model ``min(1, V)``, and nussl's mask ``(model + 1e-16) / (V + 1e-16)`` as
        ``Models.background_mask``.

    Returns
    -------
    Models
        background = ``min(median of the similar frames, mixture)`` per channel, with the
        similar frames found once on the channel mean; foreground = the rest. ``info``
        has the mean number of similar frames and the number of frames without any.

    Examples
    --------
    >>> import numpy as np
    >>> from repet_bench.algorithms import Context, get_algorithm
    >>> from repet_bench.stft import Stft
    >>> v = np.random.default_rng(0).random((1025, 300, 2))
    >>> stft = Stft(2048, 1024, "hamming", convention="nussl2018")
    >>> models = get_algorithm("repet_sim")(v, Context(stft, 300 * 1024), flavour="sisec18")
    >>> models.background_mask.shape, models.info["frames_without_similar"]
    ((1025, 300, 2), 0)

    References
    ----------
    Z. Rafii and B. Pardo, "Music/Voice Separation using the Similarity Matrix,"
    ISMIR 2012.
    """
    sisec18 = flavour == "sisec18"
    reach = zeroed_reach(min_distance_between_frames, ctx.stft, flavour)
    indices, counts = similar_frames(magnitude, reach, max_repeating_frames,
                                     similarity_threshold,
                                     dtype=np.float64 if sisec18 else np.float32)
    background = similarity_model(magnitude, indices, counts)
    info = {"mean_similar_frames": float(counts.mean()) if counts.size else 0.0,
            "frames_without_similar": int((counts == 0).sum())}
    if sisec18:
        alone = counts == 0
        background[:, alone] = np.minimum(1, magnitude[:, alone])
        return Models.from_mask(sisec18_mask(background, magnitude), info)
    return Models(background, residual(magnitude, background), info)
