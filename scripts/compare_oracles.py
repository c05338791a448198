"""sigsep-mus-oracle's SiSEC 2018 oracle rules (IBM1, IBM2, IRM1, IRM2, MWF) against this
harness's oracles, on the embedded MUSDB18 sample, scored with museval v4 (1 s frames,
vocals and accompaniment evaluated together as a pair, as SiSEC 2018 did).

    REPET_BENCH_CACHE=/tmp/rbcache python scripts/compare_oracles.py

Two comparisons: the package's exact counterparts (``+algo=sigsep_oracle``, the
``sigsep_*`` shorthands, and ``+algo=mix algo.flavour=sisec18`` for MIX.py), whose estimates
must be those of this independent port
(waveform closeness, and median SDR within 0.05 dB: tests/test_sigsep_oracles.py checks
it); and the harness's two-target ``oracle`` (ibm / irm with our masks and STFTs), which
is not SiSEC's rule and scores above it.

The sigsep rules are reimplemented here from the facts of sigsep-mus-oracle's IBM.py,
IRM.py and MWF.py (commit 1590b09):
  * STFT: scipy.signal.stft(x, nperseg=2048) with every other default (periodic Hann,
    hop 1024, boundary zeros, padded), each channel independently; inverse
    scipy.signal.istft with defaults, cut to the mixture's length.
  * masks over the four musdb sources drums, bass, other, vocals; eps = float64 eps;
    accompaniment = sum of the drums, bass and other estimates.
  * IBM(alpha, theta=0.5): source j gets the bin when |S_j|^a / (eps + |X|^a) >= theta.
  * IRM(alpha): |S_j|^a / (eps + sum_k |S_k|^a).
  * MWF: oracle local Gaussian model with time-invariant spatial covariances learned from
    each true source STFT (see ``sigsep_mwf``).
Ours: ``repet_bench.separation.separate`` with the ibm / irm oracles (true accompaniment and
vocals magnitudes as the two models) and the binary / soft / wiener / mwf masks.
"""

from __future__ import annotations

import functools
import os
import time
from types import SimpleNamespace

import numpy as np
from scipy.signal import istft, stft

from repet_bench import data
from repet_bench.separation import separate
from repet_bench.config import option

RATE = 44100
SOURCES = ("drums", "bass", "other", "vocals")  # musdb stem ids 1..4
EPS = np.finfo(np.float64).eps
NFFT = 2048


# --------------------------------------------------------------------------- audio

def load_sample():
    """Mixture and the four sources of the sample, decoded as repet_bench decodes it."""
    cache = os.path.expanduser(os.environ.get("REPET_BENCH_CACHE", "~/.cache/repet_bench"))
    cfg = SimpleNamespace(name="sample", root=None, is_wav=False, subsets=["test"], split=None,
                          tracks=[], max_tracks=None, offset=0.0, duration=None)
    ref = data.list_tracks(cfg, cache)[0]
    stems = data._decode(ref)  # (5, samples, channels): mixture, drums, bass, other, vocals
    sources = {name: stems[i + 1] for i, name in enumerate(SOURCES)}
    return ref.name, stems[0], sources


# --------------------------------------------------------------------------- sigsep rules

def _stft(audio):
    """(samples, channels) -> (channels, freq, frames), scipy's defaults but nperseg."""
    return stft(audio.T, nperseg=NFFT)[-1]


def _istft(spec, n):
    """(channels, freq, frames) -> (n, channels)."""
    return istft(spec)[1].T[:n]


def _finish(estimates):
    estimates["accompaniment"] = sum(estimates[s] for s in SOURCES if s != "vocals")
    return {"vocals": estimates["vocals"], "accompaniment": estimates["accompaniment"]}


def sigsep_ibm(mixture, sources, alpha, theta=0.5):
    n = mixture.shape[0]
    x = _stft(mixture)
    mix_pow = EPS + np.abs(x) ** alpha
    out = {}
    for name in SOURCES:
        ratio = np.abs(_stft(sources[name])) ** alpha / mix_pow
        out[name] = _istft(x * (ratio >= theta), n)
    return _finish(out)


def sigsep_irm(mixture, sources, alpha):
    n = mixture.shape[0]
    x = _stft(mixture)
    powers = {name: np.abs(_stft(sources[name])) ** alpha for name in SOURCES}
    total = EPS
    for name in SOURCES:  # IRM.py's order: eps first, then each source
        total = total + powers[name]
    return _finish({name: _istft(x * (powers[name] / total), n) for name in SOURCES})


def _inv2(m):
    """Inverse of the 2x2 matrices in the last two axes, 1 / (eps + det) as the original."""
    det = m[..., 0, 0] * m[..., 1, 1] - m[..., 0, 1] * m[..., 1, 0]
    inv = np.empty_like(m)
    inv[..., 0, 0] = m[..., 1, 1]
    inv[..., 1, 1] = m[..., 0, 0]
    inv[..., 0, 1] = -m[..., 0, 1]
    inv[..., 1, 0] = -m[..., 1, 0]
    return inv / (EPS + det)[..., None, None]


SIGSEP = {  # entry -> the port's rule
    "IBM1": lambda mixture, sources: sigsep_ibm(mixture, sources, 1),
    "IBM2": lambda mixture, sources: sigsep_ibm(mixture, sources, 2),
    "IRM1": lambda mixture, sources: sigsep_irm(mixture, sources, 1),
    "IRM2": lambda mixture, sources: sigsep_irm(mixture, sources, 2),
    "MWF": lambda mixture, sources: sigsep_mwf(mixture, sources),
    "MIX": lambda mixture, sources: sigsep_mix(mixture),
}
PACKAGE = {entry: {"name": "sigsep_oracle", "method": entry} for entry in SIGSEP}
PACKAGE["MIX"] = {"name": "mix", "flavour": "sisec18"}


def sigsep_mix(mixture):
    """MIX.py: every one of the four sources estimated as a quarter of the mixture."""
    estimates = {name: mixture / len(SOURCES) for name in SOURCES}
    return {"vocals": estimates["vocals"],
            "accompaniment": estimates["bass"] + estimates["drums"] + estimates["other"]}


def closeness(reference, estimate):
    """Waveform SDR (dB) of ``estimate`` against ``reference``: 10 log10 |r|² / |r - e|²."""
    error = np.sum((reference - estimate) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(np.sum(reference ** 2) / error))


def sigsep_mwf(mixture, sources, per_bin_trace=False):
    """Per source j: observed covariances C_j(f,t) = s s^H of its true STFT; PSD0 = mean
    over channels of |s|^2; R_j(f) = mean over frames of C_j / (eps + PSD0), "normalised"
    then plus eps * identity; PSD_j(f,t) = Re tr(R_j^-1 C_j) / I. Mixture covariance =
    sum_j PSD_j R_j; gain_j = PSD_j R_j Cxx^-1 (complex64) applied to the mixture STFT.

    The normalisation in MWF.py is ``R * I / np.trace(R)`` on R of shape (F, I, I):
    numpy's trace over its default axes (0, 1) gives a length-I vector
    t[c] = sum_{k < I} R[k, k, c] (frequency bins 0..I-1 only), and every R[f, a, c] is
    divided by t[c]. That is reproduced here; ``per_bin_trace=True`` instead scales each
    bin to trace I (what the comment in MWF.py says it means to do)."""
    n = mixture.shape[0]
    x = _stft(mixture).transpose(1, 2, 0)  # (F, T, I)
    n_ch = x.shape[-1]
    eye = np.eye(n_ch)
    psd, cov = {}, {}
    for name in SOURCES:
        s = _stft(sources[name]).transpose(1, 2, 0)
        c = s[..., :, None] * s[..., None, :].conj()  # (F, T, I, I)
        p0 = np.mean(np.abs(s) ** 2, axis=-1)
        r = np.mean(c / (EPS + p0)[..., None, None], axis=1)  # (F, I, I)
        if per_bin_trace:
            r = r * n_ch / np.trace(r, axis1=-2, axis2=-1)[:, None, None] + EPS * eye
        else:
            t = sum(r[k, k, :] for k in range(min(r.shape[0], n_ch)))  # shape (I,)
            r = r * n_ch / t[None, None, :] + EPS * eye
        r_inv = _inv2(r)
        psd[name] = np.real(np.einsum("fab,ftba->ft", r_inv, c)) / n_ch
        cov[name] = r
    cxx_inv = _inv2(sum(psd[k][..., None, None] * cov[k][:, None] for k in SOURCES))
    out = {}
    for name in SOURCES:
        gain = psd[name][..., None, None] * np.einsum("fab,ftbc->ftac", cov[name], cxx_inv)
        y = np.einsum("ftab,ftb->fta", gain.astype(np.complex64), x)  # gain kept in complex64
        out[name] = _istft(y.transpose(2, 0, 1), n)
    return _finish(out)


# --------------------------------------------------------------------------- ours

STFT_DEFAULT = option("stft")
STFT_HANN1024 = {**option("stft"), "hop": 1024, "window": "hann"}  # sigsep-mus-oracle's
OURS = {  # entry -> (algo, mask); IBM2 has no exact counterpart (see the report)
    "IBM1": ("oracle", {"name": "binary", "threshold": 0.5}),  # +algo=ibm
    "IBM2": ("oracle", {"name": "binary", "threshold": 0.5}),
    "IRM1": ("oracle", {"name": "soft"}),                     # +algo=irm
    "IRM2": ("oracle", {"name": "wiener", "power": 2.0}),
    "MWF": ("oracle", {"name": "mwf", "iterations": 1}),
    "MWF*": ("oracle", {"name": "mwf", "iterations": 1}),  # sigsep side: per-bin trace
}


def ours(entry, mixture, refs, stft_cfg):
    """This harness's counterpart of SiSEC entry ``entry``: estimates through ``separate``."""
    algo, mask = OURS[entry]
    sep = separate(mixture, RATE, {"name": algo, "high_pass_cutoff": 0.0}, stft_cfg, mask,
                   {"name": "mixture"}, references=refs)
    return sep.estimates


# --------------------------------------------------------------------------- scoring

def score(refs, est):
    """Median-over-frames SDR of vocals and accompaniment, scored as one pair."""
    import museval

    sdr, _, _, _ = museval.evaluate([refs["vocals"], refs["accompaniment"]],
                                    [est["vocals"], est["accompaniment"]],
                                    win=RATE, hop=RATE)
    return float(np.nanmedian(sdr[0])), float(np.nanmedian(sdr[1]))


def main():
    data.ensure_ffmpeg()
    name, mixture, sources = load_sample()
    refs = {"vocals": sources["vocals"],
            "accompaniment": sources["drums"] + sources["bass"] + sources["other"]}
    print(f"{name}: {mixture.shape[0]} samples ({mixture.shape[0] / RATE:.2f} s), "
          f"{mixture.shape[1]} channels")
    print("The package's sigsep_oracle against this port (SDR: median over 1 s frames, dB)")
    print(f"{'entry':6} {'target':13} {'port SDR':>9} {'package':>9} {'diff':>7} {'closeness':>10}")
    for entry, rule in SIGSEP.items():
        port = rule(mixture, sources)
        package = separate(mixture, RATE, PACKAGE[entry], {}, {"name": "soft"}, {"name": "mixture"},
                           sources=sources).estimates
        for target, s, p in zip(("vocals", "accompaniment"), score(refs, port), score(refs, package)):
            print(f"{entry:6} {target:13} {s:9.3f} {p:9.3f} {p - s:+7.3f} "
                  f"{closeness(port[target], package[target]):9.1f} dB")
    sigsep = {entry: functools.partial(rule, mixture, sources) for entry, rule in SIGSEP.items()
              if entry != "MIX"}
    sigsep["MWF*"] = lambda: sigsep_mwf(mixture, sources, per_bin_trace=True)
    rows, cache = [], {}
    t0 = time.perf_counter()
    for entry, rule in sigsep.items():
        s = score(refs, rule())
        key_default = (OURS[entry], "default")
        key_hann = (OURS[entry], "hann")
        for key, cfg in ((key_default, STFT_DEFAULT), (key_hann, STFT_HANN1024)):
            frozen = (key[0][0], tuple(sorted(key[0][1].items())), key[1])
            if frozen not in cache:
                cache[frozen] = score(refs, ours(entry, mixture, refs, cfg))
        o = cache[(OURS[entry][0], tuple(sorted(OURS[entry][1].items())), "default")]
        h = cache[(OURS[entry][0], tuple(sorted(OURS[entry][1].items())), "hann")]
        rows.append((entry, s, o, h))
    print(f"(scored in {time.perf_counter() - t0:.0f} s; SDR in dB, median over 1 s frames)")
    print("ours = sqrt-Hann 2048 / hop 512 (default); ours-H = Hann 2048 / hop 1024")
    print(f"{'entry':6} {'':5} {'sigsep':>8} {'ours':>8} {'ours-H':>8} "
          f"{'ours-sig':>9} {'oursH-sig':>9} {'STFT':>8}")
    for entry, s, o, h in rows:
        for i, target in enumerate(("voc", "acc")):
            print(f"{entry:6} {target:5} {s[i]:8.3f} {o[i]:8.3f} {h[i]:8.3f} "
                  f"{o[i] - s[i]:+9.3f} {h[i] - s[i]:+9.3f} {o[i] - h[i]:+8.3f}")


if __name__ == "__main__":
    main()
