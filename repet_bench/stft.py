"""STFT and inverse STFT on :class:`scipy.signal.ShortTimeFFT`, in two conventions.

Spectrograms are ``(freq, frames, channels)`` everywhere in repet_bench; audio is
``(samples, channels)`` as musdb returns it. Two conventions exist because the two nussl
versions that matter frame and invert differently (shared ALGORITHMS.md):

``nussl`` (nussl 1.1.9, the default)
    ``scipy.signal.stft`` with ``boundary="zeros", padded=True``: frame ``p`` is centred
    on sample ``p * hop`` for ``p = 0 .. ceil(n / hop)`` (two frames fewer than
    ``ShortTimeFFT``'s full grid, which also has the frames centred at ``-hop`` and one
    hop past the end). Inverse: ``scipy.signal.istft``'s least-squares overlap-add,
    normalised by the squared windows of the frames present. Single precision.
``nussl2018`` (nussl 0.1.6a0, which made the SiSEC 2018 entries)
    The signal is zero-padded with ``ceil(overlap / hop) * hop`` samples before and up to
    ``ceil(n / hop) * hop + overlap`` samples after; frame ``k`` starts at ``k * hop`` of
    the padded signal, ``ceil((len(padded) - overlap) / hop)`` frames. Inverse: the raw
    inverse FFT of each frame overlap-added *without* a synthesis window, divided sample by
    sample by the overlap-added analysis windows (zeros replaced by 1e-16). It rebuilds an
    unmodified STFT exactly but inverts a masked one differently from least squares.
    Double precision, as nussl computed.

Both use ``ShortTimeFFT``'s frames, windows and dual windows; only the frame range, the dual
window and the normalisation differ. Its per-frame Python loops are replaced by batched FFTs
that give the same values bit for bit (:meth:`Stft._frames_fft`, :meth:`Stft._overlap_add`).

``scipy.signal`` is imported only for the rare inverse whose hop does not divide the
window: importing it costs ~1.7 s (it imports ``scipy.stats``), in every process and
worker, more than the STFT of a whole track. The few facts this module needs from it (the
periodic windows, the canonical dual window, the first slice index) are restated here and
tested bit for bit against it (``tests/test_stft.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view

# Periodic windows as scipy.signal.get_window(name, m, fftbins=True) computes them: the
# weights of a sum of cosines (scipy's general_cosine), sqrt_hann being hann's square root.
_COSINE_WEIGHTS = {"hann": (0.5, 1.0 - 0.5), "hamming": (0.54, 1.0 - 0.54),
                   "blackman": (0.42, 0.50, 0.08)}
WINDOWS = ("sqrt_hann", *_COSINE_WEIGHTS)
CONVENTIONS = ("nussl", "nussl2018")
# Frames per batched FFT: its complex128 temporaries are then a few MB (2048-point FFT).
FRAME_CHUNK = 256
# Frequency rows per block when transposing a chunk into the spectrogram's layout.
_FREQ_BLOCK = 64
# Samples per block when normalising the inverse: bounds the index temporaries.
_SAMPLE_CHUNK = 1 << 20
# nussl 0.1.6a0's constants.EPSILON: its stand-in for a zero window sum here, and the
# regulariser of its REPET family's masks (algorithms.registry.sisec18_mask).
NUSSL2018_EPSILON = 1e-16


@dataclass(frozen=True)
class Stft:
    """A configured STFT.

    Parameters
    ----------
    window_length : int
        Window (and FFT) length in samples.
    hop : int
        Hop size in samples.
    window : str
        ``sqrt_hann`` (nussl 1.1.9's default) or any periodic window name of
        :func:`scipy.signal.get_window` listed in :data:`WINDOWS` (``hamming``: nussl
        0.1.6's default).
    rate : int
        Sample rate in Hz.
    convention : {"nussl", "nussl2018"}
        Frame grid, inverse and precision (see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((44100, 2))
    >>> stft = Stft(2048, 1024, "hamming", convention="nussl2018")
    >>> spec = stft.forward(x)
    >>> spec.shape, spec.dtype
    ((1025, 45, 2), dtype('complex128'))
    >>> bool(np.allclose(stft.inverse(spec, len(x)), x))
    True
    """

    window_length: int = 2048
    hop: int = 512
    window: str = "sqrt_hann"
    rate: int = 44100
    convention: str = "nussl"

    def __post_init__(self):
        if self.window not in WINDOWS:
            raise ValueError(f"stft.window={self.window!r} is unknown; use one of {WINDOWS}")
        if self.convention not in CONVENTIONS:
            raise ValueError(f"stft.convention={self.convention!r} is unknown; "
                             f"use one of {CONVENTIONS}")
        if not 0 < self.hop <= self.window_length:
            raise ValueError(
                f"stft.hop={self.hop} must be in 1..stft.window_length ({self.window_length})"
            )
        if self.convention == "nussl2018" and self._first_frame % 1:
            raise ValueError(
                f"stft.convention=nussl2018 with window_length={self.window_length} and "
                f"hop={self.hop}: nussl 0.1.6's frames do not fall on this hop grid; use a "
                "hop that divides window_length / 2 (the 2018 default is window_length / 2)")
        self._dual  # an STFT that cannot be inverted fails here, not after a separation

    @classmethod
    def from_config(cls, cfg, rate: int) -> "Stft":
        """The transform of an ``stft`` config (a mapping with its keys) at ``rate`` Hz."""
        return cls(int(cfg["window_length"]), int(cfg["hop"]), cfg["window"], int(rate),
                   cfg.get("convention", "nussl"))

    @cached_property
    def _window(self) -> np.ndarray:
        """The periodic window, float64 (``scipy.signal.get_window(..., fftbins=True)``)."""
        if self.window == "sqrt_hann":
            return np.sqrt(periodic_window("hann", self.window_length))
        return periodic_window(self.window, self.window_length)

    @cached_property
    def _analysis(self) -> np.ndarray:
        """The window the frames are multiplied by: float64 for ``nussl2018`` (nussl
        computed in double), else float32 (nussl 1.1.9 passed a float32 window)."""
        return self._window if self.convention == "nussl2018" else self._window.astype(np.float32)

    @cached_property
    def _dual(self) -> np.ndarray:
        """The synthesis window of the overlap-add. ``nussl2018``: ones, so the inverse is
        the raw overlap-add of the frames' inverse FFTs, which nussl 0.1.6 then divides by
        the window sum; else the canonical dual window (least squares)."""
        if self.convention == "nussl2018":
            return np.ones(self.window_length)
        return canonical_dual_window(self._analysis, self.hop)

    @property
    def _mid(self) -> int:
        """The sample of a frame its time refers to (``ShortTimeFFT.m_num_mid``)."""
        return self.window_length // 2

    @property
    def _p_min(self) -> int:
        """``ShortTimeFFT.p_min``: the first slice index whose frame overlaps sample 0 (the
        windows here are nonzero at their last sample, so only their length counts)."""
        return 1 - math.ceil((self.window_length - self._mid) / self.hop)

    @cached_property
    def _fft(self):
        """scipy's ``ShortTimeFFT`` of this transform, for the inverse whose hop does not
        divide the window (imported here: see the module docstring)."""
        from scipy.signal import ShortTimeFFT

        return ShortTimeFFT(self._analysis, self.hop, self.rate, fft_mode="onesided",
                            dual_win=self._dual)

    @property
    def complex_dtype(self):
        """complex128 for ``nussl2018`` (nussl computed in double), else complex64."""
        return np.complex128 if self.convention == "nussl2018" else np.complex64

    @property
    def real_dtype(self):
        """The dtype of magnitudes and of the inverse's audio."""
        return np.float64 if self.convention == "nussl2018" else np.float32

    @property
    def spectrum_scale(self) -> float:
        """Sum of the analysis window: ``scipy.signal.stft`` (nussl 1.1.9) divides its
        spectrum by it, this class does not."""
        return float(self._window.sum())

    @property
    def n_freqs(self) -> int:
        return self.window_length // 2 + 1

    @property
    def frame_seconds(self) -> float:
        """Duration of one hop in seconds."""
        return self.hop / self.rate

    @property
    def freqs(self) -> np.ndarray:
        """Bin centre frequencies in Hz, shape ``(freq,)``."""
        return scipy.fft.rfftfreq(self.window_length, 1 / self.rate)

    @property
    def _overlap(self) -> int:
        return self.window_length - self.hop

    @property
    def _pad_before(self) -> int:
        """nussl 0.1.6's leading zeros (``_add_zero_padding``)."""
        if self._overlap >= self.hop:
            return math.ceil(self._overlap / self.hop) * self.hop
        return self.hop

    @property
    def _first_frame(self) -> float:
        """ShortTimeFFT slice index of the first frame (``p = 0`` is centred on sample 0)."""
        if self.convention == "nussl2018":
            # Frame k spans [k * hop - before, ... + window_length) of the input.
            return (self.window_length // 2 - self._pad_before) / self.hop
        return 0

    def n_frames(self, n_samples: int) -> int:
        """Number of frames of a signal of ``n_samples`` samples."""
        if self.convention == "nussl2018":
            after = math.ceil(n_samples / self.hop) * self.hop + self._overlap - n_samples
            extra = self._overlap if self._overlap >= self.hop else self.window_length
            frames = math.ceil((self._pad_before + n_samples + after - extra) / self.hop)
            return frames + (1 if self._overlap == 0 else 0)
        return math.ceil(n_samples / self.hop) + 1

    def forward(self, audio: np.ndarray, single: bool = False, frames_first: bool = False) -> np.ndarray:
        """Complex STFT of ``audio`` ``(samples, channels)`` → ``(freq, frames, channels)``.

        The result is :attr:`complex_dtype`. scipy computes in complex128, so frames are
        transformed in chunks of :data:`FRAME_CHUNK` (every channel in one FFT call): the
        temporary stays a few MB instead of twice the size of the result.

        ``single=True`` computes the FFTs in float32 (about 2x faster) and returns
        complex64: within float32 rounding of the exact transform (~1e-7 of the largest
        value), not bit for bit scipy's. For iterations whose result is never compared
        with another implementation's bits (Griffin-Lim, :mod:`repet_bench.phase`).

        ``frames_first=True`` returns the FFTs' own layout, ``(frames, channels, freq)``,
        which :meth:`inverse` takes back with ``frames_first=True``: iterations that go
        back and forth (Griffin-Lim) are spared two transposed copies of the spectrogram
        per iteration (~20 % of one). The values are the same.
        """
        if single:
            return self._transform(audio, np.complex64, compute=np.float32, frames_first=frames_first)
        return self._transform(audio, self.complex_dtype, frames_first=frames_first)

    def _transform(self, audio: np.ndarray, dtype, finish=None, compute=np.float64,
                   frames_first: bool = False) -> np.ndarray:
        audio = np.asarray(audio)
        if audio.ndim != 2 or audio.shape[0] < self.window_length:
            raise ValueError(
                f"audio of shape {audio.shape} is too short for the STFT: it needs "
                f"(samples, channels) with at least stft.window_length={self.window_length} samples"
            )
        first = int(self._first_frame)
        stop = first + self.n_frames(audio.shape[0])
        shape = (stop - first, audio.shape[1], self.n_freqs)
        out = np.empty(shape if frames_first else (shape[2], shape[0], shape[1]), dtype=dtype)
        for p0 in range(first, stop, FRAME_CHUNK):
            p1 = min(p0 + FRAME_CHUNK, stop)
            chunk = self._frames_fft(audio, p0, p1, compute)  # (frames, channels, freq)
            if finish is not None:
                chunk = finish(chunk)
            if frames_first:
                out[p0 - first : p1 - first] = chunk
                continue
            # (frames, ch, freq) -> (freq, frames, ch), cast on the way, in blocks of rows:
            # a transposed copy of the whole chunk at once thrashes the cache (2x slower).
            for f0 in range(0, self.n_freqs, _FREQ_BLOCK):
                out[f0 : f0 + _FREQ_BLOCK, p0 - first : p1 - first] = (
                    chunk[..., f0 : f0 + _FREQ_BLOCK].transpose(2, 0, 1))
        return out

    def _frames_fft(self, audio: np.ndarray, p0: int, p1: int, compute=np.float64) -> np.ndarray:
        """``ShortTimeFFT.stft`` of every channel of ``audio`` ``(samples, channels)`` over
        slices ``p0 .. p1``, as ``(p1 - p0, channels, freq)`` complex128 (``compute``
        float64) or complex64 (float32: the same steps in single precision).

        The same operations on the same values (zero padding, float64 window product,
        the roll that centres each frame on its middle sample, ``scipy.fft.rfft``), so the
        result is bit for bit scipy's (tested); but all frames and channels of the chunk in
        one FFT call, where scipy loops over frames in Python.
        """
        window, m, hop, mid = self._analysis, self.window_length, self.hop, self._mid
        start = p0 * hop - mid  # first sample of frame p0
        stop = start + (p1 - p0 - 1) * hop + m
        padded = np.zeros((audio.shape[1], stop - start), compute)
        lo, hi = max(start, 0), min(stop, len(audio))
        if lo < hi:
            padded[:, lo - start : hi - start] = audio[lo:hi].T
        frames = sliding_window_view(padded, m, axis=-1)[:, ::hop].swapaxes(0, 1)
        # Windowed and rolled by -mid (ShortTimeFFT's phase_shift=0) in one pass.
        window = window.astype(compute, copy=False)
        rolled = np.empty(frames.shape, compute)
        np.multiply(frames[..., mid:], window[mid:], out=rolled[..., : m - mid])
        np.multiply(frames[..., :mid], window[:mid], out=rolled[..., m - mid :])
        return scipy.fft.rfft(rolled, n=m, axis=-1)

    def magnitude(self, audio: np.ndarray) -> np.ndarray:
        """``|STFT|`` of ``audio`` as :attr:`real_dtype`, without the complex spectrogram.

        For signals whose phase is never needed (the oracles' references): the complex
        result would be twice the size of the magnitude, so it is taken chunk by chunk.
        """
        return self._transform(audio, self.real_dtype, np.abs)

    def inverse(self, spec: np.ndarray, n_samples: int, single: bool = False,
                frames_first: bool = False) -> np.ndarray:
        """Inverse STFT of ``(freq, frames, channels)`` → real ``(n_samples, channels)``.

        The frames must be those :meth:`forward` gives for ``n_samples`` samples.
        ``single=True`` (when the hop divides the window) overlap-adds in float32 instead of
        float64: within float32 rounding of the exact inverse, for the same iterations as
        ``forward(single=True)``. ``frames_first=True``: ``spec`` is ``(frames, channels,
        freq)``, as ``forward(frames_first=True)`` gives it.
        """
        if not frames_first:
            spec = spec.transpose(1, 2, 0)  # a view: the chunks are copied out of it below
        if spec.shape[0] != self.n_frames(n_samples):
            raise ValueError(f"a spectrogram of {spec.shape[0]} frames cannot be inverted to "
                             f"{n_samples} samples: the STFT gives {self.n_frames(n_samples)}")
        # ShortTimeFFT takes the first frame of `spec` as its slice p_min; ours is slice
        # `_first_frame`, so its time axis is shifted by that many hops.
        shift = int(self._first_frame - self._p_min) * self.hop
        if self.window_length % self.hop:
            # scipy's istft loops over frames in Python: all channels in one call halves
            # that overhead, and its temporaries are per frame, so memory does not grow.
            planar = self._fft.istft(spec.transpose(1, 2, 0), k0=-shift,
                                     k1=n_samples - shift, f_axis=-2, t_axis=-1)
        else:
            planar = self._overlap_add(spec, n_samples, np.float32 if single else np.float64)
        # (channels, samples) -> (samples, channels), cast in the same pass.
        audio = np.empty((n_samples, spec.shape[1]), self.real_dtype)
        audio[...] = planar.T
        del planar
        # The gain that turns ShortTimeFFT's sum into this convention's normalisation.
        if self.convention == "nussl2018":
            for start in range(0, n_samples, _SAMPLE_CHUNK):
                rows = slice(start, min(start + _SAMPLE_CHUNK, n_samples))
                audio[rows] /= self._frame_sum(np.arange(rows.start, rows.stop), self._window,
                                               n_samples)[:, None]
        else:
            # Least squares over the frames present, as scipy.signal.istft: ShortTimeFFT's
            # dual window assumes the frames before 0 and past the end exist too, which
            # changes the normalisation within one window of either end only.
            squared = self._analysis.astype(np.float64) ** 2
            ends = {(0, min(self.window_length, n_samples)),
                    (max(0, n_samples - self.window_length), n_samples)}
            for start, stop in ends:
                rows, t = slice(start, stop), np.arange(start, stop)
                every = self._frame_sum(t, squared, n_samples, every_frame=True)
                audio[rows] *= (every / self._frame_sum(t, squared, n_samples))[:, None]
        return audio

    def _overlap_add(self, spec: np.ndarray, n_samples: int, compute=np.float64) -> np.ndarray:
        """``ShortTimeFFT.istft`` of ``spec`` over samples ``0 .. n_samples``, as
        ``(channels, n_samples)`` ``compute`` (float64: bit for bit scipy; float32: the same
        steps in single precision, ``spec`` then complex64), when the hop divides the window.
        ``spec`` is ``(frames, channels, freq)`` (a transposed view of the usual layout is
        copied chunk by chunk; a C-contiguous one is read in place).

        scipy adds each frame's inverse FFT (times the dual window) into the signal in a
        Python loop over frames; here the frames of a chunk are inverted in one call and
        added hop-sized segment by segment. Each sample still receives its frames in
        scipy's order (earliest first) from the same values, so the sums are bit for bit
        scipy's (tested), 3-5x faster on a full track. The sum is kept channel by channel
        (as scipy's): each segment is then added as contiguous rows.
        """
        m, hop, mid = self.window_length, self.hop, self._mid
        # The dual window keeps its dtype (float32 for nussl's convention: scipy multiplies
        # in float32 there) unless single precision asks for float32 throughout.
        dual = self._dual if compute == np.float64 else self._dual.astype(compute)
        segments = m // hop
        # Sample 0 of the signal is sample `offset` of the overlap-added frames.
        offset = mid - int(self._first_frame) * hop
        n_frames, channels, n_freqs = spec.shape
        total = np.zeros((channels, (n_frames + segments - 1) * hop), compute)
        blocks = total.reshape(channels, n_frames + segments - 1, hop)
        for p0 in range(0, n_frames, FRAME_CHUNK):
            p1 = min(p0 + FRAME_CHUNK, n_frames)
            chunk = spec[p0:p1]
            if not chunk.flags.c_contiguous:
                chunk = np.empty((p1 - p0, channels, n_freqs), spec.dtype)
                for f0 in range(0, n_freqs, _FREQ_BLOCK):  # blocked: see _transform
                    chunk[..., f0 : f0 + _FREQ_BLOCK] = spec[p0:p1, :, f0 : f0 + _FREQ_BLOCK]
            inverted = scipy.fft.irfft(chunk, n=m, axis=-1)
            # Rolled by +mid (ShortTimeFFT's phase_shift=0) and times the dual window in
            # one pass.
            frames = np.empty(inverted.shape[:-1] + (m,), np.result_type(inverted, dual))
            np.multiply(inverted[..., m - mid : m], dual[:mid], out=frames[..., :mid])
            np.multiply(inverted[..., : m - mid], dual[mid:], out=frames[..., mid:])
            # (frames, channels, segment, hop) -> segment r of frame p lands in block p + r;
            # segments from the last to the first, so each block gets its frames in order.
            frames = frames.reshape(p1 - p0, channels, segments, hop).transpose(2, 1, 0, 3)
            for r in range(segments - 1, -1, -1):
                blocks[:, p0 + r : p1 + r] += frames[r]
        return total[:, offset : offset + n_samples]

    def _frame_sum(self, t: np.ndarray, values: np.ndarray, n_samples: int,
                   every_frame: bool = False) -> np.ndarray:
        """``Σ_k values[t - start_k]`` over the frames ``k`` covering each sample ``t``.

        ``start_k`` is frame ``k``'s first sample; the frames are those of a signal of
        ``n_samples`` (``every_frame``: the infinite grid, as ShortTimeFFT's dual window
        assumes). For ``nussl2018`` the zeros become 1e-16, as in nussl 0.1.6.
        """
        first = self._first_frame
        offset = int(first) * self.hop - self.window_length // 2  # start of the first frame
        last = self.n_frames(n_samples) - 1
        total = np.zeros(len(t))
        newest = (t - offset) // self.hop  # the latest frame starting at or before t
        for back in range(math.ceil(self.window_length / self.hop) + 1):
            k = newest - back
            index = t - offset - k * self.hop
            valid = (index >= 0) & (index < self.window_length)
            if not every_frame:
                valid &= (k >= 0) & (k <= last)
            total += np.where(valid, values[np.clip(index, 0, self.window_length - 1)], 0.0)
        if self.convention == "nussl2018":
            total[total == 0] = NUSSL2018_EPSILON
        return total


def periodic_window(name: str, m: int) -> np.ndarray:
    """``scipy.signal.get_window(name, m, fftbins=True)`` for ``hann``, ``hamming`` and
    ``blackman``, float64 ``(m,)``, computed as scipy does (so bit for bit): the weighted
    cosines over ``m + 1`` points of ``[-π, π]``, the last point dropped.

    >>> periodic_window("hann", 4)
    array([0. , 0.5, 1. , 0.5])
    """
    if m <= 1:
        return np.ones(m)
    angles = np.linspace(-np.pi, np.pi, m + 1)
    window = np.zeros(m + 1)
    for k, weight in enumerate(_COSINE_WEIGHTS[name]):
        window += weight * np.cos(k * angles)
    return window[:-1]


def canonical_dual_window(window: np.ndarray, hop: int) -> np.ndarray:
    """The canonical dual of ``window`` at ``hop`` (``ShortTimeFFT``'s default, computed as
    scipy does): the window divided by the sum of the squared windows that overlap each of
    its samples, so that overlap-adding frames times it inverts the STFT (least squares).

    Raises
    ------
    ValueError
        When that sum vanishes somewhere (e.g. a Hann window at a hop of its length): the
        STFT cannot be inverted.

    >>> canonical_dual_window(np.ones(4), 2)
    array([0.5, 0.5, 0.5, 0.5])
    """
    squared = window ** 2
    overlap = squared.copy()
    for shift in range(hop, len(window), hop):
        overlap[shift:] += squared[:-shift]
        overlap[:-shift] += squared[shift:]
    if not np.all(overlap >= np.finfo(window.dtype).resolution * overlap.max()):
        raise ValueError(f"an STFT with this window and stft.hop={hop} cannot be inverted "
                         "(its overlapping windows sum to 0 at some sample); use a smaller hop")
    return window / overlap
