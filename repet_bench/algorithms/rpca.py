"""RPCA: the singing voice as the sparse part of the magnitude spectrogram.

P.-S. Huang, S. D. Chen, P. Smaragdis and M. Hasegawa-Johnson, "Singing-voice separation
from monaural recordings using robust principal component analysis," IEEE ICASSP 2012.
The accompaniment is low rank, the voice sparse: ``V = L + S`` by robust PCA (principal
component pursuit, solved by the inexact augmented Lagrange multiplier method of Lin,
Chen & Ma, 2010), and the background mask keeps the bins where ``|S| <= |L|``.

The ``sisec18`` flavour is nussl 0.1.6a0's ``RPCA`` at its defaults, which made the SiSEC
2018 entry RPCA: each channel's magnitude separately (float64), at most 100 iterations to a
relative error of 1e-7, the binary mask, the 6-row (108 Hz) high-pass of its REPET family,
the background inverted and the foreground taken as the mixture minus it (run it with
``stft=nussl2018``; ``+experiment=sisec18`` does). The ``nussl`` flavour is nussl 1.1.9's
``RPCA``: the same iterations on its single-precision magnitude, numpy 1.x's promotions
kept (the dual variable stays float32), and the 5-row high-pass of its REPET. Cost: one
SVD of a ``(freq, frames)`` matrix per iteration and channel, as the original (minutes on
a full-length track).
"""

from __future__ import annotations

import numpy as np

from .registry import Context, Models, register


def shrink(matrix: np.ndarray, tau: float) -> np.ndarray:
    """Soft threshold ``sign(m) max(|m| - tau, 0)`` (the proximal map of the l1 norm)."""
    return np.sign(matrix) * np.maximum(np.abs(matrix) - tau, 0)


def svd_threshold(matrix: np.ndarray, tau: float) -> np.ndarray:
    """Singular values soft-thresholded by ``tau`` (the proximal map of the nuclear norm)."""
    u, sigma, vt = np.linalg.svd(matrix, full_matrices=False)
    return u @ (np.diag(shrink(sigma, tau)) @ vt)


def decompose(v: np.ndarray, num_iterations: int, epsilon: float) -> tuple[np.ndarray, np.ndarray, dict]:
    """``V = L + S``: low-rank ``L`` and sparse ``S`` by inexact ALM.

    Parameters
    ----------
    v : ndarray, float64 or float32, shape (freq, frames)
        The iterates are float64 either way; the dual variable has ``v``'s precision.
    num_iterations : int
        At most this many iterations.
    epsilon : float
        Stop once ``||V - L - S||_F / ||V||_F`` is below it.

    Returns
    -------
    low_rank, sparse : ndarray, shape (freq, frames)
    info : dict
        ``iterations`` run and the final relative ``error``.

    Notes
    -----
    nussl 0.1.6a0's constants: ``lambda = 1 / sqrt(max(freq, frames))``; the dual variable
    starts at ``V / max(||V||_2, ||V||_inf / lambda)``; ``mu = 1.25 / ||V||_2``, growing by
    1.5 per iteration up to ``1e7`` times its start.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> low = np.outer(rng.random(40), rng.random(60))       # rank 1
    >>> spikes = np.where(rng.random((40, 60)) > 0.95, 3.0, 0.0)
    >>> L, S, info = decompose(low + spikes, 100, 1e-7)
    >>> bool(np.abs(L - low).max() < 1e-3), info["iterations"] < 100
    (True, True)
    """
    lam = 1 / np.sqrt(np.max(v.shape))
    low_rank = np.zeros(v.shape)
    sparse = np.zeros(v.shape)
    if not v.any():  # silence: nussl's 1 / ||V|| would be NaN; both parts are 0 (and so
        return low_rank, sparse, {"iterations": 0, "error": 0.0}  # are the estimates)
    two_norm = np.linalg.svd(v, full_matrices=False, compute_uv=False)[0]
    inf_norm = np.linalg.norm(v.flatten(), np.inf) / lam
    # nussl ran on numpy 1.x, whose scalars do not promote arrays: a float32 magnitude
    # keeps a float32 dual variable, and mu is float64 whatever the magnitude's precision.
    dual = v / v.dtype.type(max(two_norm, inf_norm))
    mu = 1.25 / float(two_norm)
    mu_bar = mu * 1e7
    norm_v = np.linalg.norm(v, ord="fro")
    error, iteration = np.inf, 0
    while iteration < num_iterations:
        iteration += 1
        low_rank = svd_threshold(v - sparse + dual / mu, 1 / mu)
        sparse = shrink(v - low_rank + dual / mu, lam / mu)
        dual += mu * (v - low_rank - sparse)
        mu = min(mu * 1.5, mu_bar)
        error = np.linalg.norm(v - low_rank - sparse, ord="fro") / norm_v
        if error < epsilon:
            break
    return low_rank, sparse, {"iterations": iteration, "error": float(error)}


@register("rpca", flavours=("nussl", "sisec18"))
def rpca(magnitude: np.ndarray, ctx: Context, *, num_iterations: int, epsilon: float,
         flavour: str) -> Models:
    """Background mask ``|S| <= |L|`` of each channel's robust PCA.

    Parameters
    ----------
    magnitude : ndarray, shape (freq, frames, channels)
        Decomposed in float64, channel by channel.
    num_iterations, epsilon
        See :func:`decompose`.
    flavour : {"nussl", "sisec18"}
        nussl 1.1.9 (the magnitude in its own precision) or nussl 0.1.6a0 (the SiSEC 2018
        entry RPCA; float64); the high-pass is the separation's (``high_pass_cutoff``,
        by the flavour's rule: 5 or 6 rows at 100 Hz).

    Returns
    -------
    Models
        The binary background mask (``Models.from_mask``); ``info``: iterations and
        final error per channel.

    Examples
    --------
    >>> from repet_bench.stft import Stft
    >>> v = np.abs(np.random.default_rng(0).standard_normal((1025, 50, 1)))
    >>> models = rpca(v, Context(Stft(), 50 * 512), num_iterations=5, epsilon=1e-7,
    ...               flavour="sisec18")
    >>> sorted(np.unique(models.background_mask)), models.info["rpca_iterations"]
    ([np.float64(0.0), np.float64(1.0)], [5])
    """
    dtype = np.float64 if flavour == "sisec18" else magnitude.dtype
    mask = np.empty(magnitude.shape, dtype=dtype)
    iterations, errors = [], []
    for ch in range(magnitude.shape[-1]):
        low_rank, sparse, info = decompose(np.asarray(magnitude[..., ch], dtype=dtype),
                                           num_iterations, epsilon)
        mask[..., ch] = np.abs(sparse) <= np.abs(low_rank)  # nussl's gain 1
        iterations.append(info["iterations"])
        errors.append(info["error"])
    return Models.from_mask(mask, {"rpca_iterations": iterations, "rpca_error": errors})
