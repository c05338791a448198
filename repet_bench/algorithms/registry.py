"""The algorithm seam: magnitude spectrogram in, background/foreground models out.

Every algorithm is a plain function registered by name::

    @register("repet")
    def repet(magnitude, ctx, *, min_period=0.8, ...) -> Models

``magnitude`` is the mixture magnitude ``(freq, frames, channels)`` (float32). It returns
two non-negative magnitude models of the same shape, background (repeating,
accompaniment) and foreground (vocals). Oracles (``needs_references``) are called with
``magnitude=None``: they read only the true source magnitudes in ``ctx``, and a
full-length magnitude is ~300 MB. Algorithms never see audio files, masks, phase
or metrics, so algorithm, mask and phase stay independent axes of one grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from ..stft import Stft


@dataclass(frozen=True)
class Context:
    """What an algorithm may know besides the magnitude.

    Attributes
    ----------
    stft : Stft
        The transform that produced the magnitude (rate, hop, frequencies).
    n_samples : int
        Length of the mixture in samples (for durations in seconds).
    references : mapping of str to ndarray, optional
        True source magnitudes ``(freq, frames, channels)`` by target name; given only to
        algorithms registered with ``needs_references=True`` (the oracles).
    """

    stft: Stft
    n_samples: int
    references: Mapping[str, np.ndarray] | None = None

    @property
    def duration(self) -> float:
        """Mixture duration in seconds."""
        return self.n_samples / self.stft.rate


@dataclass(frozen=True)
class Models:
    """Background and foreground magnitude models, each ``(freq, frames, channels)``.

    ``info`` holds small diagnostics worth recording per track (e.g. the period found).
    """

    background: np.ndarray
    foreground: np.ndarray
    info: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Algorithm:
    """A registered algorithm.

    ``needs_references``: an oracle, given the true source magnitudes in ``ctx``.
    ``mixture_estimates``: the lower anchor; the mixture itself is returned as every
    estimate, bypassing masks and phase (its masks need not sum to one).
    """

    name: str
    fn: Callable[..., Models]
    needs_references: bool = False
    mixture_estimates: bool = False


ALGORITHMS: dict[str, Algorithm] = {}


def register(name: str, *, needs_references: bool = False, mixture_estimates: bool = False):
    """Register ``fn(magnitude, ctx, **params) -> Models`` under ``name``."""

    def decorator(fn):
        if name in ALGORITHMS:
            raise ValueError(f"algorithm {name!r} is registered twice")
        ALGORITHMS[name] = Algorithm(name, fn, needs_references, mixture_estimates)
        return fn

    return decorator


def get_algorithm(name: str) -> Algorithm:
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise ValueError(
            f"unknown algorithm {name!r}; available: {', '.join(sorted(ALGORITHMS))}"
        ) from None


def residual(magnitude: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Foreground model of REPET-like methods: mixture minus background, never negative."""
    out = magnitude - background
    return np.maximum(out, 0, out=out)  # in place: one full-size array, not two
