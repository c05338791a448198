"""HPLP: a high/low-pass split, the low band as accompaniment (a naive anchor).

The ``sisec18`` flavour is nussl 0.1.6a0's ``HighLowPassFilter(signal, 100)`` without its
FIR option, which made the SiSEC 2018 entry HPLP: a binary mask giving the STFT rows
below the bin closest to the cutoff (bin 5, 107.7 Hz, at 2048 points and 44.1 kHz: "the
closest frequency to 100Hz, which turned out to be ~107Hz", its description) to the
background and every other row to the foreground; run it with ``stft=nussl2018``
(``+experiment=sisec18`` does). nussl 1.1.9's ``HighLowPassFilter`` chooses the same bin
by the same rule: the ``nussl`` flavour is that mask (float32, on the run's STFT) with the
flavour's inversion rule.
"""

from __future__ import annotations

import numpy as np

from .. import masks
from .registry import Context, Models, register


@register("hplp", flavours=("nussl", "sisec18"))
def hplp(magnitude: np.ndarray, ctx: Context, *, cutoff: float, flavour: str) -> Models:
    """Background mask 1 below the STFT bin closest to ``cutoff`` Hz, 0 from it up.

    Parameters
    ----------
    magnitude : ndarray, shape (freq, frames, channels)
        Only its shape is used.
    cutoff : float
        Hz.
    flavour : {"nussl", "sisec18"}
        nussl 1.1.9 or nussl 0.1.6a0 (the SiSEC 2018 entry HPLP): the same rows.

    Examples
    --------
    >>> from repet_bench.stft import Stft
    >>> v = np.ones((1025, 3, 2))
    >>> mask = hplp(v, Context(Stft(), 1536), cutoff=100.0, flavour="sisec18").background_mask
    >>> int(mask[:, 0, 0].sum()), float(mask[4, 2, 1]), float(mask[5, 2, 1])
    (5, 1.0, 0.0)
    """
    # nussl's get_closest_frequency_bin: argmin |freqs - cutoff|, the rows below it
    # (the same rule as nussl 1.1.9's REPET high-pass).
    rows = masks.high_pass_rows(cutoff, ctx.stft, "nussl")
    mask = np.zeros(magnitude.shape, dtype=np.float64 if flavour == "sisec18" else np.float32)
    mask[:rows] = 1.0
    return Models.from_mask(mask, {"cutoff_bin": rows,
                                   "cutoff_hz": float(ctx.stft.freqs[rows])})
