"""The algorithm seam: magnitude spectrogram in, background/foreground models out.

Every algorithm is a plain function registered by name::

    @register("repet")
    def repet(magnitude, ctx, *, min_period, max_period, ...) -> Models

The parameters have no defaults in the function: they are written once, in
``conf/algo/<name>.yaml``. Call an algorithm through its :class:`Algorithm`
(``get_algorithm("repet")(magnitude, ctx, period=2.0)``), which fills in every parameter
not given from that yaml, as the command line would.

``magnitude`` is the mixture magnitude ``(freq, frames, channels)`` (float32). It returns
two non-negative magnitude models of the same shape, background (repeating,
accompaniment) and foreground (vocals). Oracles (``needs_references``) are called with
``magnitude=None``: they read only the true source magnitudes in ``ctx``, and a
full-length magnitude is ~300 MB. Algorithms never see audio files, masks, phase
or metrics, so algorithm, mask and phase stay independent axes of one grid.

One kind is outside that seam (``needs_sources``): entries published with their own
transform and masks, SiSEC 2018's oracles as sigsep-mus-oracle made them, are called as
``fn(mixture, sources, **params)`` on the waveforms of the mixture and of the four
MUSDB18 sources and return the estimates themselves; the run's STFT, mask and phase do
not apply to them.

Some algorithms also run, in one flavour, as another codebase runs them on the waveform
(``waveform``): the ``rafii`` flavour is Z. Rafii's REPET-Python, called as
``fn(mixture, rate, **params) -> (estimates, info)`` with his own transform and masks, so
the run's STFT, mask and phase do not apply to it either.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Mapping

import numpy as np

from ..config import complete
from ..stft import NUSSL2018_EPSILON, Stft


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


FLAVOURS = ("nussl", "sisec18", "rafii")
"""Algorithm flavours (shared ALGORITHMS.md): ``nussl`` follows nussl 1.1.9, ``sisec18``
nussl 0.1.6a0, the code that made the SiSEC 2018 entries REP1, REP2 and 2DFT, ``rafii``
Z. Rafii's REPET-Python (:mod:`repet_bench.algorithms.rafii`). Each algorithm has the
ones it registers (:attr:`Algorithm.flavours`)."""

BACKGROUND_INVERTED = ("sisec18", "rafii")
"""Flavours whose code inverts the background and takes the foreground as the mixture
minus it (nussl 0.1.6a0 and REPET-Python); nussl 1.1.9 inverts the vocals."""


@dataclass(frozen=True)
class Models:
    """Background and foreground magnitude models, each ``(freq, frames, channels)``.

    ``info`` holds small diagnostics worth recording per track (e.g. the period found).

    ``background_mask``: set instead of the two models by algorithms whose published
    definition is a mask rather than models (the ``sisec18`` flavour: nussl 0.1.6a0
    computed ``(min(W, V) + 1e-16) / (V + 1e-16)``, and 2DFT a binary mask), so that the
    soft mask is exactly that mask. The models are then ``background_mask`` and its
    complement, in units of the mixture magnitude: every mask strategy depends only on
    their ratio in each bin.
    """

    background: np.ndarray | None
    foreground: np.ndarray | None
    info: dict = field(default_factory=dict)
    background_mask: np.ndarray | None = None

    @classmethod
    def from_mask(cls, background_mask: np.ndarray, info: dict) -> "Models":
        """Models defined by a background mask ``(freq, frames, channels)`` in [0, 1]."""
        return cls(None, None, info, background_mask)


@dataclass(frozen=True)
class Algorithm:
    """A registered algorithm.

    ``needs_references``: an oracle, given the true source magnitudes in ``ctx``.
    ``mixture_estimates``: the lower anchor; the mixture is returned as the estimates
    (``oracles.mixture_estimates``), bypassing masks and phase.
    ``needs_sources``: called as ``fn(mixture, sources, **params)`` with the mixture
    ``(samples, channels)`` and the four true sources ``{"drums", "bass", "other",
    "vocals"}`` of the same shape; returns the estimates ``{"vocals",
    "accompaniment"}`` itself, with its own transform (the run's STFT, mask and phase do
    not apply).
    ``reads_estimates``: another method's output, read not made: called as ``fn(track,
    root=...)`` with the :class:`repet_bench.data.TrackAudio`; returns ``(estimates,
    info)`` (:func:`repet_bench.estimates.load_estimates`).
    ``flavours``: the flavours ``fn`` computes (its ``flavour`` parameter), or ``()`` for
    an algorithm without one.
    ``waveform``: flavour → ``fn(mixture, rate, **params) -> (estimates, info)``, the
    flavours run on the waveform with their own transform and masks (``rafii``).
    """

    name: str
    fn: Callable[..., Models]
    needs_references: bool = False
    mixture_estimates: bool = False
    needs_sources: bool = False
    reads_estimates: bool = False
    flavours: tuple[str, ...] = ()
    waveform: Mapping[str, Callable] = field(default_factory=dict)

    @property
    def all_flavours(self) -> tuple[str, ...]:
        """Every flavour ``algo.flavour`` may take for this algorithm."""
        return (*self.flavours, *self.waveform)

    def waveform_fn(self, flavour: str | None) -> Callable | None:
        """The function of ``flavour`` if it runs on the waveform (:attr:`waveform`)."""
        return self.waveform.get(flavour)

    def uses_strategies_in(self, flavour: str | None) -> bool:
        """Whether the run's STFT, mask and phase options shape its estimates in
        ``flavour``."""
        return not (self.mixture_estimates or self.needs_sources or self.reads_estimates
                    or flavour in self.waveform)

    def __call__(self, *inputs, **params):
        """Run on ``inputs`` (``magnitude, ctx``, or ``mixture, sources`` for
        ``needs_sources``) with ``params`` over the defaults of ``conf/algo/<name>.yaml``."""
        # high_pass_cutoff is applied to the masks (separation), not by the algorithm.
        values = complete("algo", self.name, params)
        flavour = values.get("flavour")
        if self.fn is None or flavour in self.waveform:
            raise ValueError(f"{self.name} in the {flavour} flavour runs on the waveform with "
                             "its own transform, not on a magnitude: call "
                             "repet_bench.separate(audio, algo=..., flavour=...)")
        return self.fn(*inputs, **{k: v for k, v in values.items()
                                   if k not in ("name", "high_pass_cutoff")})


ALGORITHMS: dict[str, Algorithm] = {}


def register(name: str, *, needs_references: bool = False, mixture_estimates: bool = False,
             needs_sources: bool = False, reads_estimates: bool = False,
             flavours: tuple[str, ...] = (), waveform: Mapping[str, Callable] | None = None):
    """Register ``fn(magnitude, ctx, **params) -> Models`` under ``name`` (for
    ``needs_sources``: ``fn(mixture, sources, **params) -> estimates``, see
    :class:`Algorithm`).

    ``flavours``: those ``fn`` computes, among :data:`FLAVOURS`; ``waveform``: flavours
    run on the waveform by their own function. An algorithm with only ``waveform``
    flavours registers ``fn=None`` (``register(name, waveform=...)(None)``); one
    registered already gets more with :func:`add_waveform_flavour`.
    """

    def decorator(fn):
        if name in ALGORITHMS:
            raise ValueError(f"algorithm {name!r} is registered twice")
        ALGORITHMS[name] = Algorithm(name, fn, needs_references, mixture_estimates,
                                     needs_sources, reads_estimates, tuple(flavours),
                                     dict(waveform or {}))
        return fn

    return decorator


def add_waveform_flavour(name: str, flavour: str, fn: Callable) -> None:
    """Give the registered algorithm ``name`` a ``flavour`` run on the waveform by ``fn``
    (``fn(mixture, rate, **params) -> (estimates, info)``)."""
    algorithm = get_algorithm(name)
    if flavour in algorithm.all_flavours:
        raise ValueError(f"algorithm {name!r} has a flavour {flavour!r} already")
    ALGORITHMS[name] = replace(algorithm, waveform={**algorithm.waveform, flavour: fn})


def get_algorithm(name: str) -> Algorithm:
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise ValueError(
            f"unknown algorithm {name!r}; available: {', '.join(sorted(ALGORITHMS))}"
        ) from None


def is_bound(name: str | None) -> bool:
    """Whether algorithm ``name`` is a bound rather than a separation method: an oracle
    (true sources) or the mixture anchor."""
    algorithm = ALGORITHMS.get(name)
    return algorithm is not None and (algorithm.needs_references or algorithm.needs_sources
                                      or algorithm.mixture_estimates)


def uses_strategies(algo: Mapping | None) -> bool:
    """Whether the run's STFT, mask and phase shape the estimates of the ``algo`` config
    (``{"name": ..., "flavour": ...}``): not for the mixture anchor, SiSEC's sigsep
    oracles, precomputed ``estimates`` (read, not separated), nor a flavour run on the
    waveform with its own transform (``rafii``)."""
    algo = algo or {}
    algorithm = ALGORITHMS.get(algo.get("name"))
    return algorithm is not None and algorithm.uses_strategies_in(algo.get("flavour"))


def residual(magnitude: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Foreground model of REPET-like methods: mixture minus background, never negative."""
    out = magnitude - background
    return np.maximum(out, 0, out=out)  # in place: one full-size array, not two




def sisec18_mask(model: np.ndarray, magnitude: np.ndarray) -> np.ndarray:
    """nussl 0.1.6a0's REPET mask ``(min(model, V) + 1e-16) / (V + 1e-16)``, into ``model``.

    ``model`` (float64, overwritten) and ``magnitude`` ``V`` are ``(freq, frames, channels)``.
    """
    np.minimum(model, magnitude, out=model)
    model += NUSSL2018_EPSILON
    for ch in range(model.shape[-1]):  # one channel's temporary at a time
        model[..., ch] /= magnitude[..., ch] + NUSSL2018_EPSILON
    return model

