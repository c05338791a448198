"""Precomputed estimates of any method, read so the runner scores them like a separation.

``+algo=estimates algo.root=DIR`` reads ``DIR/<subset>/<track>/vocals.wav`` and
``accompaniment.wav``: the layout museval's ``eval_dir`` expects and open-unmix and demucs
write. So another method's output folder ranks beside REPET on the same tracks, with the
same resume, parallel workers, failure isolation and statistics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .algorithms.registry import register
from .data import TARGETS, DatasetError, TrackAudio, read_wav

# Largest length difference padded or cut as museval does (its ``pad_or_truncate``); a
# longer one is more likely another track or another excerpt than a codec's padding.
MAX_LENGTH_DIFFERENCE_SECONDS = 1.0


@register("estimates", reads_estimates=True)
def load_estimates(track: TrackAudio, *, root: str | Path) -> tuple[dict, dict]:
    """The estimates of ``track`` (same excerpt) under ``root``.

    Returns
    -------
    estimates : dict of str to ndarray (samples, channels)
        ``vocals`` and ``accompaniment``, cut or zero-padded to the mixture's length.
    info : dict
        ``padded_samples`` / ``cut_samples``: how much each was adjusted (0 when none).

    Raises
    ------
    DatasetError
        A file is missing or unreadable, holds NaN or Inf samples, or its sample rate,
        channel count or length (more than 1 s off) does not match the track's; the
        message names the file.
    """
    ref = track.ref
    folder = Path(root).expanduser() / ref.subset / ref.name
    n, channels = track.mixture.shape
    estimates, info = {}, {"padded_samples": 0, "cut_samples": 0}
    for target in TARGETS:
        path = folder / f"{target}.wav"
        if not path.exists():
            raise DatasetError(f"{path} is missing: an estimates folder holds "
                               "<root>/<subset>/<track>/vocals.wav and accompaniment.wav "
                               "(museval's eval_dir layout)")
        audio, rate = read_wav(path, ref.offset, ref.duration, "write it again")
        if not np.isfinite(audio).all():  # the dataset's own rule for its files
            raise DatasetError(f"{path}: contains NaN or Inf samples; write finite audio "
                               "(a NaN frame would be left out of the medians unseen)")
        if rate != track.rate:
            raise DatasetError(f"{path}: {rate} Hz, the track is {track.rate} Hz; write the "
                               f"estimate at {track.rate} Hz")
        if audio.shape[1] != channels:
            raise DatasetError(f"{path}: {audio.shape[1]} channel(s), the track has "
                               f"{channels}; write the estimate with {channels}")
        off = len(audio) - n
        if abs(off) > MAX_LENGTH_DIFFERENCE_SECONDS * rate:
            raise DatasetError(f"{path}: {len(audio) / rate:.2f} s, the track (excerpt) is "
                               f"{n / rate:.2f} s; is it the estimate of another track?")
        if off < 0:
            audio = np.concatenate([audio, np.zeros((-off, channels))])
            info["padded_samples"] = max(info["padded_samples"], -off)
        elif off > 0:
            audio = audio[:n]
            info["cut_samples"] = max(info["cut_samples"], off)
        estimates[target] = audio
    return estimates, info
