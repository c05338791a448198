"""Mixture → estimates: STFT → algorithm → masks → phase.

A plain function of arrays and small configs; knows nothing of files or processes. The
runner calls it with composed configs; notebook users call :func:`repet_bench.separate`,
which builds those configs from option names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import masks, phase
from .algorithms import FLAVOURS, Context, get_algorithm
from .algorithms.registry import BACKGROUND_INVERTED
from .algorithms.oracles import mixture_estimates
from .config import complete
from .stft import Stft


@dataclass
class Separation:
    """Estimates ``{"vocals", "accompaniment"}`` each ``(samples, channels)``, plus the
    algorithm's diagnostics (e.g. the period found) and, when asked for, the masks
    ``{"vocals", "accompaniment"}`` each ``(freq, frames, channels)`` as applied to the
    mixture STFT (after the high-pass; None for the mixture anchor, which is not masked)."""

    estimates: dict
    info: dict = field(default_factory=dict)
    masks: dict | None = None


def _params(cfg: dict, exclude=("name",)) -> dict:
    return {k: v for k, v in cfg.items() if k not in exclude}


def separate(
    mixture: np.ndarray,
    rate: int,
    algo: dict,
    stft: dict,
    mask: dict,
    phase_cfg: dict,
    references: dict | None = None,
    keep_masks: bool = False,
    sources: dict | None = None,
) -> Separation:
    """Separate one mixture into vocals (foreground) and accompaniment (background).

    Parameters
    ----------
    mixture : ndarray, shape (samples, channels)
    rate : int
        Sample rate in Hz.
    algo, stft, mask, phase_cfg : dict
        The ``algo``, ``stft``, ``mask`` and ``phase`` configs (plain dicts). A key left
        out takes the option's packaged default (``{"name": "repet"}`` is REPET as
        ``+algo=repet`` runs it, 100 Hz high-pass included); ``stft`` without keys is
        the default STFT.
    references : dict of str to ndarray (samples, channels), optional
        True sources; only passed on to algorithms that need them (oracles).
    keep_masks : bool
        Return the masks too (two spectrogram-sized arrays more held: ~600 MB on a
        7-minute stereo track).
    sources : dict of str to ndarray (samples, channels), optional
        The four true MUSDB18 sources; only passed on to algorithms that need them
        (SiSEC 2018's oracles, which make their own estimates: the stft, mask and phase
        configs do not apply to them).

    Notes
    -----
    The algorithm's ``flavour`` (default ``nussl``) also chooses the high-pass rule
    (:func:`masks.high_pass_rows`) and, for complementary masks with the mixture phase,
    which estimate is inverted: ``nussl`` inverts the vocals and takes the accompaniment
    as the mixture minus them; ``sisec18`` inverts the background and takes the
    foreground as the mixture minus it, as nussl 0.1.6a0 did. The ``rafii`` flavour is
    REPET-Python's code on the waveform (:mod:`repet_bench.algorithms.rafii`): its own
    transform and masks, so ``stft``, ``mask`` and ``phase`` do not apply.
    """
    separator = Separator(mixture, rate, algo, stft, references, sources)
    return separator.apply(mask, phase_cfg, keep_masks=keep_masks, last=True)


class Separator:
    """One mixture's STFT and one algorithm's models, computed once; :meth:`apply` turns
    them into estimates with any mask and phase strategy.

    The models do not depend on the mask or the phase, so a sweep over masks × phases
    of one algorithm runs it once per track (:mod:`repet_bench.sweep`). :meth:`apply`
    leaves the STFT and the models untouched unless ``last=True``, when it may reuse
    their memory as a single :func:`separate` does; the estimates are the same either
    way (the same operations on the same values).

    Parameters
    ----------
    mixture : ndarray, shape (samples, channels)
    rate : int
        Sample rate in Hz.
    algo, stft : dict
        The ``algo`` and ``stft`` configs; a key left out takes the packaged default.
    references : dict of str to ndarray (samples, channels), optional
        True sources; only passed on to algorithms that need them (oracles).
    sources : dict of str to ndarray (samples, channels), optional
        The four true MUSDB18 sources, for algorithms registered with ``needs_sources``.

    Attributes
    ----------
    info : dict
        The algorithm's diagnostics (e.g. the period found).
    nbytes : int
        Memory held between :meth:`apply` calls (mixture STFT and models), in bytes.

    Examples
    --------
    >>> import numpy as np
    >>> mix = np.random.default_rng(0).standard_normal((44100 * 4, 2)).astype(np.float32)
    >>> separator = Separator(mix, 44100, {"name": "repet", "period": 1.0}, {})
    >>> soft = separator.apply({"name": "soft"}, {"name": "mixture"})
    >>> binary = separator.apply({"name": "binary"}, {"name": "none"}, last=True)
    >>> soft.estimates["vocals"].shape, binary.info["period_frames"]
    ((176400, 2), 86)
    """

    def __init__(self, mixture: np.ndarray, rate: int, algo: dict, stft: dict,
                 references: dict | None = None, sources: dict | None = None):
        algorithm = get_algorithm(algo["name"])
        if algorithm.reads_estimates:
            raise ValueError(f"algorithm {algo['name']!r} reads another method's output and "
                             "separates nothing: score such a folder with python -m repet_bench "
                             "+algo=estimates algo.root=DIR")
        self.algo = complete("algo", algo["name"], algo)
        self.mixture = mixture
        self.info: dict = {}
        self.models = self.spec = self.own_estimates = None
        if algorithm.mixture_estimates:  # the anchor: no transform, no masks
            self.own_estimates = mixture_estimates(mixture, self.algo.get("flavour", FLAVOURS[0]))
            return
        if algorithm.needs_sources:  # its own transform and masks: the estimates are final
            if sources is None:
                raise ValueError(f"algorithm {algo['name']!r} needs the four true sources "
                                 "(drums, bass, other, vocals)")
            self.own_estimates = algorithm(mixture, sources, **_params(self.algo))
            return
        waveform = algorithm.waveform_fn(self.algo.get("flavour"))
        if waveform is not None:  # another codebase's transform and masks (rafii)
            self.own_estimates, self.info = waveform(
                mixture, rate, **_params(self.algo, exclude=("name", "flavour")))
            return
        transform = self.transform = Stft.from_config(complete("stft", None, stft), rate)
        self.flavour = self.algo.get("flavour", FLAVOURS[0])
        ref_mags = None
        if algorithm.needs_references:
            if references is None:
                raise ValueError(f"algorithm {algo['name']!r} is an oracle and needs the "
                                 "references")
            # Magnitudes only, taken before the mixture STFT: the complex reference
            # spectrograms are never held, and oracles get no mixture magnitude (they only
            # use the references), which keeps them under a blind method's peak memory.
            ref_mags = {k: transform.magnitude(v) for k, v in references.items()}
        spec = self.spec = transform.forward(mixture)
        magnitude = None if algorithm.needs_references else np.abs(spec)
        models = self.models = algorithm(magnitude, Context(transform, mixture.shape[0], ref_mags),
                                         **_params(self.algo))
        del magnitude, ref_mags
        for model in (models.background, models.foreground, models.background_mask):
            if model is not None and model.shape != spec.shape:
                raise ValueError(f"algorithm {algo['name']!r} returned a model of shape "
                                 f"{model.shape} for a mixture spectrogram of shape "
                                 f"{spec.shape} (for an oracle: references and mixture "
                                 "differ in length)")
        self.info = dict(models.info)

    @property
    def nbytes(self) -> int:
        if self.own_estimates is not None:
            return sum(a.nbytes for a in self.own_estimates.values())
        held = (self.models.background, self.models.foreground, self.models.background_mask,
                self.spec)
        return sum(a.nbytes for a in held if a is not None)

    def apply(self, mask: dict, phase_cfg: dict, keep_masks: bool = False,
              last: bool = False) -> Separation:
        """The estimates with the ``mask`` and ``phase`` configs (keys left out take the
        packaged defaults). ``last=True``: no further call follows, so the STFT and the
        models may be overwritten (on a 7-minute track each spectrogram-sized array is
        ~300 MB, and peak memory is what limits workers)."""
        mask = complete("mask", mask["name"], mask)
        phase_cfg = complete("phase", phase_cfg["name"], phase_cfg)
        mixture = self.mixture
        if self.own_estimates is not None:  # the mixture, or made with the algorithm's own masks
            estimates = self.own_estimates
            if last:
                self.own_estimates = None
            return Separation({k: v if last else v.copy() for k, v in estimates.items()},
                              dict(self.info))
        transform, models, spec, n_samples = self.transform, self.models, self.spec, mixture.shape[0]
        if last:  # the masks overwrite the models: their memory is free before the iSTFTs
            self.models = self.spec = None
        if models.background_mask is not None:
            background_mask = models.background_mask if last else models.background_mask.copy()
            bg_mask, fg_mask = masks.masks_from_background_mask(
                mask["name"], background_mask, mixture=spec, **_params(mask))
        else:
            bg_mask, fg_mask = masks.compute_masks(mask["name"], models.background,
                                                   models.foreground, mixture=spec,
                                                   overwrite=last, **_params(mask))
        del models
        masks.high_pass(bg_mask, fg_mask,
                        masks.high_pass_rows(self.algo["high_pass_cutoff"], transform, self.flavour))
        kept_masks = ({"vocals": fg_mask.copy(), "accompaniment": bg_mask.copy()} if keep_masks
                      else None)

        if phase_cfg["name"] == "mixture" and mask["name"] in masks.COMPLEMENTARY:
            # The iSTFT is linear and reconstructs the mixture exactly, and the two masks
            # sum to one: one estimate is the mixture minus the other (one iSTFT saved).
            # The last use of the mixture STFT masks it in place.
            inverted, kept = (("accompaniment", bg_mask) if self.flavour in BACKGROUND_INVERTED
                              else ("vocals", fg_mask))
            del bg_mask, fg_mask
            if last:
                spec *= kept
            else:
                spec = spec * kept
            del kept
            estimate = transform.inverse(spec, n_samples)
            del spec
            rest = np.subtract(mixture, estimate, dtype=transform.real_dtype)
            other = "vocals" if inverted == "accompaniment" else "accompaniment"
            return Separation({inverted: estimate, other: rest}, dict(self.info), kept_masks)
        vocals = phase.reconstruct(phase_cfg["name"], fg_mask, spec, transform, n_samples,
                                   **_params(phase_cfg))
        accompaniment = phase.reconstruct(phase_cfg["name"], bg_mask, spec, transform,
                                          n_samples, **_params(phase_cfg))
        return Separation({"vocals": vocals, "accompaniment": accompaniment}, dict(self.info),
                          kept_masks)
