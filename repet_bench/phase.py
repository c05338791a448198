"""Phase strategies: masked magnitudes → waveforms.

``reconstruct(name, mask, mixture_stft, stft, n_samples)`` turns one mask
``(freq, frames, channels)`` applied to the mixture STFT into audio ``(samples, channels)``.
"""

from __future__ import annotations

import numpy as np

from .stft import Stft


def mixture_phase(mask: np.ndarray, mixture: np.ndarray, stft: Stft, n_samples: int):
    """Masked mixture STFT, inverse transformed: magnitude × the (noisy) mixture phase."""
    return stft.inverse(mask * mixture, n_samples)


def no_phase(mask: np.ndarray, mixture: np.ndarray, stft: Stft, n_samples: int):
    """Masked magnitude with zero phase: what magnitude alone can give (a lower bound)."""
    return stft.inverse((mask * np.abs(mixture)).astype(np.complex64), n_samples)


def griffin_lim(mask: np.ndarray, mixture: np.ndarray, stft: Stft, n_samples: int,
                iterations: int):
    """Griffin-Lim phase retrieval for the masked magnitude, initialised from the mixture phase.

    Each iteration projects onto consistent spectrograms (iSTFT then STFT with the same
    ``ShortTimeFFT``) and restores the target magnitude ``|mask × mixture|``; this never
    increases the distance between the target and the magnitude of the STFT of the
    result (Griffin & Lim, IEEE TASSP 1984). ``iterations=0`` is mixture phase.
    """
    spec = (mask * mixture).astype(np.complex64)
    target = np.abs(spec)
    for _ in range(iterations):
        spec = stft.forward(stft.inverse(spec, n_samples))
        magnitude = np.abs(spec)
        silent = magnitude == 0
        # The target magnitude with the rebuilt phase: target × spec / max(|spec|, 1e-30)
        # where |spec| > 0, else target. In place, in that order of operations, so the
        # values are those of the one-line expression without its spectrogram-sized
        # temporaries.
        np.multiply(spec, target, out=spec)
        np.divide(spec, np.maximum(magnitude, 1e-30, out=magnitude), out=spec)
        np.copyto(spec, target, where=silent)
    return stft.inverse(spec.astype(np.complex64, copy=False), n_samples)


PHASES = {"mixture": mixture_phase, "none": no_phase, "griffin_lim": griffin_lim}


def reconstruct(name: str, mask, mixture, stft: Stft, n_samples: int, **params) -> np.ndarray:
    """Dispatch to the phase strategy ``name``; returns ``(n_samples, channels)``."""
    try:
        fn = PHASES[name]
    except KeyError:
        raise ValueError(f"unknown phase {name!r}; available: {', '.join(PHASES)}") from None
    return fn(mask, mixture, stft, n_samples, **params)
