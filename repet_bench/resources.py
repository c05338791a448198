"""How many workers fit: cores, available memory and the longest track's peak.

A worker's peak is that of its most demanding stage (separation arrays are freed before
scoring); scoring is the run's evaluation backend followed by the whole-track metrics.
Every stage grows linearly with the track's length. Measured with
``scripts/measure_memory.py`` (peak RSS of a fresh process, stereo 44.1 kHz, this
project's 2-core/24 GiB machine):

    separation (repet, soft mask, mixture phase)   250 MB + 5.46 MB per second of audio
    separation/sources (sigsep_mwf, the largest)   201 MB + 16.15 MB per second of audio
    museval v4 (vocals/accompaniment pair)         245 MB + 20.2 MB per second of audio
    fast BSS Eval v4 (bsseval_fast)                347 MB + 6.94 MB per second of audio

separation/sources: SiSEC's oracles, complex128 four-source spectrograms as
sigsep-mus-oracle computes them (``--algo sigsep_mwf --durations 60 420``, 2026-12-06;
sigsep_irm2 peaks at 6132 MB on 7 min, under MWF's 6982). Separation and fast: lines
through 30 s and 7 min (``--durations 30 120 420``,
2026-12-02; the 120 s points lie within 7 % of them, above). museval (2026-11-24): a
30-120 s fit refitted through a whole worker's peak on a generated 7-minute track
(8714 MiB, ``/usr/bin/time -v`` of a ``runner.n_jobs=auto`` run), which the fit had
underestimated by 12 %. So a 7-minute track needs ~8.7 GB with museval and ~3.3 GB with
the fast backend.
"""

from __future__ import annotations

import os

import numpy as np

MB = 1024**2
# stage -> (base MB, MB per second of audio); an evaluation stage is named after its
# backend (eval.backend).
PEAK_MODEL = {
    "separation": (250.0, 5.46),
    "separation/sources": (201.0, 16.15),
    "museval": (245.0, 20.2),
    "fast": (347.0, 6.94),
}
# Leave room for the parent, the page cache and estimation error.
MEMORY_HEADROOM = 0.8


def worker_peak_bytes(seconds: float, stages=("separation", "museval"),
                      held_per_second: float = 0.0) -> float:
    """Estimated peak RSS of one worker processing a track of ``seconds``; plus
    ``held_per_second`` bytes per second of audio held through every stage (a shared
    sweep keeps the mixture STFT and the algorithm's models: :func:`held_per_second`)."""
    peak = max(base + per_s * seconds for base, per_s in (PEAK_MODEL[s] for s in stages))
    return peak * MB + held_per_second * seconds


def held_per_second(stft, channels: int = 2) -> float:
    """Bytes per second of audio a shared sweep holds between the points of one track:
    the complex mixture STFT and two real spectrogram-sized models, in ``stft``'s
    precision (:class:`repet_bench.stft.Stft`)."""
    itemsize = np.dtype(stft.real_dtype).itemsize
    return stft.rate / stft.hop * stft.n_freqs * channels * 4 * itemsize


def available_memory() -> int:
    import psutil

    return psutil.virtual_memory().available


def auto_n_jobs(longest_seconds: float, n_tracks: int, cores: int | None = None,
                available: int | None = None, stages=("separation", "museval"),
                held: float = 0.0) -> int:
    """Workers for ``runner.n_jobs=auto``: at most one per core and per track, and as
    many as fit in the available memory when each holds the longest track (at least 1)."""
    cores = cores or os.cpu_count() or 1
    available = available_memory() if available is None else available
    fit = int(available * MEMORY_HEADROOM // worker_peak_bytes(longest_seconds, stages, held))
    return max(1, min(cores, n_tracks, fit))
