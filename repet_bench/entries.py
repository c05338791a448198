"""Another method's published results on the leaderboard: folders of museval JSON files.

A SiSEC 2018 submission's ``test/*.json`` (or anything museval's ``EvalStore.save``
wrote) becomes a leaderboard entry: per-track medians ranked with the runs that scored
exactly the same tracks at full length (``python -m repet_bench.report ... --entry
NAME=DIR``).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from .data import TARGETS
from .io import safe_filename
from .rundir import document_rows
from .results import Group, per_track_medians


ENTRY = "museval-json"  # algo_name of a report entry read from museval JSON files


def load_entry(folder: Path) -> pd.DataFrame:
    """Per-track medians of a folder of museval JSON files (one per track, as museval's
    ``EvalStore.save`` and the SiSEC 2018 submissions write them, e.g.
    ``sigsep-mus-2018/submissions/REP1/test/*.json``, or the submission's folder itself,
    ``submissions/REP1``, whose ``test/`` is read); ``subset`` is the folder's name when
    it is ``train``/``test``, else ``test``.

    Raises
    ------
    FileNotFoundError
        No JSON file in ``folder``.
    ValueError
        A file that is not a museval track document (the message names it).
    """
    folder = Path(folder)
    if not any(folder.glob("*.json")) and (folder / "test").is_dir():
        folder = folder / "test"  # a submission's (or an --export's) method folder
    files = sorted(folder.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no museval JSON file (*.json) in {folder}")
    subset = folder.name if folder.name in ("train", "test") else "test"
    frames, seen = [], {}
    for file in files:
        track, rows = _read_track(file, subset)
        if track in seen:
            raise ValueError(f"{file} and {seen[track]} are both track {track!r}: an entry "
                             "holds one file per track; remove one of them")
        seen[track] = file
        frames.append(rows[rows["target"].isin(TARGETS)])
    return per_track_medians(pd.concat(frames, ignore_index=True))


# BSS Eval's values in dB lie far inside this; beyond it a file is damaged or not museval's.
MAX_ABS_DB = 1000.0


def _read_track(file: Path, subset: str) -> tuple[str, pd.DataFrame]:
    """A museval track document, as museval writes it: ``name`` = the file's name (or its
    shortened form, :func:`repet_bench.io.safe_filename`), every metric a number of dB
    or null (NaN), at least one frame per target. Any other file is a ValueError naming
    it and the field."""
    def bad(why: str) -> ValueError:
        return ValueError(f"{file} is not a museval track JSON: {why}")

    try:
        doc = json.loads(file.read_text(), parse_constant=lambda c: {"NaN": math.nan}.get(c, c))
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad(f"{exc.__class__.__name__}: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("targets"), list):
        raise bad('no "targets" list')
    track = doc.get("name") or file.stem
    if not isinstance(track, str) or file.stem not in (track, safe_filename(track)):
        raise bad(f'"name" {track!r} is not the file\'s name {file.stem!r} (one track per '
                  "file, named after it)")
    for target in doc["targets"]:
        where = f'target {target.get("name")!r}' if isinstance(target, dict) else "a target"
        frames = target.get("frames") if isinstance(target, dict) else None
        if not frames:
            raise bad(f"{where} has no frames")
        for i, frame in enumerate(frames):
            for metric, value in (frame.get("metrics") or {}).items():
                if value is None or (isinstance(value, float) and math.isnan(value)):
                    continue
                if (isinstance(value, bool) or not isinstance(value, (int, float))
                        or not abs(value) <= MAX_ABS_DB):
                    raise bad(f"{where}, frame {i}, {metric} = {value!r}: a metric is a "
                              f"number of dB (within ±{MAX_ABS_DB:g}) or null")
    try:
        return track, document_rows(doc, track, subset)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise bad(f"{exc.__class__.__name__}: {exc}") from None


def add_entries(runs_table: pd.DataFrame, per_track: pd.DataFrame, groups: dict[str, Group],
                entries: dict[str, Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rank published results (museval JSON folders, :func:`load_entry`) with the runs:
    an entry joins the full-length group that scored exactly its tracks; otherwise it is
    listed, not ranked, with the reason.

    Returns the runs table and per-track table with the entries' rows added.
    """
    rows, scores = [], [per_track]
    for name, folder in entries.items():
        table = load_entry(folder)
        names = set(table["track"])
        group = next((g for g in groups.values() if g.full_length and g.track_names == names),
                     None)
        row = {"run": str(Path(folder).resolve()), "status": "complete", "ranked": False,
               "reason": "", "group": None, "config": name, "algo": name, "mask": None,
               "phase": None, "variant": name, "algo_name": ENTRY, "config_key": f"entry:{name}",
               "config_hash": "", "n_tracks": len(names), "n_scored": len(names),
               "finished": None}
        if group is None:
            row["reason"] = (f"museval JSON of {len(names)} tracks: no leaderboard scored exactly "
                             "these tracks at full length")
        else:
            row.update(ranked=True, group=group.id)
            scores.append(table.assign(group=group.id, config=name, run=row["run"]))
        rows.append(row)
    runs_table = pd.concat([runs_table, pd.DataFrame(rows)], ignore_index=True)
    return runs_table, pd.concat(scores, ignore_index=True)
