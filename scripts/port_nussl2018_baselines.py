"""An independent port of the nussl team's three other SiSEC 2018 baselines, RPCA, HPSS
and HPLP, as nussl 0.1.6a0 made them, run on the embedded MUSDB18 sample and scored with
museval v4 (1 s frames, vocals and accompaniment evaluated together as a pair).

    REPET_BENCH_CACHE=/tmp/rbcache python scripts/port_nussl2018_baselines.py [--out DIR]

Why: RPCA (0.05 dB median vocals SDR on the 50 test tracks), HPSS (-0.34) and HPLP (-3.05)
were made by the nussl team with the same nussl 0.1.6a0 as REP1/REP2/2DFT (sigsep-mus-2018,
submissions/RPCA|HPSS|HPLP, submitted in a710f58 on 2018-04-04, re-scored by the organisers
in ff5a5c1). This script states the facts in runnable form, written apart from the package
(numpy/scipy only; nussl is not imported), so that the package's ``flavour=sisec18`` rpca,
hpss and hplp can be checked against it: on the sample their estimates are 303-312 dB
from these, and tests/test_stored_scores.py asserts this script's medians at 0.05 dB.

Sources (nussl git history; no algorithm, STFT or mask file differs between f7f9df2 of
2018-04-03, the code of the submission, and 9a4e514 of 2018-05-08 "Changes from SiSEC",
both ``__version__ = '0.1.6a0'``, run under Python 2.7; requirements: librosa 0.6.0,
numpy 1.13, scipy 0.19):
  * nussl/separation/rpca.py, hpss.py, high_low_pass_filter.py: the algorithms, every
    constructor at its default (the submissions state no parameter; HPLP's cutoff is
    its required argument, 100 Hz, "the closest frequency to 100Hz, which turned out to
    be ~107Hz", submissions/HPLP/description.md).
  * nussl/core/stft_utils.py (e_stft, e_istft, _add_zero_padding, make_window,
    StftParams), nussl/core/audio_signal.py (stft, istft, apply_mask, freq_vector,
    get_closest_frequency_bin), nussl/separation/masks/*.py (BinaryMask, SoftMask):
    the transform and the masks. audio_signal.py and stft_utils.py start with
    ``from __future__ import division``; rpca.py and hpss.py do not, but every division
    in them has a float operand, so none floors under Python 2.
  * librosa 0.6.0 (tag 0.6.0): decompose.hpss and util.softmask, which nussl's HPSS
    calls (the median filters are scipy.ndimage.median_filter, mode 'reflect').

What each algorithm does here (X: complex STFT of one channel, V = |X|; every channel
separately, the mixture never downmixed):
  * STFT (nussl 0.1.6's own, not librosa's): 2048-sample periodic Hamming window, hop
    1024, FFT 2048, bins 0..1024; 1024 zeros before the signal and
    ceil(n/1024)*1024 + 1024 - n after; ceil(n/1024) + 1 frames. iSTFT: conjugate
    reflection, real part of each frame's inverse FFT, overlap-added without a synthesis
    window, divided by the overlap-added analysis windows (zeros -> 1e-16), the leading
    1024 samples dropped, cut to n.
  * RPCA: inexact-ALM robust PCA of V (at most 100 iterations, tolerance 1e-7), binary
    background mask |S| <= |L|, its first 6 rows (<= 107.7 Hz) set to 1; background =
    iSTFT(mask * X), foreground = mixture - background.
  * HPSS: harmonic H = median over 31 frames (time), percussive P = median over 31 bins
    (frequency) of V; soft masks H^2/(H^2+P^2) and P^2/(H^2+P^2); each inverted
    separately. Harmonic = background, percussive = foreground.
  * HPLP: bin k = argmin |linspace(0, 22050, 1025) - 100| = 5 (107.67 Hz); binary masks,
    low-pass rows 0..4, high-pass rows 5..1024, each inverted separately.
    Low-pass = background, high-pass = foreground.

Vocals = the foreground, accompaniment = the background: the assignment of the published
(re-scored, ff5a5c1) figures. The self-scored JSON files first submitted (a710f58) carry the
same per-frame numbers with the two target labels exchanged (e.g. HPLP "vocals" ISR 5.4 and
SIR 35 dB on "AM Contra - Heart Peripheral": the low-pass estimate against the
accompaniment). ``--swapped`` also prints the scores with the labels exchanged.

Printed: per algorithm, the median over frames (NaN frames dropped, as museval's
aggregation) of SDR/SIR/SAR/ISR for vocals and accompaniment; the STFT round-trip error;
RPCA's iterations and final error per channel. Saved: ``<out>/<ALGO>/vocals.npy`` and
``accompaniment.npy``, float64 ``(samples, channels)``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from scipy.ndimage import median_filter

from repet_bench import data  # only to decode the sample as the `sample` dataset does

RATE = 44100
METRICS = ("SDR", "SIR", "SAR", "ISR")
PUBLISHED_VOCALS_SDR = {"RPCA": 0.0473, "HPSS": -0.3371, "HPLP": -3.0502}  # 50 tracks


# --------------------------------------------------------------------------- STFT

# StftParams at 44.1 kHz: window 2 ** ceil(log2(0.04 * 44100)) = 2048, hop = 2048 // 2,
# n_fft_bins = window length; constants.WINDOW_DEFAULT = 'hamming'; constants.EPSILON.
WINDOW = int(2 ** np.ceil(np.log2(0.04 * RATE)))
HOP = WINDOW // 2
NFFT = WINDOW
EPSILON = 1e-16


def hamming_periodic(length: int) -> np.ndarray:
    """``scipy.signal.hamming(length, sym=False)``: 0.54 - 0.46 cos(2 pi n / length)."""
    n = np.arange(length)
    return 0.54 - 0.46 * np.cos(2.0 * np.pi * n / length)


def _padding(n: int) -> tuple[int, int]:
    """``_add_zero_padding`` (true division: stft_utils has ``from __future__ import
    division``): zeros before and after an ``n``-sample channel."""
    overlap = WINDOW - HOP
    assert overlap >= HOP  # the branch nussl takes at hop = window / 2
    before = int(np.ceil(overlap / HOP) * HOP)
    after = int(np.ceil(n / HOP) * HOP + overlap - n)
    return before, after


def stft(x: np.ndarray) -> np.ndarray:
    """nussl 0.1.6's ``e_stft`` of one channel.

    Parameters
    ----------
    x : ndarray, shape (samples,)

    Returns
    -------
    ndarray, complex128, shape (1025, frames), frames = ceil(samples / 1024) + 1
    """
    before, after = _padding(len(x))
    padded = np.pad(np.asarray(x, dtype=np.float64), (before, after))
    overlap = WINDOW - HOP
    frames = int(np.ceil((len(padded) - overlap) / HOP))
    starts = np.arange(frames) * HOP
    blocks = padded[starts[:, None] + np.arange(WINDOW)[None, :]] * hamming_periodic(WINDOW)
    spectrum = np.fft.fft(blocks, n=NFFT, axis=1)[:, : NFFT // 2 + 1]
    return spectrum.T


def istft(spec: np.ndarray, n: int) -> np.ndarray:
    """nussl 0.1.6's ``e_istft`` of one channel, then AudioSignal.istft's cut to ``n``.

    Parameters
    ----------
    spec : ndarray, complex, shape (1025, frames)
    n : int
        Samples to keep (``truncate_to_length``: the mixture's length).

    Returns
    -------
    ndarray, float64, shape (n,)
    """
    frames = spec.shape[1]
    overlap = WINDOW - HOP
    length = frames * HOP + overlap
    full = np.vstack([spec, np.conj(spec[-2:0:-1, :])])  # _add_reflection
    blocks = np.real(np.fft.ifft(full, axis=0))[:WINDOW, :]  # (2048, frames)
    window = hamming_periodic(WINDOW)
    signal = np.zeros(length)
    norm = np.zeros(length)
    for k in range(frames):  # overlap-add: no synthesis window
        signal[k * HOP: k * HOP + WINDOW] += blocks[:, k]
        norm[k * HOP: k * HOP + WINDOW] += window
    norm[norm == 0.0] = EPSILON
    signal = signal / norm
    start = int(np.ceil(overlap / HOP)) * HOP  # remove_padding, overlap >= hop branch
    signal = signal[start: length - overlap]
    return signal[:n]


def stft_channels(mixture: np.ndarray) -> np.ndarray:
    """``(samples, channels)`` -> complex ``(1025, frames, channels)``, channel by channel."""
    return np.stack([stft(mixture[:, c]) for c in range(mixture.shape[1])], axis=-1)


def istft_channels(spec: np.ndarray, n: int) -> np.ndarray:
    """complex ``(1025, frames, channels)`` -> ``(n, channels)``, channel by channel."""
    return np.stack([istft(spec[..., c], n) for c in range(spec.shape[-1])], axis=-1)


# --------------------------------------------------------------------------- RPCA

def _shrink(matrix: np.ndarray, tau: float) -> np.ndarray:
    """Soft threshold: sign(m) max(|m| - tau, 0)."""
    return np.sign(matrix) * np.maximum(np.abs(matrix) - tau, 0)


def _svd_threshold(matrix: np.ndarray, tau: float) -> np.ndarray:
    """Singular-value soft threshold: U diag(shrink(sigma, tau)) V^T (thin SVD)."""
    u, sigma, vt = np.linalg.svd(matrix, full_matrices=False)
    return u @ (_shrink(sigma, tau)[:, None] * vt)


def rpca_decompose(v: np.ndarray, num_iterations: int = 100, epsilon: float = 1e-7):
    """RPCA.decompose: inexact augmented Lagrange multipliers, V = L (low rank) + S (sparse).

    Parameters
    ----------
    v : ndarray, float64, shape (freq, frames)

    Returns
    -------
    low_rank, sparse : ndarray (freq, frames); iterations : int; error : float
    """
    lam = 1 / np.sqrt(np.max(v.shape))
    low_rank = np.zeros(v.shape)
    sparse = np.zeros(v.shape)
    two_norm = np.linalg.svd(v, full_matrices=False, compute_uv=False)[0]
    inf_norm = np.linalg.norm(v.flatten(), np.inf) / lam
    residuals = v / max(two_norm, inf_norm)
    mu = 1.25 / two_norm
    mu_bar = mu * 1e7
    rho = 1.5
    norm_v = np.linalg.norm(v, ord="fro")
    error = np.inf
    iteration = 0
    while iteration < num_iterations:
        iteration += 1
        low_rank = _svd_threshold(v - sparse + residuals / mu, 1 / mu)
        sparse = _shrink(v - low_rank + residuals / mu, lam / mu)
        residuals = residuals + mu * (v - low_rank - sparse)
        mu = min(mu * rho, mu_bar)
        error = np.linalg.norm(v - low_rank - sparse, ord="fro") / norm_v
        if error < epsilon:
            break
    return low_rank, sparse, iteration, error


def rpca(mixture: np.ndarray, high_pass_cutoff: float = 100.0):
    """nussl 0.1.6 RPCA at its defaults. ``(samples, channels)`` -> background,
    foreground ``(samples, channels)`` and per-channel (iterations, error)."""
    n = mixture.shape[0]
    x = stft_channels(mixture)
    # int(ceil(cutoff * (n_fft_bins - 1) / fs)) + 1, "+1 to match MATLAB": 6 rows
    rows = int(np.ceil(high_pass_cutoff * (NFFT - 1) / RATE)) + 1
    masks, info = [], []
    for c in range(x.shape[-1]):
        low_rank, sparse, iterations, error = rpca_decompose(np.abs(x[..., c]))
        mask = 1 * np.abs(sparse) <= np.abs(low_rank)  # gain = 1; boolean
        mask[:rows, :] = True
        masks.append(mask)
        info.append((iterations, error))
    mask = np.stack(masks, axis=-1)
    background = istft_channels(mask * x, n)
    foreground = mixture - background  # make_audio_signals: mixture minus background
    return background, foreground, {"high_pass_rows": rows, "iterations_error": info}


# --------------------------------------------------------------------------- HPSS

def _softmask(x: np.ndarray, x_ref: np.ndarray, power: float = 2.0,
              split_zeros: bool = True) -> np.ndarray:
    """librosa 0.6.0 util.softmask: x^p / (x^p + x_ref^p), computed on values divided by
    max(x, x_ref); where that max is below the smallest normal float, 0.5 (split_zeros)."""
    z = np.maximum(x, x_ref)
    bad = z < np.finfo(z.dtype).tiny
    z[bad] = 1
    mask = (x / z) ** power
    ref = (x_ref / z) ** power
    good = ~bad
    mask[good] /= mask[good] + ref[good]
    mask[bad] = 0.5 if split_zeros else 0.0
    return mask


def hpss(mixture: np.ndarray, kernel_size: int = 31):
    """nussl 0.1.6 HPSS (librosa.decompose.hpss(X, kernel_size=31, mask=True): power 2,
    margin 1). ``(samples, channels)`` -> harmonic (background), percussive (foreground)."""
    n = mixture.shape[0]
    x = stft_channels(mixture)
    harmonic_masks, percussive_masks = [], []
    for c in range(x.shape[-1]):
        v = np.abs(x[..., c])  # magphase(X)[0]
        harm = median_filter(v, size=(1, kernel_size), mode="reflect")  # along time
        perc = median_filter(v, size=(kernel_size, 1), mode="reflect")  # along frequency
        harmonic_masks.append(_softmask(harm, perc * 1.0))
        percussive_masks.append(_softmask(perc, harm * 1.0))
    harmonic = istft_channels(np.stack(harmonic_masks, axis=-1) * x, n)
    percussive = istft_channels(np.stack(percussive_masks, axis=-1) * x, n)
    return harmonic, percussive, {}


# --------------------------------------------------------------------------- HPLP

def hplp(mixture: np.ndarray, high_pass_cutoff_hz: float = 100.0):
    """nussl 0.1.6 HighLowPassFilter(signal, 100) without the FIR option (binary masks).
    ``(samples, channels)`` -> low-pass (background), high-pass (foreground)."""
    n = mixture.shape[0]
    x = stft_channels(mixture)
    freq_vector = np.linspace(0.0, RATE // 2, num=x.shape[0])  # AudioSignal.freq_vector
    k = int(np.abs(freq_vector - high_pass_cutoff_hz).argmin())
    low_mask = np.ones(x.shape, dtype=bool)
    low_mask[k:, :, :] = False
    high_mask = np.logical_not(low_mask)  # BinaryMask.invert_mask
    low = istft_channels(low_mask * x, n)
    high = istft_channels(high_mask * x, n)
    return low, high, {"cutoff_bin": k, "cutoff_hz": float(freq_vector[k])}


ALGORITHMS = {"RPCA": rpca, "HPSS": hpss, "HPLP": hplp}


# --------------------------------------------------------------------------- audio, scores

def load_sample():
    """Name, mixture and vocals/accompaniment references ``(samples, channels)`` of the
    embedded sample, decoded by repet_bench.data as the ``sample`` dataset decodes it."""
    cache = os.path.expanduser(os.environ.get("REPET_BENCH_CACHE", "~/.cache/repet_bench"))
    cfg = SimpleNamespace(name="sample", root=None, is_wav=False, subsets=["test"], split=None,
                          tracks=[], max_tracks=None, offset=0.0, duration=None)
    track = data.load_track(data.list_tracks(cfg, cache)[0])
    return track.ref.name, track.mixture.astype(np.float64), track.references


def score(references: dict, estimates: dict) -> dict:
    """museval v4 on the vocals/accompaniment pair (eval_mus_track's call): target ->
    metric -> median over 1 s frames, NaN frames dropped."""
    data.ensure_ffmpeg()  # museval imports musdb, which imports stempeg
    import museval

    targets = ("vocals", "accompaniment")
    sdr, isr, sir, sar = museval.evaluate([references[t] for t in targets],
                                          [estimates[t] for t in targets],
                                          win=RATE, hop=RATE)
    values = {"SDR": sdr, "SIR": sir, "SAR": sar, "ISR": isr}
    return {t: {m: float(np.nanmedian(values[m][i])) for m in METRICS}
            for i, t in enumerate(targets)}


def print_table(title: str, rows: dict) -> None:
    print(title)
    header = "  ".join(f"{t[:3]}_{m:>3}" for t in ("vocals", "accompaniment") for m in METRICS)
    print(f"  {'algo':<5} {header}")
    for algo, s in rows.items():
        cells = "  ".join(f"{s[t][m]:7.2f}" for t in ("vocals", "accompaniment") for m in METRICS)
        print(f"  {algo:<5} {cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/port_nussl2018"),
                        help="folder for <ALGO>/vocals.npy and accompaniment.npy")
    parser.add_argument("--swapped", action="store_true",
                        help="also score with vocals and accompaniment exchanged")
    args = parser.parse_args()

    name, mixture, references = load_sample()
    print(f"track: {name}, {mixture.shape[0]} samples x {mixture.shape[1]} channels")
    x = stft_channels(mixture)
    roundtrip = np.max(np.abs(istft_channels(x, mixture.shape[0]) - mixture))
    print(f"STFT: window {WINDOW} periodic Hamming, hop {HOP}, {x.shape[0]} bins x "
          f"{x.shape[1]} frames; iSTFT(STFT(x)) - x max |err| = {roundtrip:.2e}")

    scores, swapped = {}, {}
    for algo, fn in ALGORITHMS.items():
        t0 = time.perf_counter()
        background, foreground, info = fn(mixture)
        seconds = time.perf_counter() - t0
        estimates = {"vocals": foreground, "accompaniment": background}
        folder = args.out / algo
        folder.mkdir(parents=True, exist_ok=True)
        for target, audio in estimates.items():
            np.save(folder / f"{target}.npy", np.ascontiguousarray(audio, dtype=np.float64))
        scores[algo] = score(references, estimates)
        if args.swapped:
            swapped[algo] = score(references, {"vocals": background,
                                               "accompaniment": foreground})
        print(f"{algo}: {seconds:.1f} s; {info}")

    print_table("\nmedian over frames (dB), vocals = foreground, accompaniment = background:",
                scores)
    if args.swapped:
        print_table("\nlabels exchanged (vocals = background):", swapped)
    print("\npublished, median over the 50 test tracks of the per-track medians, vocals SDR: "
          + ", ".join(f"{a} {v:+.2f}" for a, v in PUBLISHED_VOCALS_SDR.items()))
    print(f"estimates written to {args.out}/<ALGO>/{{vocals,accompaniment}}.npy")


if __name__ == "__main__":
    main()
