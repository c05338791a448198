"""Oracle bounds and the lower anchor: two-target ideal masks and the MIX entry.

The ideal masks need the true sources: ``oracle`` returns the true accompaniment
magnitude as background model and the true vocals magnitude as foreground model, so the
mask strategy turns them into the oracle masks (binary → ideal binary mask, soft → ratio
mask ``|A| / (|A| + |V|)``, wiener → power ratio ``|A|² / (|A|² + |V|²)``). ``mix`` is the
mixture as the estimates (:func:`mixture_estimates`), the floor every method must beat.

These are this harness's two-target oracles, on the run's STFT and masks, so that an
oracle is one more point of the mask × phase grid. They are not SiSEC 2018's IBM1/IBM2/
IRM1/IRM2/MWF rows, which sigsep-mus-oracle computed over four sources (drums, bass,
other, vocals) with its own STFT and masks: those are ``sigsep_oracle``
(:mod:`repet_bench.algorithms.sigsep_oracles`).
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


@register("mix", mixture_estimates=True, flavours=("nussl", "sisec18"))
def mix(magnitude: np.ndarray, ctx: Context, *, flavour: str) -> Models:
    """The mixture as the estimates (the MIX anchor).

    ``separate`` short-circuits algorithms registered with ``mixture_estimates``: their
    estimates are :func:`mixture_estimates`, bypassing masks and phase; these models (all
    background) are what masking would give if it were applied.
    """
    return Models(magnitude, np.zeros_like(magnitude))


def mixture_estimates(mixture: np.ndarray, flavour: str) -> dict:
    """The mixture anchor's estimates, ``{"vocals", "accompaniment"}`` ``(samples, channels)``.

    ``sisec18``: SiSEC 2018's MIX as sigsep-mus-oracle's MIX.py (f5ce674) made it: each of
    the four sources estimated as ``mixture / 4``, accompaniment = bass + drums + other
    estimates, i.e. ``3/4 mixture``. ``nussl``: the mixture itself as both estimates.
    BSS Eval v4 is not scale invariant (the true source image is its target, a scaled
    copy counts as distortion), so the two score apart: on the sample −6.23 / 6.12 dB
    (mixture) against 0.86 / 7.02 dB (MIX.py) vocals / accompaniment SDR.

    >>> x = np.ones((4, 2))
    >>> est = mixture_estimates(x, "sisec18")
    >>> float(est["vocals"][0, 0]), float(est["accompaniment"][0, 0])
    (0.25, 0.75)
    """
    if flavour == "sisec18":
        quarter = mixture / 4  # MIX.py: track.audio / len(track.sources)
        return {"vocals": quarter, "accompaniment": quarter + quarter + quarter}
    return {"vocals": mixture.copy(), "accompaniment": mixture.copy()}
