"""SiSEC 2018's oracle entries IBM1, IBM2, IRM1, IRM2 and MWF, as sigsep-mus-oracle made them.

The published oracle rows of SiSEC 2018 were computed by sigsep-mus-oracle (github
sigsep/sigsep-mus-oracle, ``IBM.py``, ``IRM.py``, ``MWF.py`` at commit f5ce674, run by its
``sisec18.sh``: IBM1/IBM2 with ``--alpha 1`` / ``2``, IRM1/IRM2 likewise, MWF). They are
not masks of two models, so they are outside the algorithm seam (registered with
``needs_sources``: the run's STFT, mask and phase do not apply). What they share:

* the mixture stream of the track (not the sum of the sources) and the four MUSDB18
  sources in musdb's order drums, bass, other, vocals;
* ``scipy.signal.stft(x.T, nperseg=2048)`` with scipy's other defaults (periodic Hann,
  hop 1024, zero boundary, padded, 'spectrum' scaling), channels independently, and
  ``scipy.signal.istft`` with its defaults, cut to the mixture's length;
* ``eps`` = float64 machine epsilon;
* one estimate per source by masking the mixture STFT; ``accompaniment`` = drums + bass +
  other estimates, summed in that order. SiSEC scored vocals and accompaniment as a
  pair (museval's ``eval_mus_track`` evaluates that pair on its own when both are
  given), as this harness scores every run.

The operations below are those of the original, in its order, so the estimates are its
numbers (``scripts/compare_oracles.py`` is an independent port; on the sample they agree
to floating-point rounding, see tests/test_sigsep_oracles.py).

Reference: Stöter, Liutkus & Ito, "The 2018 Signal Separation Evaluation Campaign",
LVA/ICA 2018.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.signal import istft, stft

from ..data import SOURCES
from .registry import register

METHODS = {"IBM1": ("ibm", 1), "IBM2": ("ibm", 2), "IRM1": ("irm", 1), "IRM2": ("irm", 2),
           "MWF": ("mwf", None)}
"""The SiSEC 2018 entry → (sigsep-mus-oracle rule, its ``--alpha``)."""

EPS = np.finfo(np.float64).eps
N_FFT = 2048        # sigsep-mus-oracle's nperseg; scipy's default hop is half of it
IBM_THETA = 0.5     # IBM.py's default threshold (a majority vote), used for IBM1 and IBM2


def _stft(audio: np.ndarray) -> np.ndarray:
    """``(samples, channels)`` → complex ``(channels, freq, frames)``, scipy's defaults."""
    return stft(audio.T, nperseg=N_FFT)[-1]


def _istft(spec: np.ndarray, n_samples: int) -> np.ndarray:
    """``(channels, freq, frames)`` → ``(n_samples, channels)``."""
    return istft(spec)[1].T[:n_samples, :]


def _ibm(mixture, sources, alpha):
    """Source j takes the bins where ``|S_j|^a / (eps + |X|^a) >= 0.5``."""
    x = _stft(mixture)
    mixture_power = EPS + np.abs(x) ** alpha
    for name in SOURCES:
        ratio = np.abs(_stft(sources[name])) ** alpha / mixture_power
        yield name, x * (ratio >= IBM_THETA)  # the original's 1.0 / 0.0 mask: same products


def _irm(mixture, sources, alpha):
    """Source j gets ``|S_j|^a / (eps + sum_k |S_k|^a)`` (the sum from eps, in order)."""
    x = _stft(mixture)
    powers, total = {}, EPS
    for name in SOURCES:
        powers[name] = np.abs(_stft(sources[name])) ** alpha
        total = total + powers[name]
    for name in SOURCES:
        yield name, x * (powers.pop(name) / total)


def _invert(m: np.ndarray) -> np.ndarray:
    """Inverse of the 2×2 matrices in the last two axes: ``adj(M) / (eps + det M)``."""
    inv_det = 1.0 / (EPS + m[..., 0, 0] * m[..., 1, 1] - m[..., 0, 1] * m[..., 1, 0])
    out = np.zeros(m.shape, dtype=complex)
    out[..., 0, 0] = inv_det * m[..., 1, 1]
    out[..., 1, 0] = -inv_det * m[..., 1, 0]
    out[..., 0, 1] = -inv_det * m[..., 0, 1]
    out[..., 1, 1] = inv_det * m[..., 0, 0]
    return out


def _mwf(mixture, sources, alpha=None):
    """Oracle multichannel Wiener filter with time-invariant spatial covariances.

    Per source: observed covariances ``C(f, t) = s s^H`` of its true STFT; a first PSD
    ``P0`` = mean over channels of ``|s|²``; ``R(f)`` = mean over frames of
    ``C / (eps + P0)``, scaled by ``I / np.trace(R)`` plus ``eps I`` (complex64); the
    PSD refined as ``(1/I) Re tr(R⁻¹ C)``. Mixture covariance ``Cxx = sum_j P_j R_j``;
    gain ``G_j = P_j R_j Cxx⁻¹`` accumulated in complex64; estimate ``G_j x``.

    Quirk kept: ``np.trace`` of ``R`` shaped ``(F, I, I)`` traces its first two axes, a
    length-I vector ``t[c] = sum_{k<I} R[k, k, c]`` (frequency bins 0 and 1 only), and
    every ``R[f, a, c]`` is divided by ``t[c]``, not by its own trace.
    """
    x = _stft(mixture)
    n_channels = x.shape[0]
    if n_channels != 2:
        raise ValueError(f"the MWF oracle inverts 2x2 spatial covariances, as "
                         f"sigsep-mus-oracle does: it needs stereo audio, got "
                         f"{n_channels} channel(s)")
    n_freq, n_frames = x.shape[1:]
    pairs = list(itertools.product(range(n_channels), repeat=2))
    psd, spatial = {}, {}
    for name in SOURCES:
        s = _stft(sources[name])
        observed = np.zeros((n_freq, n_frames, n_channels, n_channels), dtype=complex)
        for i1, i2 in pairs:
            observed[..., i1, i2] = s[i1] * np.conj(s[i2])
        first_psd = np.mean(np.abs(s) ** 2, axis=0)
        del s
        r = np.mean(observed / (EPS + first_psd[..., None, None]), axis=1)
        del first_psd
        r = r * n_channels / np.trace(r) + EPS * np.tile(
            np.eye(n_channels, dtype=np.complex64)[None], (n_freq, 1, 1))
        r_inv = _invert(r)
        p = 0
        for i1, i2 in pairs:
            p += 1.0 / n_channels * np.real(r_inv[:, i1, i2][:, None] * observed[..., i2, i1])
        del observed, r_inv
        psd[name], spatial[name] = p, r
    cxx = 0
    for name in SOURCES:
        cxx += psd[name][..., None, None] * spatial[name][:, None, ...]
    inv_cxx = _invert(cxx)
    del cxx
    for name in SOURCES:
        gain = np.zeros(inv_cxx.shape, dtype=np.complex64)
        weighted = psd.pop(name)[..., None, None] * spatial.pop(name)[:, None, ...]
        for i1, i2, i3 in itertools.product(range(n_channels), repeat=3):
            gain[..., i1, i2] += weighted[..., i1, i3] * inv_cxx[..., i3, i2]
        del weighted
        y = 0
        for i in range(n_channels):
            y += gain[..., i] * x[i, ..., None]
        del gain
        yield name, np.rollaxis(y, -1)


RULES = {"ibm": _ibm, "irm": _irm, "mwf": _mwf}


@register("sigsep_oracle", needs_sources=True, flavours=("sisec18",))
def sigsep_oracle(mixture: np.ndarray, sources: dict, *, method: str, flavour: str) -> dict:
    """One of SiSEC 2018's oracle entries, computed as sigsep-mus-oracle computed it.

    Parameters
    ----------
    mixture : ndarray, shape (samples, channels)
        The track's mixture stream (float64, as musdb decodes it).
    sources : dict of str to ndarray, shape (samples, channels)
        The true ``drums``, ``bass``, ``other`` and ``vocals``.
    method : {"IBM1", "IBM2", "IRM1", "IRM2", "MWF"}
        The entry (:data:`METHODS`).
    flavour : {"sisec18"}
        The only one: these are the SiSEC 2018 oracles (the ``oracle`` algorithm is the
        two-target oracle on the run's STFT and masks).

    Returns
    -------
    dict
        ``vocals`` and ``accompaniment`` estimates, ``(samples, channels)`` float64.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sources = {name: rng.standard_normal((44100, 2)) for name in SOURCES}
    >>> mixture = sum(sources.values())
    >>> est = sigsep_oracle(mixture, sources, method="IRM2", flavour="sisec18")
    >>> est["vocals"].shape, bool(np.abs(est["vocals"] - sources["vocals"]).mean() < 0.6)
    ((44100, 2), True)
    """
    if method not in METHODS:
        raise ValueError(f"algo.method={method!r}: use one of {', '.join(METHODS)}")
    if flavour != "sisec18":
        raise ValueError(f"algo.flavour={flavour!r}: the sigsep oracles exist only as "
                         "SiSEC 2018 made them (flavour sisec18); +algo=oracle is the "
                         "two-target oracle on the run's STFT and masks")
    missing = [name for name in SOURCES if name not in sources]
    wrong = [name for name in SOURCES if name in sources
             and np.shape(sources[name]) != mixture.shape]
    if missing or wrong:
        raise ValueError(f"the sigsep oracles need the four sources {', '.join(SOURCES)} "
                         f"shaped as the mixture {mixture.shape}; missing: "
                         f"{', '.join(missing) or 'none'}, other shape: {', '.join(wrong) or 'none'}")
    rule, alpha = METHODS[method]
    n_samples = mixture.shape[0]
    estimates, accompaniment = {}, 0
    with np.errstate(invalid="ignore", divide="ignore"):  # non-finite: refused below
        for name, spec in RULES[rule](mixture, sources, alpha):
            estimate = _istft(spec, n_samples)
            del spec
            if name == "vocals":
                estimates["vocals"] = estimate
            else:  # the original's accumulator: 0 + drums + bass + other
                accompaniment += estimate
    estimates["accompaniment"] = accompaniment
    if not all(np.isfinite(e).all() for e in estimates.values()):
        # MWF.py divides by the spatial covariances' trace over bins 0 and 1: 0 / 0 for a
        # source silent there (digital silence), which makes every estimate NaN.
        raise ValueError(f"sigsep-mus-oracle's {method} rule gives non-finite estimates "
                         "on this track (a digitally silent source: MWF.py normalises by "
                         "its energy in the two lowest frequency bins); the original would "
                         "score NaN, so no score is given")
    return estimates
