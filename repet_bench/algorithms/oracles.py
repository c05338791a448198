"""Oracle bounds and the lower anchor: the SiSEC 2018 IBM / IRM and MIX entries.

The ideal masks need the true sources: ``oracle`` returns the true accompaniment
magnitude as background model and the true vocals magnitude as foreground model, so the
mask strategy turns them into the oracle masks (binary → ideal binary mask, soft → ratio
mask ``|A| / (|A| + |V|)``, wiener → power ratio ``|A|² / (|A|² + |V|²)``). ``mix`` is the
mixture itself as every estimate, the floor every method must beat.

sigsep-mus-oracle (which produced SiSEC 2018's IBM1/IBM2/IRM1/IRM2) differs in ways this
harness does not reproduce: it splits the accompaniment into drums, bass and other (so
its accompaniment ratio mask is a sum over three sources), compares each source to the
*mixture* magnitude for the binary masks, and uses scipy's default STFT (Hann, 2048,
hop 1024); here the two targets and the run's STFT are used.
"""

from __future__ import annotations

import numpy as np

from .registry import Context, Models, register


def _reference(ctx: Context, target: str) -> np.ndarray:
    if not ctx.references or target not in ctx.references:
        raise ValueError(f"oracle needs the {target!r} reference magnitude")
    return np.asarray(ctx.references[target], dtype=np.float32)


def oracle(magnitude: np.ndarray | None, ctx: Context) -> Models:
    """True source magnitudes as the two models.

    Parameters
    ----------
    magnitude : None
        Not read: ``separate`` passes None (a full-length magnitude is ~300 MB) and
        checks the models' shapes against the mixture STFT, as for every algorithm.
    ctx : Context
        ``references`` holds the ``accompaniment`` and ``vocals`` magnitudes, same shape.

    Returns
    -------
    Models
        background = ``|STFT(accompaniment)|``, foreground = ``|STFT(vocals)|``. The
        soft mask of these is the magnitude ratio mask (IRM1), the wiener mask with
        power 2 the power ratio mask (IRM2), the binary mask the ideal binary mask
        (``|A| >= |V|``, IBM1); with binary ``threshold`` t on the soft mask it is
        ``|A| >= t / (1 - t) |V|``.
    """
    return Models(_reference(ctx, "accompaniment"), _reference(ctx, "vocals"))


# One name: the mask strategy (binary: IBM, soft / wiener: IRM) makes the oracle, so each
# oracle estimate has one configuration name (conf/algo/ibm.yaml and irm.yaml are
# shorthands that choose the mask).
register("oracle", needs_references=True)(oracle)


@register("mix", mixture_estimates=True)
def mix(magnitude: np.ndarray, ctx: Context, *, flavour: str) -> Models:
    """The mixture as both estimates (SiSEC's MIX anchor).

    ``separate`` short-circuits algorithms registered with ``mixture_estimates`` and
    returns the mixture audio itself, bypassing masks and phase; these models (all
    background) are what masking would give if it were applied. ``flavour`` has no
    effect (the mixture is the same in every flavour).
    """
    return Models(magnitude, np.zeros_like(magnitude))
