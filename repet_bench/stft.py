"""STFT and inverse STFT on :class:`scipy.signal.ShortTimeFFT`.

Spectrograms are ``(freq, frames, channels)`` everywhere in repet_bench; audio is
``(samples, channels)`` as musdb returns it. Defaults follow nussl, which produced the
SiSEC 2018 REPET entries: 2048-sample sqrt-Hann window, hop 512.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.signal import ShortTimeFFT, get_window

WINDOWS = ("sqrt_hann", "hann", "hamming", "blackman")
# Frames per scipy STFT call: its complex128 temporary is then ~17 MB (2048-point FFT).
FRAME_CHUNK = 1024


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
        ``sqrt_hann`` (nussl's default) or any periodic window name of
        :func:`scipy.signal.get_window` listed in :data:`WINDOWS`.
    rate : int
        Sample rate in Hz.
    """

    window_length: int = 2048
    hop: int = 512
    window: str = "sqrt_hann"
    rate: int = 44100

    def __post_init__(self):
        if self.window not in WINDOWS:
            raise ValueError(f"stft.window={self.window!r} is unknown; use one of {WINDOWS}")
        if not 0 < self.hop <= self.window_length:
            raise ValueError(
                f"stft.hop={self.hop} must be in 1..stft.window_length ({self.window_length})"
            )

    @cached_property
    def _fft(self) -> ShortTimeFFT:
        if self.window == "sqrt_hann":
            win = np.sqrt(get_window("hann", self.window_length, fftbins=True))
        else:
            win = get_window(self.window, self.window_length, fftbins=True)
        return ShortTimeFFT(win.astype(np.float32), self.hop, self.rate, fft_mode="onesided")

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
        return self._fft.f

    def forward(self, audio: np.ndarray) -> np.ndarray:
        """Complex STFT of ``audio`` ``(samples, channels)`` → ``(freq, frames, channels)``.

        The result is complex64 (halves memory on full-length tracks; BSS Eval scores are
        unaffected at that precision). scipy computes in complex128, so frames are
        transformed in chunks of :data:`FRAME_CHUNK` per channel: the temporary stays a few
        MB instead of twice the size of the result.
        """
        return self._transform(audio, np.complex64)

    def _transform(self, audio: np.ndarray, dtype, finish=None) -> np.ndarray:
        audio = np.asarray(audio)
        if audio.ndim != 2 or audio.shape[0] < self.window_length:
            raise ValueError(
                f"audio of shape {audio.shape} is too short for the STFT: it needs "
                f"(samples, channels) with at least stft.window_length={self.window_length} samples"
            )
        p_min, p_max = self._fft.p_min, self._fft.p_max(audio.shape[0])
        out = np.empty((self.n_freqs, p_max - p_min, audio.shape[1]), dtype=dtype)
        for ch in range(audio.shape[1]):
            for p0 in range(p_min, p_max, FRAME_CHUNK):
                p1 = min(p0 + FRAME_CHUNK, p_max)
                chunk = self._fft.stft(audio[:, ch], p0=p0, p1=p1)
                out[:, p0 - p_min : p1 - p_min, ch] = chunk if finish is None else finish(chunk)
        return out

    def magnitude(self, audio: np.ndarray) -> np.ndarray:
        """``|STFT|`` of ``audio`` as float32, without holding the complex spectrogram.

        For signals whose phase is never needed (the oracles' references): the complex
        result would be twice the size of the magnitude, so it is taken chunk by chunk.
        """
        return self._transform(audio, np.float32, np.abs)

    def inverse(self, spec: np.ndarray, n_samples: int) -> np.ndarray:
        """Inverse STFT of ``(freq, frames, channels)`` → real ``(n_samples, channels)``."""
        # scipy's istft loops over frames in Python: all channels in one call halves that
        # overhead, and its temporaries are per frame, so memory does not grow.
        audio = self._fft.istft(np.moveaxis(spec, -1, 0), k1=n_samples, f_axis=-2, t_axis=-1)
        return audio.T.astype(np.float32)
