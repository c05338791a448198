"""Listening: estimates kept as wav files, and audio players in the HTML report.

A run with ``save_estimates=true`` writes, per track, under ``<run>/estimates/<subset>/<track>/``:
``vocals.wav`` and ``accompaniment.wav`` (the estimates) and ``mixture.wav``,
``vocals_true.wav``, ``accompaniment_true.wav`` (what they should be), all 16-bit and, with
``estimates_seconds=N``, only the first N seconds (a 7-minute track is 74 MB per file).
"""

from __future__ import annotations

import html
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from . import rundir
from .data import TARGETS, matches
from .io import atomic_write, safe_filename


def write_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    """``audio`` ``(samples, channels)`` as a 16-bit wav, clipped to [-1, 1], atomically."""
    import soundfile as sf

    clipped = np.clip(np.asarray(audio), -1, 1)
    atomic_write(path, lambda tmp: sf.write(tmp, clipped, rate, subtype="PCM_16", format="WAV"))


# The wav files a track's estimates folder holds, by name (without .wav).
FILES = ("mixture", *(f"{t}_true" for t in TARGETS), *TARGETS)


def has_estimates(run_dir: Path, subset: str, track: str) -> bool:
    """Whether every wav file :func:`save_estimates` writes for the track is there."""
    folder = rundir.estimates_dir(run_dir, subset, track)
    return all((folder / f"{name}.wav").is_file() for name in FILES)


def save_estimates(run_dir: Path, subset: str, track: str, rate: int, mixture: np.ndarray,
                   references: dict, estimates: dict, seconds: float | None = None) -> Path:
    """Write one track's estimates and references (each ``(samples, channels)``) as wav."""
    folder = rundir.estimates_dir(run_dir, subset, track)
    n = None if seconds is None else int(seconds * rate)
    files = {"mixture": mixture, **{f"{t}_true": references[t] for t in TARGETS},
             **{t: estimates[t] for t in TARGETS}}
    for name, audio in files.items():
        write_wav(folder / f"{name}.wav", np.asarray(audio)[:n], rate)
    return folder


def _player(path: Path, out_dir: Path, copy_to: Path | None = None) -> str:
    """An audio player of ``path``, linked relative to the report folder ``out_dir``;
    ``copy_to``: the file is copied there first (a standalone report holds its audio)."""
    if copy_to is not None:
        target = copy_to / path.name
        atomic_write(target, lambda tmp: shutil.copyfile(path, tmp))
        path = target
    src = html.escape(os.path.relpath(path, out_dir))
    return f'<audio controls preload="none" src="{src}"></audio>'


def section_html(runs: pd.DataFrame, out_dir: Path, patterns: list[str],
                 standalone: bool = False) -> tuple[str, list[str]]:
    """Audio players for the tracks ``patterns`` name: mixture and true sources, then each
    configuration's vocals and accompaniment side by side.

    Parameters
    ----------
    runs : DataFrame
        The report's runs table (``run`` = run dir, ``config`` = label, ``ranked``).
    patterns : list of str
        Track names or shell-style patterns, as ``dataset.tracks`` (``"*Falcon*"``).
    standalone : bool
        Copy the wav files into ``out_dir/audio/`` and link those, so the report folder
        can be moved or sent (otherwise the players link the run dirs' files).

    Returns
    -------
    (str, list of str)
        The HTML and the track names it holds players for.

    Raises
    ------
    ValueError
        No ranked run kept estimates, or no track with estimates matches (the message
        lists the tracks that have them).
    """
    found = {}  # track name -> [(config, folder)]
    for _, row in runs[runs["ranked"]].iterrows():
        for folder in sorted((Path(row["run"]) / rundir.ESTIMATES).glob("*/*")):
            if (folder / "vocals.wav").exists():
                found.setdefault(folder.name, []).append((row["config"], folder))
    if not found:
        raise ValueError("--listen: no ranked run kept its estimates; rerun it with "
                         "save_estimates=true (estimates_seconds=30 keeps 30 s per track)")
    names = [name for name in sorted(found) if matches(name, patterns)]
    if not names:
        raise ValueError(f"--listen {' '.join(map(repr, patterns))} matches no track with saved "
                         "estimates (exact names or shell patterns such as '*Falcon*'); "
                         f"tracks with estimates: {', '.join(sorted(found))}")
    parts = []
    for name in names:
        entries = found[name]
        first = entries[0][1]
        here = out_dir / "audio" / safe_filename(name) if standalone else None
        copies = {folder: here / f"{i}" if here is not None else None
                  for i, (_, folder) in enumerate(entries)}
        parts.append(f"<h3>{html.escape(name)}</h3><table class=\"listen\"><tr><th></th>"
                     "<th>vocals</th><th>accompaniment</th></tr>")
        sources = here / "sources" if here is not None else None
        parts.append("<tr><td>mixture</td><td colspan=2>"
                     f"{_player(first / 'mixture.wav', out_dir, sources)}</td></tr>")
        parts.append("<tr><td>true sources</td>" + "".join(
            f"<td>{_player(first / f'{t}_true.wav', out_dir, sources)}</td>" for t in TARGETS)
            + "</tr>")
        for config, folder in entries:
            parts.append(f"<tr><td>{html.escape(config)}</td>" + "".join(
                f"<td>{_player(folder / f'{t}.wav', out_dir, copies[folder])}</td>"
                for t in TARGETS) + "</tr>")
        parts.append("</table>")
    return "\n".join(parts), names
