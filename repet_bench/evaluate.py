"""museval BSS Eval v4 on the (vocals, accompaniment) pair, museval JSON and tidy rows.

A thin wrapper: museval computes the metrics, museval's ``TrackStore`` writes its own
JSON (so ``museval.EvalStore`` / ``MethodStore.add_eval_dir`` read our results), and the
tidy table is read back from those JSON files, so both always agree.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .data import TARGETS, ensure_ffmpeg
from .io import atomic_write_text

METRICS = ("SDR", "SIR", "SAR", "ISR")


@dataclass
class TrackScores:
    """Framewise scores of one track.

    Attributes
    ----------
    json : str
        museval's JSON document for the track (NaN frames where museval gives none).
    error : str or None
        Why the scores are all NaN (museval refuses a silent reference or estimate),
        else None.
    """

    json: str
    error: str | None = None


def n_frames(n_samples: int, win: int, hop: int) -> int:
    """museval's frame count for a signal of ``n_samples`` (its ``Framing.nwin``)."""
    if win >= n_samples:
        return 1
    return (n_samples - win + hop) // hop


def evaluate_track(
    track_name: str, references: dict, estimates: dict, rate: int, win: float = 1.0,
    hop: float = 1.0,
) -> TrackScores:
    """Score the vocals/accompaniment estimates of one track with museval v4.

    Parameters
    ----------
    references, estimates : dict of str to ndarray (samples, channels)
        ``vocals`` and ``accompaniment``; estimates are padded/truncated to the
        reference length, as museval does.
    rate : int
        Sample rate in Hz.
    win, hop : float
        Frame length and hop in seconds (SiSEC: 1 s and 1 s).
    """
    ensure_ffmpeg()
    import museval

    win_n, hop_n = int(win * rate), int(hop * rate)
    store = museval.TrackStore(track_name=track_name, win=win, hop=hop)
    error = None
    try:
        sdr, isr, sir, sar = museval.evaluate(
            [references[t] for t in TARGETS], [estimates[t] for t in TARGETS],
            win=win_n, hop=hop_n, mode="v4",
        )
    except ValueError as exc:  # museval refuses an all-silent reference or estimate
        error = str(exc)
        nan = np.full((len(TARGETS), n_frames(len(references[TARGETS[0]]), win_n, hop_n)), np.nan)
        sdr = isr = sir = sar = nan
    for i, target in enumerate(TARGETS):
        store.add_target(target, {"SDR": sdr[i].tolist(), "SIR": sir[i].tolist(),
                                  "ISR": isr[i].tolist(), "SAR": sar[i].tolist()})
    store.validate()
    return TrackScores(store.json, error)


def write_json(path: Path, scores: TrackScores) -> None:
    atomic_write_text(path, scores.json)


def read_json(path: Path, track: str, subset: str) -> pd.DataFrame:
    """Tidy rows of one museval JSON: track, subset, target, metric, frame, time, score."""
    doc = json.loads(Path(path).read_text())
    rows = []
    for target in doc["targets"]:
        for frame, entry in enumerate(target["frames"]):
            for metric in METRICS:
                value = entry["metrics"][metric]
                rows.append((track, subset, target["name"], metric, frame, entry["time"],
                             math.nan if value is None else float(value)))
    return pd.DataFrame(rows, columns=["track", "subset", "target", "metric", "frame", "time", "score"])


def summarize(scores: pd.DataFrame) -> pd.DataFrame:
    """SiSEC aggregation: median over frames (NaN skipped) per track, then over tracks.

    Returns a table indexed by target with one column per metric.
    """
    per_track = scores.groupby(["track", "target", "metric"])["score"].median()
    table = per_track.groupby(["target", "metric"]).median().unstack("metric")
    return table.reindex(index=list(TARGETS), columns=list(METRICS))
