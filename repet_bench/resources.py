"""How many workers fit: cores, available memory and the longest track's peak.

A worker's peak is that of its most demanding stage (separation arrays are freed before
scoring). Both grow linearly with the track's length. Measured with
``scripts/measure_memory.py --durations 30 60 120`` (peak RSS of a fresh process, stereo
44.1 kHz, this project's 2-core/24 GiB machine, 2026-11-24), and for museval refitted
through a whole worker's peak on a generated 7-minute track (8714 MiB, from
``/usr/bin/time -v`` of a ``runner.n_jobs=auto`` run), which the 120 s fit underestimated
by 12 %:

    separation (repet, soft mask, mixture phase)   244 MB + 7.0 MB per second of audio
    museval v4 (vocals/accompaniment pair)         245 MB + 20.2 MB per second of audio

so a 7-minute track needs ~8.7 GB in museval and a 3-minute one ~3.9 GB.
"""

from __future__ import annotations

import os

MB = 1024**2
# stage -> (base MB, MB per second of audio)
PEAK_MODEL = {
    "separation": (244.0, 7.0),
    "museval": (245.0, 20.2),
}
# Leave room for the parent, the page cache and estimation error.
MEMORY_HEADROOM = 0.8


def worker_peak_bytes(seconds: float, stages=("separation", "museval")) -> float:
    """Estimated peak RSS of one worker processing a track of ``seconds``."""
    return max(base + per_s * seconds for base, per_s in (PEAK_MODEL[s] for s in stages)) * MB


def available_memory() -> int:
    import psutil

    return psutil.virtual_memory().available


def auto_n_jobs(longest_seconds: float, n_tracks: int, cores: int | None = None,
                available: int | None = None, stages=("separation", "museval")) -> int:
    """Workers for ``runner.n_jobs=auto``: at most one per core and per track, and as
    many as fit in the available memory when each holds the longest track (at least 1)."""
    cores = cores or os.cpu_count() or 1
    available = available_memory() if available is None else available
    fit = int(available * MEMORY_HEADROOM // worker_peak_bytes(longest_seconds, stages))
    return max(1, min(cores, n_tracks, fit))
