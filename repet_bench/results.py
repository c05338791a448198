"""Run dirs → run records and tidy score tables; the SiSEC aggregation, implemented once.

The report, the Python API (:func:`repet_bench.load_scores`, :func:`repet_bench.leaderboard`)
and the summary a run prints all read results through this module::

    find_runs          every folder holding a run.json → Run (status, config, records)
    config_labels      a readable name per configuration (options and non-default keys)
    collect            one row per run + tidy per-track medians of the runs that rank
    per_track_medians  median over frames (NaN frames skipped) per track, target, metric
    median_over_tracks then the median over tracks: the SiSEC 2018 aggregate
    aggregate          both steps for one run's scores (the summary printed after a run)

Runs rank together only when they scored the same audio (a :class:`Group`: same dataset,
excerpt and track set). Nothing here imports the runner: the run dir layout is read, the
way it is written is the runner's business.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

from . import rundir
from .algorithms import uses_strategies
from .config import available, config_hash, default_options, option, scored_config
from .data import TARGETS
from .evaluation import (METRICS, PER_TRACK_METRICS, ROW_COLUMNS, SONG_METRICS,
                         largest_difference)

# The tidy scores table (scores.parquet): one row per frame × target × metric.
SCORE_COLUMNS = ["run", "algo", "mask", "phase", "config_hash", *ROW_COLUMNS]
# The wide columns of an aggregate, "<target>_<metric>" (dB): medians over tracks, and for
# the song-level SDR also the mean over tracks ("<target>_nSDR_mean"), as the MDX and SDX
# challenges aggregate it.
BOARD_COLUMNS = ([f"{t}_{m}" for t in TARGETS for m in METRICS + PER_TRACK_METRICS]
                 + [f"{t}_{m}_mean" for t in TARGETS for m in SONG_METRICS])
# Dataset keys that only choose which tracks (the scored track set says that) or where
# files live; every other dataset key (name, excerpt, generator seed...) changes the audio.
_TRACK_SELECTION_KEYS = ("root", "subsets", "split", "tracks", "max_tracks")
# Config groups that are named options shown as name(params); the rest as group.key=value.
_OPTION_GROUPS = ("algo", "mask", "phase")


@dataclass
class Run:
    """One run dir as found on disk.

    Attributes
    ----------
    path : Path
        The run dir (holds ``run.json``).
    status : str
        ``run.json``'s status (``complete``, ``partial``, ``running``, ``interrupted``), or
        ``unreadable`` when ``run.json``/``scores.parquet`` cannot be used.
    config : dict
        The resolved config from ``run.json``.
    tracks : dict
        ``"<subset>/<track>"`` → per-track record (``None`` where the record is missing).
    """

    path: Path
    status: str
    config: dict = field(default_factory=dict)
    config_hash: str | None = None
    n_tracks: int = 0
    tracks: dict = field(default_factory=dict)
    finished: float | None = None
    error: str | None = None
    crosscheck: dict | None = None  # run.json's eval=fast vs museval check, if any

    @property
    def failures(self) -> dict[str, str]:
        """``"<subset>/<track>"`` → error of every track not scored."""
        return {key: (rec or {}).get("error") or "no record" for key, rec in self.tracks.items()
                if not rec or rec.get("status") != "scored"}

    @property
    def n_scored(self) -> int:
        return len(self.tracks) - len(self.failures)


def load_run(path: Path) -> Run:
    """Read ``<path>/run.json``; a run that cannot be used is returned as ``unreadable``."""
    path = Path(path)
    try:
        meta = rundir.read_meta(path)
        config = meta["config"]
        for group in _OPTION_GROUPS:  # a label needs these; fail here, not mid-report
            str(config[group]["name"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return Run(path, "unreadable", error=f"run.json unusable ({exc.__class__.__name__}: {exc})")
    # A run still going (or killed) has no per-track summary in run.json yet: read the
    # per-track records it has written so far.
    tracks = meta.get("tracks") or rundir.track_records(path)
    run = Run(path, meta.get("status", "unknown"), config, meta.get("config_hash"),
              meta.get("n_tracks", 0), tracks, meta.get("finished"),
              crosscheck=meta.get("crosscheck"))
    if run.status == "complete" and not rundir.has_scores(path):
        run.status, run.error = "unreadable", "complete but scores.parquet is missing"
    return run


def find_runs(paths: Iterable[Path]) -> list[Run]:
    """Every run dir (a folder containing ``run.json``) at or below ``paths``, sorted by path.

    Raises
    ------
    FileNotFoundError
        If a path does not exist.
    """
    return [load_run(p) for p in rundir.find_run_dirs(paths)]


def _named_option(group: str, node: dict) -> str | None:
    """The packaged option of ``group`` whose values ``node`` has, if any (e.g. an ``stft``
    equal to ``conf/stft/nussl2018.yaml`` reads ``stft=nussl2018``)."""
    return next((option for option in available(group)
                 if _defaults(group, option) == node), None)


def _defaults(group: str, name: str) -> dict | None:
    """The packaged option's values, or None for an option this version does not ship
    (a run made by another version)."""
    try:
        return option(group, name)
    except ValueError:
        return None


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if value is None:
        return "null"
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _changed(values: dict, defaults: dict | None, varying: set) -> dict:
    """Parameters off their default; without a known default, those that vary across runs."""
    out = {}
    for key, value in values.items():
        if key == "name":
            continue
        if defaults is not None and key in defaults:
            if value != defaults[key]:
                out[key] = value
        elif key in varying:
            out[key] = value
    return out


@dataclass(frozen=True)
class Label:
    """Human name of a configuration: each named option with its non-default parameters."""

    algo: str
    mask: str | None  # None: not applicable (estimates not made with our masks)
    phase: str | None
    extra: str = ""  # other groups off default, e.g. "stft.hop=1024"

    @property
    def variant(self) -> str:
        """The configuration without mask and phase (a heatmap panel)."""
        return " ".join(p for p in (self.algo, self.extra) if p)

    @property
    def text(self) -> str:
        return " / ".join(p for p in (self.algo, self.mask, self.phase, self.extra) if p)


def config_labels(configs: Sequence[dict]) -> list[Label]:
    """Labels of resolved run configs (the dataset is left out: it decides the group)."""
    scored = [scored_config(c) for c in configs]
    for c in scored:
        c.pop("dataset", None)
    # Values of each (group, option, key) across runs: a key with no packaged default is
    # shown only where it varies.
    seen: dict[tuple, set] = {}
    for c in scored:
        for group, node in c.items():
            if isinstance(node, dict):
                option = node.get("name", default_options().get(group))
                for key, value in node.items():
                    seen.setdefault((group, option, key), set()).add(_fmt(value))
    labels = []
    for c in scored:
        parts, extra = {}, []
        for group, node in sorted(c.items()):
            if not isinstance(node, dict):
                continue
            option = node.get("name", default_options().get(group))
            varying = {k for k in node if len(seen[(group, option, k)]) > 1}
            changed = _changed(node, _defaults(group, str(option)), varying)
            if group == "algo" and "method" in node:  # names the entry (IBM1...): always shown
                changed["method"] = node["method"]
            params = ", ".join(f"{k}={_fmt(v)}" for k, v in sorted(changed.items()))
            if group in _OPTION_GROUPS:
                parts[group] = f"{option}({params})" if params else str(option)
            else:
                named = _named_option(group, node) if changed else None
                extra += ([f"{group}={named}"] if named else
                          [f"{group}.{k}={_fmt(v)}" for k, v in sorted(changed.items())])
        if not uses_strategies(c.get("algo")):  # no mask/phase/stft of ours
            parts["mask"] = parts["phase"] = None
            extra = [e for e in extra if not e.startswith("stft")]
        labels.append(Label(parts.get("algo", "?"), parts.get("mask", "?"),
                            parts.get("phase", "?"), " ".join(extra)))
    return labels


def config_key(config: dict) -> str:
    """Hash of what determines the scores apart from the dataset (which decides the group)."""
    return config_hash({k: v for k, v in config.items() if k != "dataset"})


@dataclass(frozen=True)
class Group:
    """Runs that scored the same audio: same dataset, excerpt and track set."""

    id: str
    dataset: str
    audio: str                  # JSON of the audio-determining dataset keys
    tracks: tuple[str, ...]     # "<subset>/<track>", sorted

    @property
    def track_names(self) -> set[str]:
        return {t.split("/", 1)[1] for t in self.tracks}

    @property
    def full_length(self) -> bool:
        audio = json.loads(self.audio)
        return (not audio.get("offset") and audio.get("duration") is None
                and not audio.get("download"))  # MUSDB18-7: 7 s of each track

    def describe(self) -> str:
        """One-line heading: dataset, subsets, number of tracks, excerpt."""
        audio = json.loads(self.audio)
        subsets = sorted({t.split("/", 1)[0] for t in self.tracks})
        n = len(self.tracks)
        parts = [self.dataset, "+".join(subsets), f"{n} track{'s' if n != 1 else ''}"]
        offset, duration = audio.get("offset") or 0, audio.get("duration")
        if audio.get("download"):
            parts.append("MUSDB18-7 preview (7 s per track)")
        if duration is not None:
            parts.append(f"excerpt {offset:g}–{offset + duration:g} s")
        elif offset:
            parts.append(f"from {offset:g} s to the end")
        elif not audio.get("download"):
            parts.append("full length")
        if audio.get("name") == "synthetic":
            parts.append(f"seed {audio.get('seed')}")
        return " · ".join(parts)


def _group_of(run: Run, tracks: Iterable[str]) -> Group:
    # Keys that do not change the scores (dataset.root, dataset.decode_cache) never split
    # a group: scored_config leaves them out.
    dataset = {k: v for k, v in scored_config(run.config).get("dataset", {}).items()
               if k not in _TRACK_SELECTION_KEYS}
    audio = json.dumps(dataset, sort_keys=True)
    tracks = tuple(sorted(set(tracks)))
    digest = hashlib.sha256(json.dumps([audio, tracks]).encode()).hexdigest()[:8]
    return Group(digest, str(dataset.get("name")), audio, tracks)


def per_track_medians(scores: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Median over frames (NaN frames skipped) per subset, track, target and metric.

    The first step of the SiSEC aggregation, kept per track so the statistics over tracks
    can use it. Columns named in ``by`` (e.g. ``config``) are kept as further keys.

    Returns
    -------
    DataFrame
        Tidy rows ``*by, subset, track, target, metric, score``; a track whose frames are
        all NaN keeps a NaN score.

    Examples
    --------
    >>> frames = pd.DataFrame({"subset": "test", "track": "a", "target": "vocals",
    ...                        "metric": "SDR", "score": [1.0, 2.0, float("nan"), 9.0]})
    >>> per_track_medians(frames)["score"].tolist()
    [2.0]
    """
    keys = [*by, "subset", "track", "target", "metric"]
    return scores.groupby(keys, observed=True, sort=False)["score"].median().reset_index()


def median_over_tracks(per_track: pd.DataFrame, by: Sequence[str] = ("config",)) -> pd.DataFrame:
    """The second step of the SiSEC aggregation: median over tracks (NaN tracks skipped).

    Returns
    -------
    DataFrame
        Indexed by ``by``, one column per :data:`BOARD_COLUMNS` entry (dB: medians over
        tracks, and the mean over tracks of the song-level SDR), plus
        ``n_tracks`` (tracks scored) and ``n_undefined`` (tracks whose vocals SDR is NaN:
        a silent source, left out of the medians).
    """
    by = list(by)
    column = per_track["target"] + "_" + per_track["metric"]
    tidy = per_track.assign(column=column)
    table = tidy.pivot_table(index=by, columns="column", values="score", aggfunc="median",
                             dropna=False)
    song = tidy[tidy["metric"].isin(SONG_METRICS)]
    if len(song):
        means = song.pivot_table(index=by, columns="column", values="score", aggfunc="mean")
        table = table.join(means.add_suffix("_mean"))
    table = table.reindex(columns=BOARD_COLUMNS)
    table.columns.name = None
    counted = per_track.groupby(by)[["subset", "track"]]
    table["n_tracks"] = counted.apply(lambda t: len(t.drop_duplicates())).reindex(table.index)
    vocals_sdr = per_track[(per_track["target"] == "vocals") & (per_track["metric"] == "SDR")]
    table["n_undefined"] = (vocals_sdr.groupby(by)["score"].apply(lambda s: int(s.isna().sum()))
                            .reindex(table.index).fillna(0).astype(int))
    return table


def aggregate(scores: pd.DataFrame) -> pd.DataFrame:
    """SiSEC aggregate of one run's tidy scores: median over frames, then over tracks.

    Returns
    -------
    DataFrame
        Indexed by target (vocals, accompaniment), one column per metric present (dB).

    Examples
    --------
    >>> frames = pd.DataFrame({"subset": "test", "track": ["a", "a", "b"],
    ...                        "target": "vocals", "metric": "SDR", "score": [1.0, 3.0, 5.0]})
    >>> float(aggregate(frames).loc["vocals", "SDR"])  # tracks: 2.0 and 5.0
    3.5
    """
    wide = median_over_tracks(per_track_medians(scores).assign(config=""))
    metrics = [m for m in METRICS + PER_TRACK_METRICS if m in set(scores["metric"])]
    return pd.DataFrame({m: [wide[f"{t}_{m}"].iloc[0] for t in TARGETS] for m in metrics},
                        index=pd.Index(TARGETS, name="target"))


def load_scores(*paths: Path, frames: bool = True) -> pd.DataFrame:
    """The tidy scores of every complete run under ``paths``, with configuration columns.

    Parameters
    ----------
    *paths : Path
        Results dirs, sweep dirs or run dirs (searched recursively for run.json).
    frames : bool
        True: one row per frame (as scores.parquet); False: per-track medians over frames.

    Returns
    -------
    DataFrame
        :data:`SCORE_COLUMNS` (``frame`` and ``time`` only with ``frames``) plus
        ``config`` (the configuration's label, as the report shows it), ``group`` (runs on
        the same audio share it) and ``config_key``. Runs that are not complete, and older
        duplicates of a configuration, are left out (the report lists them).

    Raises
    ------
    FileNotFoundError
        A path does not exist or holds no complete run.
    """
    runs = find_runs(paths)
    runs_table, per_track, _ = collect(runs) if runs else (None, None, None)
    ranked = runs_table[runs_table["ranked"]] if runs else pd.DataFrame()
    if ranked.empty:
        raise FileNotFoundError(f"no complete run under {', '.join(map(str, paths))}")
    if not frames:
        return per_track.merge(ranked[["run", "config_key", "config_hash"]], on="run")
    parts = [rundir.read_scores(r.run).assign(
        run=r.run, config=r.config, group=r.group, config_key=r.config_key)
        for r in ranked.itertuples()]
    return pd.concat(parts, ignore_index=True)


def collect(runs: Sequence[Run]) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Group]]:
    """Tabulate runs and the per-track scores of those that can be ranked.

    Returns
    -------
    runs_table : DataFrame
        One row per run dir: ``run, status, ranked, reason, group, config, algo, mask,
        phase, variant, algo_name, config_key, config_hash, n_tracks, n_scored, finished``.
    per_track : DataFrame
        Tidy per-track medians of ranked runs: ``group, config, run, subset, track,
        target, metric, score``.
    groups : dict of str to Group
        Group id → group, ordered by number of tracks (most first).
    """
    readable = [r for r in runs if r.status != "unreadable"]
    labels = dict(zip(map(id, readable), config_labels([r.config for r in readable])))
    rows, scores, groups = [], [], {}
    for run in runs:
        row = _run_row(run, labels.get(id(run)))
        if run.status == "complete":
            table = _read_scores(run, row)
            if table is not None:
                group = _group_of(run, table["subset"] + "/" + table["track"])
                groups[group.id] = group
                row.update(ranked=True, group=group.id)
                scores.append(table.assign(group=group.id, run=row["run"]))
        elif not row["reason"]:
            row["reason"] = _not_ranked_reason(run)
        rows.append(row)
    runs_table = pd.DataFrame(rows)
    _drop_duplicates(runs_table)
    ranked = runs_table[runs_table["ranked"]].set_index("run")["config"]
    per_track = (pd.concat(scores, ignore_index=True) if scores else
                 pd.DataFrame(columns=["group", "run", "subset", "track", "target", "metric",
                                       "score"]))
    per_track = per_track[per_track["run"].isin(ranked.index)].reset_index(drop=True)
    per_track.insert(1, "config", per_track["run"].map(ranked))
    order = sorted(groups.values(), key=lambda g: (-len(g.tracks), g.describe()))
    return runs_table, per_track, {g.id: g for g in order}


def _run_row(run: Run, label: Label | None) -> dict:
    """The runs-table row of one run (label None: run.json unreadable)."""
    label = label or Label("", "", "")
    worst = largest_difference(run.crosscheck) or ("", float("nan"))
    return {"run": str(run.path), "status": run.status, "ranked": False,
            "reason": run.error or "", "group": None, "config": label.text,
            "algo": label.algo, "mask": label.mask, "phase": label.phase,
            "variant": label.variant,
            "algo_name": run.config["algo"]["name"] if run.config else "",
            "config_key": config_key(run.config) if run.config else "",
            "config_hash": run.config_hash or "", "n_tracks": run.n_tracks,
            "n_scored": run.n_scored, "finished": run.finished,
            # Largest |eval=fast − museval| (dB) of the run's cross-check, and its metric
            # (NaN and "": none).
            "crosscheck_db": worst[1], "crosscheck_metric": worst[0]}


def _read_scores(run: Run, row: dict) -> pd.DataFrame | None:
    """Per-track medians of a complete run; None (reason in ``row``) when unusable."""
    try:
        table = per_track_medians(rundir.read_scores(run.path))
    except Exception as exc:  # pyarrow raises several types for a damaged file
        row.update(status="unreadable", reason=f"scores.parquet unusable ({exc})"[:300])
        return None
    if table.empty:
        row["reason"] = "complete but no track scored"
        return None
    return table


def _not_ranked_reason(run: Run) -> str:
    failures = run.failures
    if run.status in ("running", "interrupted"):
        # The records so far are those of finished tracks: count against the whole run.
        state = ("killed or still running" if run.status == "running" else "interrupted")
        return (f"{run.n_scored} of {run.n_tracks or '?'} tracks scored; {state}: rerun the "
                "same command to finish")
    first = next(iter(failures.items()), None)
    detail = f"; first failure {first[0]}: {first[1]}" if first else ""
    return f"{len(failures)} of {len(run.tracks)} tracks not scored{detail}"[:300]


def _drop_duplicates(runs_table: pd.DataFrame) -> None:
    """Rank one run per configuration and group (the latest); list the others."""
    ranked = runs_table[runs_table["ranked"]].sort_values("finished", ascending=False,
                                                          na_position="last")
    for _, dups in ranked.groupby(["group", "config_key"], sort=False):
        keep = dups["run"].iloc[0]
        for index in dups.index[1:]:
            runs_table.loc[index, ["ranked", "reason"]] = (
                False, f"same configuration and tracks as {keep} (newer); ranked once")
    # Two configurations sharing a label (a parameter without a known default) stay apart.
    ranked = runs_table[runs_table["ranked"]]
    clash = ranked.duplicated(["group", "config"], keep=False)
    for index in ranked.index[clash]:
        runs_table.loc[index, "config"] += f" #{runs_table.loc[index, 'config_key'][:6]}"
