"""HPSS: harmonic/percussive separation by median filtering, harmonic as the background.

D. FitzGerald, "Harmonic/percussive separation using median filtering," DAFx 2010.
Harmonic sounds are horizontal lines of the magnitude spectrogram, percussive ones
vertical: a median over time keeps the first, a median over frequency the second, and
soft masks of the two split the mixture.

The ``sisec18`` flavour is nussl 0.1.6a0's ``HPSS`` at its defaults, which made the SiSEC
2018 entry HPSS: per channel ``librosa.decompose.hpss(X, kernel_size=31, mask=True)``
(librosa 0.6.0: medians over 31 frames and 31 bins, ``scipy.ndimage.median_filter`` with
mode ``reflect``; masks ``librosa.util.softmask`` with power 2, ``split_zeros``), the
harmonic part scored as accompaniment and the percussive part as vocals, no high-pass;
run it with ``stft=nussl2018`` (``+experiment=sisec18`` does). The ``nussl`` flavour is
nussl 1.1.9's ``HPSS``: the same librosa call on its single-precision STFT, so the
medians and masks are float32.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter

from .registry import Context, Models, register


def softmask(x: np.ndarray, x_ref: np.ndarray) -> np.ndarray:
    """``x² / (x² + x_ref²)``, as librosa 0.6.0's ``util.softmask(x, x_ref, power=2,
    split_zeros=True)``: both divided by their elementwise maximum first, and 0.5 where
    that maximum is below the smallest normal float (both ~0)."""
    z = np.maximum(x, x_ref)
    tiny = z < np.finfo(z.dtype).tiny
    z[tiny] = 1
    mask = (x / z) ** 2
    ref = (x_ref / z) ** 2
    good = ~tiny
    mask[good] /= mask[good] + ref[good]
    mask[tiny] = 0.5
    return mask


@register("hpss", flavours=("nussl", "sisec18"))
def hpss(magnitude: np.ndarray, ctx: Context, *, kernel_size: int, flavour: str) -> Models:
    """Harmonic mask of each channel: the background.

    Parameters
    ----------
    magnitude : ndarray, shape (freq, frames, channels)
    kernel_size : int
        Median filter length, frames (harmonic) and bins (percussive).
    flavour : {"nussl", "sisec18"}
        nussl 1.1.9 (in the magnitude's precision) or nussl 0.1.6a0 (the SiSEC 2018
        entry HPSS; float64).

    Returns
    -------
    Models
        The harmonic soft mask as background mask (its complement is the percussive
        mask to rounding: librosa's two masks sum to one).

    Examples
    --------
    >>> from repet_bench.stft import Stft
    >>> v = np.zeros((1025, 64, 1)); v[200, :, 0] = 1.0; v[:, 30, 0] = 1.0  # a line, a click
    >>> mask = hpss(v, Context(Stft(), 64 * 512), kernel_size=31, flavour="sisec18").background_mask
    >>> float(mask[200, 10, 0]), float(mask[500, 30, 0])   # harmonic, percussive
    (1.0, 0.0)
    """
    dtype = np.float64 if flavour == "sisec18" else magnitude.dtype
    mask = np.empty(magnitude.shape, dtype=dtype)
    for ch in range(magnitude.shape[-1]):
        v = np.asarray(magnitude[..., ch], dtype=dtype)
        harmonic = median_filter(v, size=(1, kernel_size), mode="reflect")
        percussive = median_filter(v, size=(kernel_size, 1), mode="reflect")
        mask[..., ch] = softmask(harmonic, percussive)
    return Models.from_mask(mask, {})
