"""Masking strategies: background/foreground masks from two magnitude models.

All functions take the background and foreground models ``(freq, frames, channels)``
and return ``(background_mask, foreground_mask)`` of the same shape, summing to one.
"""

from __future__ import annotations

import numpy as np

# Keeps silent bins defined; a bin where both models are zero goes to the background,
# as nussl's (W + eps) / (V + eps) does.
EPS = 1e-8


def _complement(background_mask: np.ndarray, out: np.ndarray | None = None):
    """``(mask, 1 - mask)`` in float32; ``out`` (a spare float32 array) takes the second."""
    background_mask = background_mask.astype(np.float32, copy=False)
    if out is None or out.dtype != np.float32 or out.shape != background_mask.shape:
        return background_mask, 1 - background_mask
    return background_mask, np.subtract(1, background_mask, out=out)


def soft(
    background: np.ndarray, foreground: np.ndarray, overwrite: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Ratio mask ``B / (B + F)``, clipped to [0, 1].

    For REPET-like models (F = V - B) this is nussl's ``(W + eps) / (V + eps)``.
    ``overwrite=True`` computes the masks in the models' own memory (the caller is done
    with them): on a 7-minute track that saves three spectrogram-sized arrays.
    """
    mask = _ratio(background, foreground, overwrite)
    np.clip(mask, 0, 1, out=mask)
    return _complement(mask, foreground if overwrite else None)


def _ratio(background: np.ndarray, foreground: np.ndarray, overwrite: bool = False) -> np.ndarray:
    """``(B + eps) / (B + F + eps)``, computed in place (full-length spectrograms are
    hundreds of MB; every fresh temporary costs time and memory). With ``overwrite`` the
    result is in ``background`` and ``foreground`` holds the denominator."""
    eps = np.asarray(EPS, dtype=background.dtype)
    if overwrite:
        denominator, mask = foreground, background
        denominator += background
    else:
        denominator, mask = background + foreground, background.copy()
    denominator += eps
    mask += eps
    mask /= denominator
    return mask


def binary(
    background: np.ndarray, foreground: np.ndarray, threshold: float,
    overwrite: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Hard mask: a bin is background where its soft background mask ≥ ``threshold``."""
    ratio = _ratio(background, foreground, overwrite)
    if overwrite:
        ratio[...] = ratio >= threshold  # 0/1 into the same memory
        return _complement(ratio, foreground)
    return _complement(ratio >= threshold)


def wiener(
    background: np.ndarray, foreground: np.ndarray, power: float,
    overwrite: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Wiener-like power-ratio mask ``B^p / (B^p + F^p)`` (p = 2: power spectra).

    The powers are taken in float64 (``B^p`` under- and overflows float32 for large
    ``p``), so ``overwrite`` only lets the second mask reuse the foreground's memory.
    """
    b = np.power(background, power, dtype=np.float64)
    f = np.power(foreground, power, dtype=np.float64)
    mask = _ratio(b, f, overwrite=True)  # b and f are this function's own
    del f
    return _complement(mask, foreground if overwrite else None)


# Frames per multichannel Wiener filter batch: norbert's covariance tensors are
# (frames, freq, channels, channels) per source, so whole full-length tracks would need
# GBs; open-unmix filters in windows of 300 frames for the same reason.
MWF_BATCH_FRAMES = 300


def mwf(
    background: np.ndarray, foreground: np.ndarray, mixture: np.ndarray, iterations: int,
    overwrite: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Multichannel Wiener filter (norbert, as open-unmix uses it) from the two models.

    The models give the initial source spectrograms (soft mask of the mixture STFT);
    ``iterations`` EM steps then estimate each source's spatial covariance and apply
    the multichannel Wiener filter. The result is returned as complex masks (estimate
    STFT / mixture STFT, per channel), so every phase strategy applies unchanged. They
    sum to one up to norbert's regularisation (~1e-3 relative).

    Parameters
    ----------
    background, foreground : ndarray, shape (freq, frames, channels)
        Magnitude models.
    mixture : ndarray, complex, shape (freq, frames, channels)
        Mixture STFT.
    iterations : int
        EM iterations (0: the soft mask alone).
    overwrite : bool
        Accepted for a uniform signature; the complex masks need memory of their own.
    """
    import norbert

    bg_mask = np.empty(mixture.shape, np.complex64)
    fg_mask = np.empty(mixture.shape, np.complex64)
    for start in range(0, mixture.shape[1], MWF_BATCH_FRAMES):
        cols = slice(start, start + MWF_BATCH_FRAMES)
        x = np.ascontiguousarray(mixture[:, cols].transpose(1, 0, 2))  # (frames, freq, channels)
        v = np.stack([background[:, cols], foreground[:, cols]], axis=-1).transpose(1, 0, 2, 3)
        nonzero = np.abs(x) > 0
        safe_x = np.where(nonzero, x, 1)  # taken first: norbert rescales `x` in place
        y = norbert.wiener(np.ascontiguousarray(v), x, iterations=iterations, use_softmask=True)
        for j, out in enumerate((bg_mask, fg_mask)):
            ratio = np.where(nonzero, y[..., j] / safe_x, 0.5)  # silent bin: split evenly
            out[:, cols] = ratio.transpose(1, 0, 2)
    return bg_mask, fg_mask


MASKS = {"soft": soft, "binary": binary, "wiener": wiener, "mwf": mwf}
# Real masks with foreground = 1 - background exactly (mwf's complex masks only nearly).
COMPLEMENTARY = {"soft", "binary", "wiener"}
# Strategies that filter the mixture STFT itself rather than comparing the two models.
NEEDS_MIXTURE = {"mwf"}


def compute_masks(name: str, background, foreground, mixture=None, overwrite=False, **params):
    """Dispatch to the mask strategy ``name`` with its config parameters.

    ``mixture`` (the complex STFT) is passed only to the strategies that need it;
    ``overwrite=True`` lets the strategy reuse the models' memory (they are lost).
    """
    try:
        fn = MASKS[name]
    except KeyError:
        raise ValueError(f"unknown mask {name!r}; available: {', '.join(MASKS)}") from None
    if name in NEEDS_MIXTURE:
        params["mixture"] = mixture
    return fn(background, foreground, overwrite=overwrite, **params)


def masks_from_background_mask(name: str, background_mask: np.ndarray, mixture=None,
                               **params) -> tuple[np.ndarray, np.ndarray]:
    """The strategy ``name``'s masks when the algorithm defines the background mask itself.

    ``soft`` is that mask and its complement, exactly and in its own precision (the
    ``sisec18`` flavour's nussl 0.1.6a0 masks). The other strategies depend only on the
    ratio of the two models in each bin, so they get the models ``mask`` and
    ``1 - mask`` (the mixture magnitude times each, divided by it). Overwrites
    ``background_mask``.

    Parameters
    ----------
    background_mask : ndarray, float, shape (freq, frames, channels)
        In [0, 1].
    """
    complement = np.subtract(1, background_mask, dtype=background_mask.dtype)
    if name == "soft":
        return background_mask, complement
    return compute_masks(name, background_mask, complement, mixture=mixture, overwrite=True,
                         **params)


def high_pass_rows(cutoff: float, stft, rule: str = "nussl") -> int:
    """Number of low-frequency STFT rows that the high-pass gives to the background.

    ``nussl`` (1.1.9): the rows below the bin closest to ``cutoff`` (5 rows at 100 Hz,
    2048-point FFT, 44.1 kHz: up to 86 Hz). ``sisec18`` (nussl 0.1.6a0):
    ``ceil(cutoff * (n_fft - 1) / rate) + 1`` rows, "+1 to match MATLAB" (6 rows: up to
    108 Hz). 0 when ``cutoff`` is 0 (off).

    Examples
    --------
    >>> from repet_bench.stft import Stft
    >>> high_pass_rows(100.0, Stft()), high_pass_rows(100.0, Stft(), "sisec18")
    (5, 6)
    """
    if cutoff <= 0:
        return 0
    if rule == "sisec18":
        return int(np.ceil(cutoff * (stft.window_length - 1) / stft.rate)) + 1
    return int(np.argmin(np.abs(stft.freqs - cutoff)))


def high_pass(background_mask: np.ndarray, foreground_mask: np.ndarray, rows: int) -> None:
    """Give the ``rows`` lowest STFT rows to the background, in place (vocals are rarely
    below 100 Hz): background mask 1, foreground mask 0 (:func:`high_pass_rows`)."""
    background_mask[:rows] = 1
    foreground_mask[:rows] = 0
