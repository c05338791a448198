"""BSS Eval v4 (museval ``mode='v4'``) with the same numbers, computed much faster.

The definition is museval's BSS Eval v4 -- Vincent, Gribonval & Févotte, "Performance
measurement in blind audio source separation", IEEE TASLP 14(4), 2006, with the
time-invariant distortion filters of Stöter, Liutkus & Ito, "The 2018 Signal Separation
Evaluation Campaign", LVA/ICA 2018 -- exactly as ``museval.evaluate(references,
estimates, win, hop, mode='v4', padding=True)`` computes it, i.e.
``museval.metrics.bss_eval(compute_permutation=False, framewise_filters=False,
bsseval_sources_version=False)``:

* estimates are zero-padded or truncated to the reference length;
* for every estimate ``j`` two least-squares FIR projections with ``filters_len`` taps
  (lags ``0..filters_len-1``) are fitted over the whole track: ``P`` onto all delayed
  reference channels (joint system ``(G + eps I) C = D``) and ``Pj`` onto the delayed
  channels of reference ``j`` only (the ``j`` diagonal block of the same system);
* per frame ``[s, e)`` the filters are applied to the *frame-cut* references, giving
  ``e - s + filters_len - 1`` output samples, and
  ``e_spat = Pj - s_true``, ``e_interf = P - s_true - e_spat``,
  ``e_artif = est - s_true - e_spat - e_interf``;
  SDR = ``|s|^2 / |e_spat + e_interf + e_artif|^2``, ISR = ``|s|^2 / |e_spat|^2``,
  SIR = ``|s + e_spat|^2 / |e_interf|^2``, SAR = ``|s + e_spat + e_interf|^2 / |e_artif|^2``
  in dB (``+inf`` when the denominator is exactly 0);
* a frame is NaN for every source and metric when, in that frame, any reference or any
  estimate is "silent": the sum over channels is exactly 0 at every sample.

What differs is only how it is computed:

* All FFTs are short real FFTs of overlapping blocks (overlap-save, length ``block_len``,
  16384 by default) instead of power-of-two complex FFTs of the whole track: the
  correlations ``G`` and ``D`` are sums over blocks of per-block cross-spectra (summed in
  the frequency domain, so one small inverse FFT per channel pair), and the projections
  are overlap-save convolutions with the reference block spectra.
* Everything that depends only on the references (block spectra, the Gram matrix ``G``
  in compact lag form, LU factorizations of ``G + eps I`` and of its per-source diagonal
  blocks) is a :class:`ReferenceStats`, computed once per track and reusable for every
  estimate of that track (``save``/``load`` to ``.npz``).
* The frame loop is vectorised: the whole-track projection equals the frame-local one
  except in the first and last ``filters_len - 1`` output samples of each frame, which are
  recomputed exactly by batched short convolutions of the frame edges; the interior is
  summed per segment between frame boundaries.
* Memory is bounded by chunking over blocks: no ``(nsrc*nchan*filters_len)``-sized
  signal copies, no full-length complex spectra (except the optional cached reference
  spectra, about the size of the references).

Agreement (:data:`AGREEMENT_DB`, :data:`ILL_CONDITIONED_AGREEMENT_DB`, what the tests
hold it to): on references with a well-conditioned Gram matrix every metric equals
museval's within :data:`AGREEMENT_DB`. When ``G`` is numerically singular (band-limited
references, e.g. the empty top octave of lossy-coded stems; see
:attr:`ReferenceStats.rcond`), museval's ISR/SIR/SAR are themselves dominated by
rounding: they move by as much under a 1e-12 relative change of the input as they differ
from ours. SDR uses no filter and always agrees within :data:`AGREEMENT_DB`.

Units: signals are float64 samples, lengths in samples, metrics in dB.
"""

from __future__ import annotations

import os
from pathlib import Path
import warnings
from dataclasses import dataclass, fields

import numpy as np
import scipy.fft as sfft
import scipy.linalg as sla
from threadpoolctl import threadpool_limits

__all__ = ["ReferenceStats", "reference_stats", "bss_eval_v4", "frame_bounds", "save", "load"]

EPS = np.finfo(np.float64).eps  # museval regularises G + eps*I with this absolute eps
MAX_SOURCES = 100  # same guard as museval.metrics.MAX_SOURCES
# Version of the cached reference statistics (runner's refstats key): 2 = LU factors on one
# BLAS thread, the same whatever the thread count of the run that cached them.
STATS_VERSION = 2
# The agreement with museval the tests demand (tests/test_bsseval_fast.py): every metric on
# well-conditioned references, and SDR always ...
AGREEMENT_DB = 1e-6
# ... and ISR/SIR/SAR on band-limited real stems (observed ~1e-4 dB on the MUSDB18 sample,
# as much as museval moves under a 1e-12 relative perturbation of its input).
ILL_CONDITIONED_AGREEMENT_DB = 1e-2
DEFAULT_BLOCK_LEN = 16384  # overlap-save FFT length: cache friendly, ~3 % overlap at 512 taps
_CHUNK_BYTES = 24 * 2**20  # working-set target of one chunk of block spectra
_EDGE_FRAMES = 256  # frames per batch of edge convolutions

_MSG_REF_SILENT = (
    "All the reference sources should be non-silent (not all-zeros), but at least one "
    "of the reference sources is all 0s, which introduces ambiguity to the evaluation. "
    "(Otherwise we can add infinitely many all-zero sources.)"
)
_MSG_EST_SILENT = (
    "All the estimated sources should be non-silent (not all-zeros), but at least one of "
    "the estimated sources is all 0s. Since we require each reference source to be "
    "non-silent, having a silent estimated source will result in an underdetermined "
    "system."
)


# --------------------------------------------------------------------------- #
# Reference statistics
# --------------------------------------------------------------------------- #
@dataclass(frozen=True, eq=False)
class ReferenceStats:
    """Reference-only quantities of BSS Eval v4 for one track, reusable across estimates.

    Channel index ``m = j * nchan + c`` (source ``j``, channel ``c``), as in museval.

    Attributes
    ----------
    shape : np.ndarray, shape=(3,), int64
        ``(nsrc, nsamples, nchan)`` of the references.
    filters_len : int
        Number of distortion-filter taps (lags ``0..filters_len-1``).
    block_len : int
        Overlap-save FFT length ``K``; blocks hop by ``K - filters_len + 1`` samples.
    energy : np.ndarray, shape=(nsrc*nchan,)
        Energy (sum of squares) of each reference channel; a cheap fingerprint used to
        refuse stats computed from other references.
    xcorr : np.ndarray, shape=(nsrc*nchan, nsrc*nchan, filters_len)
        ``xcorr[p, q, a] = sum_t r_p[t] r_q[t - a]``: the lags that define the
        block-Toeplitz Gram matrix ``G`` (see :attr:`gram`).
    lu, piv : np.ndarray, shapes=(n, n), (n,) with ``n = nsrc*nchan*filters_len``
        LU factorization (``scipy.linalg.lu_factor``) of ``G + eps I``, the matrix museval
        solves with ``np.linalg.solve``. If ``G + eps I`` is exactly singular (museval
        would fall back to ``lstsq(G, D)``), ``lu`` holds ``pinv(G)`` with lstsq's cutoff
        and ``piv`` is empty.
    lu_own, piv_own : np.ndarray, shapes=(nsrc, n1, n1), (nsrc, n1), ``n1 = nchan*filters_len``
        Same for each diagonal block ``G_jj + eps I`` (per-source projection filters);
        a block that needed ``pinv`` has pivots ``-1``.
    rcond : np.ndarray, shape=(nsrc + 1,)
        LAPACK estimate of the reciprocal 1-norm condition number of ``G + eps I`` and of
        each ``G_jj + eps I`` (0 where singular). A diagnostic of how much museval's
        ISR/SIR/SAR depend on rounding: white noise gives ~1e-2 (agreement ~1e-14 dB), the
        benchmark's synthetic music ~1e-8 (~1e-10 dB), the AAC-coded MUSDB18 excerpt
        shipped with stempeg ~2e-14 (~1e-4 dB, as much as museval itself moves under a
        1e-12 relative perturbation of its input). SDR uses no filter and stays exact.
    spectra : np.ndarray, shape=(nsrc*nchan, nblocks, block_len//2 + 1), complex128
        Real FFTs of the overlapping reference blocks ``r[b*hop - filters_len + 1 :
        b*hop + hop]``, or an empty array when not kept (recomputed on the fly then).
    """

    shape: np.ndarray
    filters_len: int
    block_len: int
    energy: np.ndarray
    xcorr: np.ndarray
    lu: np.ndarray
    piv: np.ndarray
    lu_own: np.ndarray
    piv_own: np.ndarray
    rcond: np.ndarray
    spectra: np.ndarray

    @property
    def nsrc(self) -> int:
        return int(self.shape[0])

    @property
    def nsamples(self) -> int:
        return int(self.shape[1])

    @property
    def nchan(self) -> int:
        return int(self.shape[2])

    @property
    def has_spectra(self) -> bool:
        return self.spectra.size > 0

    @property
    def joint_pinv(self) -> bool:
        """True if ``G + eps I`` was exactly singular and ``lu`` holds ``pinv(G)``."""
        return self.piv.size == 0

    @property
    def nbytes(self) -> int:
        """Total bytes of the arrays (what :meth:`save` writes, up to the npz headers)."""
        return int(sum(np.asarray(getattr(self, f.name)).nbytes for f in fields(self)))

    @property
    def gram(self) -> np.ndarray:
        """Gram matrix ``G``, shape ``(nsrc*nchan*filters_len,) * 2`` (without ``eps``).

        ``G[(p, a), (q, b)] = sum_t r_p[t - a] r_q[t - b]``, museval's ``_reshape_G``
        ordering. Built on demand from :attr:`xcorr` (32 MB for a stereo pair).
        """
        return _gram_from_xcorr(self.xcorr)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The fields as named arrays (what :mod:`repet_bench.cache` stores)."""
        return {f.name: np.asarray(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> "ReferenceStats":
        """Inverse of :meth:`to_arrays`."""
        kw = {f.name: arrays[f.name] for f in fields(cls)}
        kw["filters_len"] = int(kw["filters_len"])
        kw["block_len"] = int(kw["block_len"])
        return cls(**kw)

    def save(self, path: str | os.PathLike) -> None:
        """Write to ``path`` (an uncompressed ``.npz``, no pickle) with its content digest,
        atomically (:func:`repet_bench.cache.store`)."""
        from .cache import store

        store(Path(path), self.to_arrays())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "ReferenceStats":
        """Read a file written by :meth:`save`, verified against its digest.

        Raises
        ------
        FileNotFoundError
            No usable file at ``path`` (a damaged one is reported and deleted).
        """
        from .cache import fetch

        arrays = fetch(Path(path), "reference statistics")
        if arrays is None:
            raise FileNotFoundError(f"no usable reference statistics at {path}")
        return cls.from_arrays(arrays)


def save(stats: ReferenceStats, path: str | os.PathLike) -> None:
    """Module-level alias of :meth:`ReferenceStats.save`."""
    stats.save(path)


def load(path: str | os.PathLike) -> ReferenceStats:
    """Module-level alias of :meth:`ReferenceStats.load`."""
    return ReferenceStats.load(path)


def reference_stats(
    references,
    filters_len: int = 512,
    *,
    keep_spectra: bool = True,
    block_len: int | None = None,
) -> ReferenceStats:
    """Everything of BSS Eval v4 that depends only on the references.

    Parameters
    ----------
    references : array_like, shape=(nsrc, nsamples, nchan)
        True sources (float, converted to float64). ``(nsrc, nsamples)`` is taken as mono.
    filters_len : int
        Distortion filter taps; museval.evaluate uses 512.
    keep_spectra : bool
        Keep the reference block spectra (about the size of the references: ~290 MB for
        a 204 s stereo pair) so that evaluations skip those FFTs. ``False`` keeps only
        ``G`` and its factorizations (~50 MB for a stereo pair, any duration).
    block_len : int, optional
        Overlap-save FFT length; default 16384 (shorter for short signals).

    Returns
    -------
    ReferenceStats

    Raises
    ------
    ValueError
        If a reference source is silent (sums over channels all exactly 0), like museval.
    """
    R = _as_3d(references)
    _check_nsrc(R)
    if R.size == 0:
        raise ValueError("references are empty")
    L = int(filters_len)
    if L < 1:
        raise ValueError(f"filters_len must be >= 1, got {filters_len}")
    J, N, I = R.shape
    M = J * I
    K = _choose_block_len(N, L, block_len)
    geo = _Blocks(N, L, K)

    energy = np.zeros(M)
    silent = np.ones(J, dtype=bool)
    for t0, t1 in _time_chunks(N, M):
        x = R[:, t0:t1, :]
        energy += _energy(x)
        silent &= ~np.any(_chan_sum(x) != 0, axis=1)
    if np.any(silent):
        raise ValueError(_MSG_REF_SILENT)

    spectra = (
        np.empty((M, geo.nblocks, geo.nfreq), dtype=np.complex128)
        if keep_spectra
        else np.empty((0, 0, 0), dtype=np.complex128)
    )
    # xcorr lags from sum over blocks of conj(plain block of r_p) * (segment of r_q)
    acc = np.zeros((geo.nfreq, M, M), dtype=np.complex128)
    for b0, b1 in geo.chunks(M):
        seg = geo.segment_spectra(R, N, b0, b1)
        if keep_spectra:
            spectra[:, b0:b1] = seg
        plain = geo.plain_spectra(R, N, b0, b1)
        _accumulate_cross(acc, plain, seg)
        del seg, plain
    xcorr = _lags_from_cross(acc, K, L)  # (M, M, L): sum_t r_p[t] r_q[t - a]
    del acc
    # Both ordered pairs give the zero lag; make it exactly symmetric like museval's G.
    z = xcorr[:, :, 0]
    xcorr[:, :, 0] = 0.5 * (z + z.T)

    G = _gram_from_xcorr(xcorr)
    n1 = I * L
    own = [G[j * n1 : (j + 1) * n1, j * n1 : (j + 1) * n1].copy() for j in range(J)]
    rcond = np.zeros(J + 1)
    lu, piv, rcond[0] = _factor(G, xcorr, None)
    del G
    lu_own = np.empty((J, n1, n1))
    piv_own = np.empty((J, n1), dtype=np.int32)
    for j in range(J):
        if J == 1:  # museval's per-source system is then the joint one, bit for bit
            a, p, rcond[1] = lu.copy(), piv.copy(), rcond[0]
        else:
            a, p, rcond[j + 1] = _factor(own[j], xcorr, j)
        own[j] = None
        if p.size == 0:  # pinv instead of LU: marked by pivots of -1 (LU pivots >= 0)
            p = np.full(n1, -1, dtype=np.int32)
        lu_own[j], piv_own[j] = a, p
    return ReferenceStats(
        shape=np.array([J, N, I], dtype=np.int64),
        filters_len=L,
        block_len=K,
        energy=energy,
        xcorr=xcorr,
        lu=lu,
        piv=piv,
        lu_own=lu_own,
        piv_own=piv_own,
        rcond=rcond,
        spectra=spectra,
    )


def _factor(G: np.ndarray, xcorr: np.ndarray, j: int | None):
    """LU of ``G + eps I`` (overwrites ``G``), or ``(pinv, empty)`` if exactly singular.

    museval calls ``np.linalg.solve(G + eps*I, D)`` and only on ``LinAlgError`` (an
    exactly zero pivot) ``np.linalg.lstsq(G, D)``. (With numpy >= 2 its ``except
    np.linalg.linalg.LinAlgError`` clause itself raises AttributeError, so museval
    crashes there; we use the intended fallback.)
    """
    n = G.shape[0]
    G.flat[:: n + 1] += EPS
    anorm = np.abs(G).sum(axis=0).max()
    # One BLAS thread: a multithreaded LU sums in another order (factors ~0.02 apart on
    # the MUSDB18 sample's ill-conditioned G), and the factors are cached for every later
    # run, so the scores would depend on the thread count of the run that filled the cache.
    with warnings.catch_warnings(), threadpool_limits(1, user_api="blas"):
        warnings.simplefilter("ignore", sla.LinAlgWarning)
        lu, piv = sla.lu_factor(G, overwrite_a=True, check_finite=False)
    if np.all(np.diagonal(lu) != 0):
        with threadpool_limits(1, user_api="blas"):
            rcond = sla.lapack.dgecon(lu, anorm, norm="1")[0]
        return lu, piv.astype(np.int32), float(rcond)
    # rebuild G (without eps): lstsq's default cutoff is eps * max(shape) * s_max
    Gs = _gram_from_xcorr(xcorr)
    if j is not None:  # diagonal block of source j (n = nchan * filters_len)
        Gs = Gs[j * n : (j + 1) * n, j * n : (j + 1) * n]
    return np.linalg.pinv(Gs, rcond=EPS * n), np.empty(0, dtype=np.int32), 0.0


def _solve(lu: np.ndarray, piv: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    if piv.size == 0 or piv[0] < 0:
        return lu @ rhs
    return sla.lu_solve((lu, piv), rhs, check_finite=False)


def _gram_from_xcorr(xcorr: np.ndarray) -> np.ndarray:
    """Block-Toeplitz Gram matrix from lags ``xcorr[p, q, a] = sum_t r_p[t] r_q[t-a]``.

    ``G[(p, a), (q, b)] = sum_u r_p[u] r_q[u + a - b]`` = ``xcorr[p, q, b - a]`` for
    ``b >= a`` and ``xcorr[q, p, a - b]`` otherwise.
    """
    M, _, L = xcorr.shape
    both = np.empty((M, M, 2 * L - 1))
    both[:, :, L - 1 :] = xcorr
    both[:, :, : L - 1] = xcorr.transpose(1, 0, 2)[:, :, L - 1 : 0 : -1]
    lag = (L - 1) + np.arange(L)[None, :] - np.arange(L)[:, None]  # [a, b] -> b - a
    G = both[:, :, lag]  # (p, q, a, b)
    del both
    return np.ascontiguousarray(G.transpose(0, 2, 1, 3)).reshape(M * L, M * L)


# --------------------------------------------------------------------------- #
# Evaluation
# --------------------------------------------------------------------------- #
def frame_bounds(nsamples: int, win, hop) -> tuple[np.ndarray, np.ndarray]:
    """Frame starts and stops (samples) exactly as museval's ``Framing``.

    ``nwin = floor((nsamples - win + hop) / hop)`` if ``win < nsamples`` else 1, frame
    ``t`` is ``[floor(t*hop), floor(min(t*hop + win, nsamples)))``. So a trailing partial
    frame is dropped, and a signal shorter than ``win`` is one frame covering it all.
    ``win=np.inf`` gives one whole-signal frame.
    """
    if not (win > 0 and hop > 0):
        raise ValueError(f"win and hop must be positive, got win={win}, hop={hop}")
    if win < nsamples:
        nwin = int(np.floor((nsamples - win + hop) / hop))
    else:
        nwin = 1
    starts = np.empty(nwin, dtype=np.int64)
    stops = np.empty(nwin, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        for t in range(nwin):
            start = t * hop
            if np.isnan(start) or np.isinf(start):
                start = 0
            stop = min(t * hop + win, nsamples)
            if np.isnan(stop) or np.isinf(stop):
                stop = nsamples
            starts[t] = int(np.floor(start))
            stops[t] = int(np.floor(stop))
    return starts, stops


def bss_eval_v4(
    references,
    estimates,
    win=44100,
    hop=44100,
    ref_stats: ReferenceStats | None = None,
    *,
    filters_len: int | None = None,
):
    """Framewise BSS Eval v4 metrics, identical to ``museval.evaluate(..., mode='v4')``.

    Parameters
    ----------
    references : array_like, shape=(nsrc, nsamples, nchan)
        True source images (float; computed in float64).
    estimates : array_like, shape=(nsrc, nsamples_est, nchan)
        Estimated source images, in the same source order (no permutation search, as in
        museval's v4 path). Zero-padded or truncated to ``nsamples`` like museval's
        ``pad_or_truncate``.
    win, hop : int or float
        Frame length and hop in samples (museval.evaluate defaults: 44100 and 44100).
    ref_stats : ReferenceStats, optional
        Output of :func:`reference_stats` for these references, to skip their
        computation. Must match shape, ``filters_len`` and channel energies.
    filters_len : int, optional
        Distortion-filter taps; default 512 as in museval.evaluate, or that of
        ``ref_stats``.

    Returns
    -------
    SDR, ISR, SIR, SAR : np.ndarray, each shape=(nsrc, nframes), dB
        NaN in frames where any reference or estimate is silent.

    Raises
    ------
    ValueError
        Shape mismatch, or a whole reference or estimate source silent (as museval).
    """
    R = _as_3d(references)
    E = _as_3d(estimates)
    J, N, I = R.shape
    if E.shape[0] != J or E.shape[2] != I:
        raise ValueError(
            "The shape of estimated sources and the true sources should match. "
            f"reference_sources.shape = {R.shape}, estimated_sources.shape = "
            f"{(E.shape[0], N, E.shape[2])}"
        )
    _check_nsrc(R)
    if R.size == 0:
        warnings.warn("references are empty: returning empty metrics, like museval")
        return tuple(np.array([]) for _ in range(4))
    # pad_or_truncate done lazily: estimate samples at or beyond Ne are read as zeros
    Ne = min(E.shape[1], N)
    M = J * I

    check_energy = ref_stats is not None
    if ref_stats is None:
        L = 512 if filters_len is None else int(filters_len)
    else:
        L = ref_stats.filters_len
        if filters_len is not None and int(filters_len) != L:
            raise ValueError(f"filters_len={filters_len} but ref_stats has {L}")
        if tuple(int(v) for v in ref_stats.shape) != (J, N, I):
            raise ValueError(
                f"ref_stats is for shape {tuple(ref_stats.shape)}, references are {R.shape}"
            )
    if L < 1:
        raise ValueError(f"filters_len must be >= 1, got {L}")

    starts, stops = frame_bounds(N, win, hop)
    nfr = len(starts)
    head = np.minimum(stops - starts, L - 1)  # head outputs [s, s + head) of each frame
    bps = np.unique(np.concatenate([[0, N], starts, starts + head, stops]))
    seg_full = (np.searchsorted(bps, starts), np.searchsorted(bps, stops))
    seg_int = (np.searchsorted(bps, starts + head), seg_full[1])

    # Pass 0 (time domain): silence per source and segment, reference energies.
    nz_ref = _SegmentSums(bps, J)
    nz_est = _SegmentSums(bps, J)
    energy = np.zeros(M)
    for t0, t1 in _time_chunks(N, M):
        x = R[:, t0:t1, :]
        if check_energy:
            energy += _energy(x)
        nz_ref.add(t0, (_chan_sum(x) != 0).astype(np.float64))
        if t0 < Ne:
            y = E[:, t0 : min(t1, Ne), :]
            nz_est.add(t0, (_chan_sum(y) != 0).astype(np.float64))
    if np.any(nz_ref.sums.sum(axis=1) == 0):
        raise ValueError(_MSG_REF_SILENT)
    if np.any(nz_est.sums.sum(axis=1) == 0):
        raise ValueError(_MSG_EST_SILENT)
    if check_energy and not np.allclose(energy, ref_stats.energy, rtol=1e-9, atol=0):
        raise ValueError("ref_stats were computed from different references")
    silent = np.zeros(nfr, dtype=bool)
    for nz in (nz_ref, nz_est):
        silent |= np.any(nz.frame_sums(*seg_full) == 0, axis=0)
    del nz_ref, nz_est

    if ref_stats is None:  # spectra are recomputed in each pass: 1/3 the peak memory
        ref_stats = reference_stats(R, L, keep_spectra=False)
    K = ref_stats.block_len
    geo = _Blocks(N, L, K)

    def ref_spectra(b0, b1):
        if ref_stats.has_spectra:
            return ref_stats.spectra[:, b0:b1]
        return geo.segment_spectra(R, N, b0, b1)

    # Pass 1: D[j, q, a, c] = sum_t r_q[t - a] e_{j,c}[t] via block cross-spectra.
    acc = np.zeros((geo.nfreq, M, M), dtype=np.complex128)
    for b0, b1 in geo.chunks(2 * M):
        _accumulate_cross(acc, geo.plain_spectra(E, Ne, b0, b1), ref_spectra(b0, b1))
    dt = _lags_from_cross(acc, K, L)  # (p=(j,c), q, a)
    del acc
    D = dt.reshape(J, I, M, L).transpose(0, 2, 3, 1)  # (j, q, a, c)

    # Filters: joint system for all estimates at once, per-source diagonal blocks.
    rhs = np.ascontiguousarray(D.transpose(1, 2, 0, 3)).reshape(M * L, J * I)
    Cj = _solve(ref_stats.lu, ref_stats.piv, rhs).reshape(M, L, J, I).transpose(2, 0, 3, 1)
    Co = np.empty((J, I, I, L))  # (j, cin, cout, tap)
    for j in range(J):
        if J == 1:
            Co[0] = Cj[0]
            continue
        r = np.ascontiguousarray(D[j, j * I : (j + 1) * I]).reshape(I * L, I)
        c = _solve(ref_stats.lu_own[j], ref_stats.piv_own[j], r)
        Co[j] = c.reshape(I, L, I).transpose(0, 2, 1)
    C_joint = np.ascontiguousarray(Cj)  # (j, m, cout, tap)

    # Pass 2: whole-track projections (overlap-save), museval's terms summed per segment.
    Fj = sfft.rfft(C_joint, n=K, axis=-1)  # (j, m, cout, f)
    Fo = sfft.rfft(Co, n=K, axis=-1)  # (j, cin, cout, f)
    terms = [_SegmentSums(bps, 7) for _ in range(J)]
    for b0, b1 in geo.chunks(3 * M):
        t0, t1 = b0 * geo.hop, min(b1 * geo.hop, N)
        if t1 <= t0:  # blocks holding only the convolution tail past N: no interior
            continue
        S = ref_spectra(b0, b1)  # (m, b, f)
        for j in range(J):
            P = _overlap_save(_mix(Fj[j], S), K, L, t1 - t0)
            own = S[j * I : (j + 1) * I]
            Pj = _overlap_save(_mix(Fo[j], own), K, L, t1 - t0)
            s = _slab(R[j : j + 1], t0, t1, N)
            y = _slab(E[j : j + 1], t0, t1, Ne)
            terms[j].add(t0, _terms(s, y, Pj, P))
            del P, Pj, s, y
    interior = np.stack([tm.frame_sums(*seg_int) for tm in terms])  # (j, 7, frame)

    # Frame edges: the first and last filters_len-1 outputs of each frame, exactly.
    edges = _edge_terms(R, E, Ne, starts, stops, head, C_joint, Co)  # (j, 7, frame)
    q = interior + edges

    with np.errstate(divide="ignore", invalid="ignore"):
        out = []
        for num, den in ((0, 1), (0, 2), (3, 4), (5, 6)):
            v = 10.0 * np.log10(q[:, num] / q[:, den])
            v[q[:, den] == 0] = np.inf
            v[:, silent] = np.nan
            out.append(v)
    return tuple(out)


# --------------------------------------------------------------------------- #
# Helpers
# --------------------------------------------------------------------------- #
def _as_3d(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim > 3:
        raise ValueError(f"expected (nsrc, nsamples, nchan), got ndim={x.ndim}")
    return np.atleast_3d(x)


def _check_nsrc(R: np.ndarray) -> None:
    if R.shape[0] > MAX_SOURCES:
        raise ValueError(f"{R.shape[0]} sources > MAX_SOURCES = {MAX_SOURCES}")


def _choose_block_len(N: int, L: int, block_len: int | None) -> int:
    if block_len is not None:
        K = int(block_len)
        if K < 2 * L:
            raise ValueError(f"block_len={K} must be >= 2*filters_len={2 * L}")
        return K
    K = max(DEFAULT_BLOCK_LEN, sfft.next_fast_len(4 * L, real=True))
    # short signals: one block of length >= N + 2L - 2 is enough
    return max(min(K, sfft.next_fast_len(N + 2 * L - 2, real=True)), 2 * L)


def _chan_sum(x: np.ndarray) -> np.ndarray:
    """``np.sum(x, axis=2)`` for museval's silence rule, as a faster channel loop (the
    same left-to-right additions numpy does for fewer than 8 channels)."""
    if x.shape[2] >= 8:
        return np.sum(x, axis=2)
    out = x[:, :, 0].copy()
    for c in range(1, x.shape[2]):
        out += x[:, :, c]
    return out


def _energy(x: np.ndarray) -> np.ndarray:
    """Per-channel sum of squares of ``(nsrc, T, nchan)`` -> ``(nsrc*nchan,)``."""
    return np.einsum("jtc,jtc->jc", x, x).reshape(-1)


def _time_chunks(n: int, nsig: int):
    """Sample ranges of about _CHUNK_BYTES for ``nsig`` float64 signals (fixed sizes, so
    that chunked sums are reproducible bit for bit)."""
    size = max(1, _CHUNK_BYTES // (8 * nsig))
    for t0 in range(0, n, size):
        yield t0, min(n, t0 + size)


def _slab(x: np.ndarray, t0: int, t1: int, nvalid: int) -> np.ndarray:
    """Samples ``[t0, t1)`` of ``x`` (nsrc, nsamples, nchan) as ``(nsrc*nchan, t1-t0)``,
    zero outside ``[0, nvalid)`` (this is where estimates get padded/truncated)."""
    J, _, I = x.shape
    out = np.zeros((J, I, t1 - t0))
    a, b = max(t0, 0), min(t1, nvalid)
    if b > a:
        out[:, :, a - t0 : b - t0] = x[:, a:b, :].transpose(0, 2, 1)
    return out.reshape(J * I, t1 - t0)


class _Blocks:
    """Overlap-save geometry: block ``b`` has outputs ``[b*hop, (b+1)*hop)`` and reads the
    segment ``[b*hop - (L-1), (b+1)*hop)`` of length ``K``; ``nblocks`` blocks cover the
    ``N + L - 1`` samples of a full linear convolution."""

    def __init__(self, N: int, L: int, K: int):
        self.N, self.L, self.K = N, L, K
        self.hop = K - (L - 1)
        self.nblocks = -(-(N + L - 1) // self.hop)
        self.nfreq = K // 2 + 1

    def chunks(self, nsig: int):
        """Block ranges whose spectra for ``nsig`` signals take about _CHUNK_BYTES."""
        per = max(1, _CHUNK_BYTES // (16 * nsig * self.nfreq))
        for b0 in range(0, self.nblocks, per):
            yield b0, min(self.nblocks, b0 + per)

    def segment_spectra(self, x, nvalid, b0, b1):
        """Spectra of the overlapping segments ``[b*hop - (L-1), (b+1)*hop)`` (length K),
        shape (m, b, f); samples outside ``[0, nvalid)`` read as zeros."""
        return self._spectra(x, nvalid, b0, b1, self.L - 1)

    def plain_spectra(self, x, nvalid, b0, b1):
        """Spectra of the blocks ``[b*hop, (b+1)*hop)`` zero-padded to K, shape (m, b, f)."""
        return self._spectra(x, nvalid, b0, b1, 0)

    def _spectra(self, x, nvalid, b0, b1, pre):
        # Fill a contiguous (src, chan, block, K) buffer straight from the (src, time,
        # chan) input: a strided sliding-window view would make the FFT ~2x slower.
        J, _, I = x.shape
        nb, hop = b1 - b0, self.hop
        buf = np.zeros((J, I, nb, self.K))
        t0, t1 = b0 * hop, min(b1 * hop, nvalid)
        if t1 > t0:
            full = (t1 - t0) // hop
            if full:
                src = x[:, t0 : t0 + full * hop, :].reshape(J, full, hop, I)
                buf[:, :, :full, pre : pre + hop] = src.transpose(0, 3, 1, 2)
            rem = t1 - t0 - full * hop
            if rem:
                buf[:, :, full, pre : pre + rem] = x[:, t1 - rem : t1, :].transpose(0, 2, 1)
        if pre:
            # segment b starts with the last `pre` samples of block b-1 (needs hop >= pre)
            buf[:, :, 1:, :pre] = buf[:, :, :-1, hop : hop + pre]
            a, b = max(t0 - pre, 0), min(t0, nvalid)
            if b > a:
                buf[:, :, 0, pre - (t0 - a) : pre - (t0 - b)] = x[:, a:b, :].transpose(0, 2, 1)
        return sfft.rfft(buf.reshape(J * I, nb, self.K), axis=-1, overwrite_x=True)


def _accumulate_cross(acc: np.ndarray, X: np.ndarray, Y: np.ndarray) -> None:
    """``acc[f, p, q] += sum_b conj(X[p, b, f]) * Y[q, b, f]`` (batched small matmuls).

    ``X`` is overwritten by its conjugate."""
    np.conjugate(X, out=X)  # X is a fresh temporary: conjugate in place, no allocation
    acc += np.matmul(X.transpose(2, 0, 1), Y.transpose(2, 1, 0))


def _lags_from_cross(acc: np.ndarray, K: int, L: int) -> np.ndarray:
    """From summed cross-spectra (plain block of x_p vs segment of x_q) to
    ``out[p, q, a] = sum_t x_p[t] x_q[t - a]``, ``a = 0..L-1``, shape (P, Q, L).

    ``irfft(conj(X) Y)[m] = sum_u x[u] y_seg[u + m]`` and the segment starts L-1 samples
    before the block, so index ``m`` is lag ``m - (L-1)``; no wrap since u+m < K."""
    x = sfft.irfft(acc, n=K, axis=0)[:L]  # (m, p, q)
    return np.ascontiguousarray(x[::-1].transpose(1, 2, 0))


def _mix(F: np.ndarray, S: np.ndarray) -> np.ndarray:
    """``out[c, b, f] = sum_m F[m, c, f] * S[m, b, f]``: filter spectra ``(m, c, f)``
    applied to block spectra ``(m, b, f)`` (a loop beats einsum for a few channels)."""
    out = np.empty((F.shape[1],) + S.shape[1:], dtype=np.complex128)
    tmp = np.empty(S.shape[1:], dtype=np.complex128)
    for c in range(F.shape[1]):
        np.multiply(S[0], F[0, c], out=out[c])
        for m in range(1, F.shape[0]):
            out[c] += np.multiply(S[m], F[m, c], out=tmp)
    return out


def _overlap_save(spec: np.ndarray, K: int, L: int, n: int) -> np.ndarray:
    """Valid overlap-save outputs of block spectra ``(c, b, f)`` -> ``(c, n)``."""
    y = sfft.irfft(spec, n=K, axis=-1)[:, :, L - 1 :]
    return y.reshape(y.shape[0], -1)[:, :n]


def _terms(s, y, pj, p) -> np.ndarray:
    """museval's energy terms, summed over channels, per sample: shape (7, ..., T).

    Inputs ``(..., nchan, T)``: reference ``s``, estimate ``y``, per-source projection
    ``pj`` and joint projection ``p``. The terms are formed in museval's order of
    operations (so e.g. a perfect estimate gives a large finite SDR, as there):
    ``|s|^2, |e_spat+e_interf+e_artif|^2, |e_spat|^2, |s+e_spat|^2, |e_interf|^2,
    |s+e_spat+e_interf|^2, |e_artif|^2``.
    """
    e_spat = pj - s
    e_interf = (p - s) - e_spat
    e_artif = ((-s - e_spat) - e_interf) + y
    s_img = s + e_spat
    out = np.empty((7,) + s.shape[:-2] + s.shape[-1:])
    for k, v in enumerate(
        (s, (e_spat + e_interf) + e_artif, e_spat, s_img, e_interf, s_img + e_interf, e_artif)
    ):
        np.einsum("...ct,...ct->...t", v, v, out=out[k])
    return out


class _SegmentSums:
    """Per-row sums of a streamed ``(rows, T)`` signal over segments ``[bps[i], bps[i+1])``."""

    def __init__(self, bps: np.ndarray, rows: int):
        self.bps = bps
        self.sums = np.zeros((rows, len(bps) - 1))

    def add(self, t0: int, v: np.ndarray) -> None:
        t1 = t0 + v.shape[-1]
        inner = self.bps[(self.bps > t0) & (self.bps < t1)]
        cuts = np.concatenate([[t0], inner])
        seg = np.searchsorted(self.bps, cuts, side="right") - 1
        self.sums[:, seg] += np.add.reduceat(v, cuts - t0, axis=-1)

    def frame_sums(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Sums over segments ``a[f] .. b[f]-1`` for each frame -> ``(rows, nframes)``."""
        ext = np.concatenate([self.sums, np.zeros((self.sums.shape[0], 1))], axis=1)
        idx = np.empty(2 * len(a), dtype=np.int64)
        idx[0::2], idx[1::2] = a, b
        out = np.add.reduceat(ext, idx, axis=1)[:, 0::2]
        out[:, a >= b] = 0.0  # reduceat returns the element itself for empty ranges
        return out


def _edge_terms(R, E, Ne, starts, stops, head, C_joint, Co) -> np.ndarray:
    """Terms of the frame-local projections where they differ from the whole-track one.

    For frame ``[s, e)`` (``n = e - s``) the frame-cut convolution equals the whole-track
    one at outputs ``[s + L - 1, e)``. The head ``[s, s + min(n, L-1))`` only sees frame
    samples ``[s, s + L - 1)``; the tail ``[e, e + L - 1)`` only sees frame samples
    ``[e - L + 1, e)`` and has ``s_true = est = 0``. Both are short convolutions, batched
    over frames. Returns ``(nsrc, 7, nframes)``.
    """
    J, N, I = R.shape
    _, M, _, L = C_joint.shape
    nfr = len(starts)
    K2 = sfft.next_fast_len(max(2 * L - 2, 1), real=True)
    Fj = sfft.rfft(C_joint, n=K2, axis=-1)  # (j, m, cout, f)
    Fo = sfft.rfft(Co, n=K2, axis=-1)
    lags = np.arange(L - 1)
    out = np.zeros((J, 7, nfr))
    if L == 1:
        return out
    for f0 in range(0, nfr, _EDGE_FRAMES):
        sl = slice(f0, min(nfr, f0 + _EDGE_FRAMES))
        s0, e0, h0 = starts[sl], stops[sl], head[sl]
        ih = s0[:, None] + lags  # (F, L-1)
        vh = lags[None, :] < h0[:, None]
        it = e0[:, None] - (L - 1) + lags
        vt = it >= s0[:, None]
        H = _gather(R, ih, vh, N)  # (F, m, L-1)
        T = _gather(R, it, vt, N)
        Hs = sfft.rfft(H, n=K2, axis=-1)
        Ts = sfft.rfft(T, n=K2, axis=-1)
        first, last = slice(0, L - 1), slice(L - 1, 2 * L - 2)
        for j in range(J):
            own = slice(j * I, (j + 1) * I)
            # head: outputs 0..L-2 of the head window's convolution, masked to < head
            ph = _conv(Fj[j], Hs, K2)[..., first]
            pjh = _conv(Fo[j], Hs[:, own], K2)[..., first]
            yh = _gather(E[j : j + 1], ih, vh & (ih < Ne), Ne)
            th = _terms(H[:, own], yh, pjh, ph)  # (7, F, L-1)
            out[j, :, sl] += np.sum(th * vh, axis=-1)
            # tail: outputs L-1..2L-3 of the tail window's convolution; s_true = est = 0
            pt = _conv(Fj[j], Ts, K2)[..., last]
            pjt = _conv(Fo[j], Ts[:, own], K2)[..., last]
            zero = np.zeros_like(pt)
            out[j, :, sl] += np.sum(_terms(zero, zero, pjt, pt), axis=-1)
    return out


def _conv(F: np.ndarray, X: np.ndarray, n: int) -> np.ndarray:
    """Sum over input channels of circular convolutions: filter spectra ``(m, c, f)``,
    window spectra ``(frame, m, f)`` -> ``(frame, c, n)`` time samples."""
    return sfft.irfft(np.einsum("mcf,bmf->bcf", F, X), n=n, axis=-1)


def _gather(x, idx, valid, nvalid) -> np.ndarray:
    """``x[:, idx, :]`` masked by ``valid`` as ``(F, nsrc*nchan, W)`` for idx ``(F, W)``."""
    J, _, I = x.shape
    g = x[:, np.clip(idx, 0, max(nvalid - 1, 0)), :]  # (J, F, W, I)
    g = g * valid[None, :, :, None]
    F, W = idx.shape
    return np.ascontiguousarray(g.transpose(1, 0, 3, 2)).reshape(F, J * I, W)
