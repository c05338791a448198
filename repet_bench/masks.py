"""Masking strategies: background/foreground masks from two magnitude models.

All functions take the background and foreground models ``(freq, frames, channels)``
and return ``(background_mask, foreground_mask)`` of the same shape, summing to one.
"""

from __future__ import annotations

import numpy as np

# Keeps silent bins defined; a bin where both models are zero goes to the background,
# as nussl's (W + eps) / (V + eps) does.
EPS = 1e-8


def _complement(background_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    background_mask = background_mask.astype(np.float32, copy=False)
    return background_mask, 1 - background_mask


def soft(background: np.ndarray, foreground: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ratio mask ``B / (B + F)``, clipped to [0, 1].

    For REPET-like models (F = V - B) this is nussl's ``(W + eps) / (V + eps)``.
    """
    mask = (background + EPS) / (background + foreground + EPS)
    return _complement(np.clip(mask, 0, 1))


def binary(
    background: np.ndarray, foreground: np.ndarray, threshold: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Hard mask: a bin is background where its soft background mask ≥ ``threshold``."""
    mask = (background + EPS) / (background + foreground + EPS)
    return _complement(mask >= threshold)


def wiener(
    background: np.ndarray, foreground: np.ndarray, power: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """Wiener-like power-ratio mask ``B^p / (B^p + F^p)`` (p = 2: power spectra)."""
    b = np.power(background, power, dtype=np.float64)
    f = np.power(foreground, power, dtype=np.float64)
    return _complement((b + EPS) / (b + f + EPS))


MASKS = {"soft": soft, "binary": binary, "wiener": wiener}


def compute_masks(name: str, background, foreground, **params):
    """Dispatch to the mask strategy ``name`` with its config parameters."""
    try:
        fn = MASKS[name]
    except KeyError:
        raise ValueError(f"unknown mask {name!r}; available: {', '.join(MASKS)}") from None
    return fn(background, foreground, **params)


def high_pass(
    background_mask: np.ndarray, foreground_mask: np.ndarray, freqs: np.ndarray, cutoff: float
) -> None:
    """Assign the bins below ``cutoff`` Hz to the background, in place.

    As nussl: the bin closest to the cutoff is found and every bin below it gets
    background mask 1 and foreground mask 0 (vocals are rarely below 100 Hz).
    """
    if cutoff <= 0:
        return
    edge = int(np.argmin(np.abs(freqs - cutoff)))
    background_mask[:edge] = 1
    foreground_mask[:edge] = 0
