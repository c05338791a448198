"""The run dir: where each of a run's files lives, and how each is read and written.

Layout (every file written atomically, :mod:`repet_bench.io`)::

    run.json                         resolved config, its hash, versions, per-track timings;
                                     status "complete" only when every track is scored
    tracks/<subset>/<track>.json     per-track record: status, timings, diagnostics, error
    museval/<subset>/<track>.json    museval's own JSON (EvalStore/MethodStore read it)
    scores.parquet                   tidy scores of all scored tracks (see DESIGN.md)
    estimates/<subset>/<track>/      wav estimates, with ``save_estimates=true``
    .lock                            held while a run writes into the dir

The only module that spells these names: the runner, the results tables, the report
and the entries read and write through it. Track names become file names through
:func:`repet_bench.io.safe_filename` (long names shortened with a hash).

>>> import tempfile
>>> out = Path(tempfile.mkdtemp())
>>> write_record(out, "test", "A - B", {"status": "scored"})["status"]
'scored'
>>> read_record(out, "test", "A - B"), track_records(out)
({'status': 'scored'}, {'test/A - B': {'status': 'scored'}})
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Iterable

import pandas as pd

from .io import atomic_write, atomic_write_text, safe_filename
from .evaluation import METRICS, ROW_COLUMNS

RUN_JSON = "run.json"
SCORES = "scores.parquet"
RECORDS = "tracks"
MUSEVAL = "museval"
ESTIMATES = "estimates"


def record_path(out_dir: Path, subset: str, track: str) -> Path:
    return Path(out_dir) / RECORDS / subset / f"{safe_filename(track)}.json"


def museval_path(out_dir: Path, subset: str, track: str) -> Path:
    return Path(out_dir) / MUSEVAL / subset / f"{safe_filename(track)}.json"


def estimates_dir(out_dir: Path, subset: str, track: str) -> Path:
    return Path(out_dir) / ESTIMATES / subset / safe_filename(track)


def read_record(out_dir: Path, subset: str, track: str) -> dict | None:
    """A track's record, or None when it is missing or damaged (the track is redone)."""
    try:
        return json.loads(record_path(out_dir, subset, track).read_text())
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def write_record(out_dir: Path, subset: str, track: str, record: dict) -> dict:
    atomic_write_text(record_path(out_dir, subset, track),
                      json.dumps(record, indent=2, default=float))
    return record


def track_records(out_dir: Path) -> dict:
    """Every record file in the dir, ``"<subset>/<file stem>"`` -> record (None if damaged)."""
    records = {}
    for file in sorted((Path(out_dir) / RECORDS).glob("*/*.json")):
        try:
            records[f"{file.parent.name}/{file.stem}"] = json.loads(file.read_text())
        except (OSError, ValueError):
            records[f"{file.parent.name}/{file.stem}"] = None
    return records


def read_meta(out_dir: Path) -> dict:
    """``run.json``; raises OSError/ValueError when it is missing or unreadable."""
    return json.loads((Path(out_dir) / RUN_JSON).read_text())


def has_meta(out_dir: Path) -> bool:
    return (Path(out_dir) / RUN_JSON).exists()


def write_meta(out_dir: Path, meta: dict) -> None:
    atomic_write_text(Path(out_dir) / RUN_JSON, json.dumps(meta, indent=2, default=float))


def write_scores(out_dir: Path, scores: pd.DataFrame) -> None:
    atomic_write(Path(out_dir) / SCORES, lambda tmp: scores.to_parquet(tmp, index=False))


def has_scores(out_dir: Path) -> bool:
    return (Path(out_dir) / SCORES).exists()


def read_scores(out_dir: Path, **kwargs) -> pd.DataFrame:
    """``scores.parquet`` (``kwargs`` go to :func:`pandas.read_parquet`, e.g. ``filters``)."""
    return pd.read_parquet(Path(out_dir) / SCORES, **kwargs)


def find_run_dirs(paths: Iterable[Path]) -> list[Path]:
    """Every run dir (a folder holding ``run.json``) at or below ``paths``, sorted by path.

    Raises
    ------
    FileNotFoundError
        If a path does not exist.
    """
    found = {}
    for root in map(Path, paths):
        if not root.exists():
            raise FileNotFoundError(f"no such results dir: {root}")
        for run_json in sorted(root.rglob(RUN_JSON)):
            found.setdefault(run_json.parent.resolve(), run_json.parent)
    return [p for _, p in sorted(found.items())]


def write_museval(out_dir: Path, subset: str, track: str, text: str) -> None:
    """museval's JSON document of one track (``TrackScores.json``). museval's readers name
    a track after its file; where the file name is shortened (:func:`safe_filename`), the
    document also carries the full ``"name"``, as SiSEC's submissions do."""
    if safe_filename(track) != track:
        doc = json.loads(text)
        doc["name"] = track
        text = json.dumps(doc, indent=2)
    atomic_write_text(museval_path(out_dir, subset, track), text)


def read_museval(out_dir: Path, subset: str, track: str) -> pd.DataFrame | None:
    """Tidy rows of a track's museval JSON (:func:`tidy_rows`); None when there is none.
    A damaged file raises ValueError, KeyError, TypeError or UnicodeDecodeError."""
    path = museval_path(out_dir, subset, track)
    if not path.exists():
        return None
    return tidy_rows(path.read_text(), track, subset)


def tidy_rows(text: str, track: str, subset: str) -> pd.DataFrame:
    """Tidy rows (:data:`ROW_COLUMNS`) of a museval JSON document; ``null`` is NaN."""
    return document_rows(json.loads(text), track, subset)


def document_rows(doc: dict, track: str, subset: str) -> pd.DataFrame:
    """:func:`tidy_rows` of a museval document already parsed."""
    rows = []
    for target in doc["targets"]:
        for frame, entry in enumerate(target["frames"]):
            for metric in METRICS:
                value = entry["metrics"][metric]
                rows.append((track, subset, target["name"], metric, frame, entry["time"],
                             math.nan if value is None else float(value)))
    return pd.DataFrame(rows, columns=ROW_COLUMNS)
