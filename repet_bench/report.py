"""Leaderboards from run dirs: rank configurations per track set, beside SiSEC 2018.

``python -m repet_bench.report <results or sweep dir> [more dirs] [--out DIR] [--scatter A B]``

Steps (tidy in, aggregate late)::

    find_runs     every folder holding a run.json → Run (status, config, per-track records)
    collect       one row per run (status, dataset group, configuration label) + tidy
                  per-track scores (median over frames, NaN frames skipped) of complete runs
    leaderboard   per group: median over tracks, bootstrap CI, Wilcoxon vs the best
    reference     published SiSEC 2018 rows; a per-track paired comparison when a group
                  holds exactly SiSEC's 50 MUSDB18 test tracks at full length
    build_report  leaderboard.md / .csv / .html and plots (``plots.py``), each written
                  atomically into the report folder

Only complete runs are ranked; every other run dir found is listed with its status, never
dropped. Runs are ranked together only when they scored the same audio: same dataset,
excerpt and set of tracks (one leaderboard per such group). The HTML page is a list of
``Section`` objects, so later work can append sections (e.g. audio players).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import html
import importlib.resources
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from omegaconf import OmegaConf
from scipy import stats

from . import listen, plots
from .config import available
from .data import TARGETS
from .evaluate import METRICS, SI_METRICS
from .io import atomic_write, atomic_write_text, safe_filename
from .runner import scored_config

SEED = 0                 # bootstrap seed: the same runs always give the same report
CONFIDENCE = 0.95
MIN_CI_TRACKS = 3        # below this a bootstrap CI of the median is meaningless
# Fewest nonzero paired differences for which a two-sided exact Wilcoxon p can fall below
# 0.05 (its smallest p with n pairs is 2 / 2**n: 0.0625 at n=5, 0.031 at n=6).
MIN_WILCOXON_PAIRS = 6
ALPHA = 0.05

REFERENCE_METHODS = ("REP1", "REP2", "2DFT", "IBM1", "IBM2", "IRM1", "IRM2", "MWF", "MIX")
# Our algorithm → the SiSEC 2018 entry it reproduces when run as that entry was made
# (nussl 0.1.6a0's flavour and STFT at their defaults, soft mask, mixture phase, BSS Eval
# v4 on 1 s frames; see `sisec18_entry`). The oracles have no such counterpart: SiSEC's
# came from sigsep-mus-oracle (four-source masks, scipy's Hann 2048 / hop 1024 STFT); ours
# are two-target masks on the run's STFT (on the sample: IRM +0.5 to +0.8 dB, IBM +1.8 to
# +6.3 dB above sigsep-mus-oracle's rules; scripts/compare_oracles.py).
REFERENCE_MATCH = {"repet": "REP1", "repet_sim": "REP2", "ft2d": "2DFT", "mix": "MIX"}
IMPLEMENTATIONS = {
    "sisec18": "nussl 0.1.6a0 (the SiSEC 2018 code)",
    "sisec18-stft": "nussl 0.1.6a0 algorithm, another STFT (not the SiSEC 2018 code)",
    "nussl": "nussl 1.1.9 (not the SiSEC 2018 code)",
    "oracle": "two-target oracle on the run's STFT (not sigsep-mus-oracle)",
    "rafii": "Rafii's REPET reference code (no SiSEC 2018 entry)",
    "mix": "the mixture",
}
REFERENCE_TITLE = ("Published: SiSEC 2018, full MUSDB18 test set (50 tracks) — "
                   "not comparable to runs on other tracks")
# Dataset keys that only choose which tracks (the scored track set says that) or where
# files live; every other dataset key (name, excerpt, generator seed...) changes the audio.
_TRACK_SELECTION_KEYS = ("root", "subsets", "split", "tracks", "max_tracks")
# Config groups that are named options shown as name(params); the rest as group.key=value.
_OPTION_GROUPS = ("algo", "mask", "phase")
_SCORE_COLUMNS = [f"{t}_{m}" for t in TARGETS for m in METRICS + SI_METRICS]


# --------------------------------------------------------------------------- run dirs

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
        meta = json.loads((path / "run.json").read_text())
        config = meta["config"]
        for group in _OPTION_GROUPS:  # a label needs these; fail here, not mid-report
            str(config[group]["name"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return Run(path, "unreadable", error=f"run.json unusable ({exc.__class__.__name__}: {exc})")
    # A run still going (or killed) has no per-track summary in run.json yet: read the
    # per-track records it has written so far.
    tracks = meta.get("tracks") or _track_records(path)
    run = Run(path, meta.get("status", "unknown"), config, meta.get("config_hash"),
              meta.get("n_tracks", 0), tracks, meta.get("finished"))
    if run.status == "complete" and not (path / "scores.parquet").exists():
        run.status, run.error = "unreadable", "complete but scores.parquet is missing"
    return run


def _track_records(path: Path) -> dict:
    records = {}
    for file in sorted((path / "tracks").glob("*/*.json")):
        try:
            records[f"{file.parent.name}/{file.stem}"] = json.loads(file.read_text())
        except (OSError, ValueError):
            records[f"{file.parent.name}/{file.stem}"] = None
    return records


def find_runs(paths: Iterable[Path]) -> list[Run]:
    """Every run dir (a folder containing ``run.json``) at or below ``paths``, sorted by path.

    Raises
    ------
    FileNotFoundError
        If a path does not exist.
    """
    found = {}
    for root in map(Path, paths):
        if not root.exists():
            raise FileNotFoundError(f"no such results dir: {root}")
        for run_json in sorted(root.rglob("run.json")):
            found.setdefault(run_json.parent.resolve(), run_json.parent)
    return [load_run(p) for _, p in sorted(found.items())]


# --------------------------------------------------------------------------- labels

def _packaged_yaml(*parts: str) -> dict | None:
    """A yaml file of the packaged config tree (``repet_bench.conf``), unresolved."""
    try:
        text = importlib.resources.files("repet_bench.conf").joinpath(*parts).read_text()
    except (OSError, ModuleNotFoundError):
        return None
    return OmegaConf.to_container(OmegaConf.create(text), resolve=False) or {}


@functools.lru_cache(maxsize=None)
def option_defaults(group: str, option: str) -> dict | None:
    """Values of ``conf/<group>/<option>.yaml`` without its defaults list (None if absent)."""
    values = _packaged_yaml(group, f"{option}.yaml")
    if values is not None:
        values.pop("defaults", None)
    return values


@functools.lru_cache(maxsize=None)
def default_options() -> dict:
    """Group → default option, from the ``defaults`` list of the packaged config.yaml."""
    entries = (_packaged_yaml("config.yaml") or {}).get("defaults", [])
    return {k: v for e in entries if isinstance(e, dict) for k, v in e.items()}


def _named_option(group: str, node: dict) -> str | None:
    """The packaged option of ``group`` whose values ``node`` has, if any (e.g. an ``stft``
    equal to ``conf/stft/nussl2018.yaml`` reads ``stft=nussl2018``)."""
    return next((option for option in available(group)
                 if option_defaults(group, option) == node), None)


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
    mask: str
    phase: str
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
            changed = _changed(node, option_defaults(group, str(option)), varying)
            params = ", ".join(f"{k}={_fmt(v)}" for k, v in sorted(changed.items()))
            if group in _OPTION_GROUPS:
                parts[group] = f"{option}({params})" if params else str(option)
            else:
                named = _named_option(group, node) if changed else None
                extra += ([f"{group}={named}"] if named else
                          [f"{group}.{k}={_fmt(v)}" for k, v in sorted(changed.items())])
        labels.append(Label(parts.get("algo", "?"), parts.get("mask", "?"),
                            parts.get("phase", "?"), " ".join(extra)))
    return labels


def implementation(config: dict) -> str:
    """Whose code a run's numbers come from, as the leaderboard shows it (IMPLEMENTATIONS)."""
    algo = config["algo"]
    name = algo["name"]
    if name == "mix":
        return IMPLEMENTATIONS["mix"]
    if name in ("ibm", "irm"):
        return IMPLEMENTATIONS["oracle"]
    if name in ("adaptive_repet", "repet_extended"):
        return IMPLEMENTATIONS["rafii"]
    if algo.get("flavour") == "sisec18":
        return IMPLEMENTATIONS["sisec18" if sisec18_entry(config) else "sisec18-stft"]
    return IMPLEMENTATIONS["nussl"]


def sisec18_entry(config: dict) -> str | None:
    """The SiSEC 2018 entry a run reproduces (REP1, REP2, 2DFT, MIX), or None.

    A run reproduces an entry when it was made as the entry was: the algorithm in the
    ``sisec18`` flavour with every other parameter at its default, nussl 0.1.6a0's STFT
    (``stft=nussl2018``), soft mask, mixture phase, BSS Eval v4 on 1 s windows and hops
    (museval, or the fast backend, which gives museval's numbers). The mixture (MIX) is
    the same whatever the flavour.
    """
    name = config["algo"]["name"]
    entry = REFERENCE_MATCH.get(name)
    evaluation = config.get("eval", {})
    if entry is None or (evaluation.get("win"), evaluation.get("hop")) != (1.0, 1.0):
        return None
    if name == "mix":
        return entry
    made_as_entry = (
        config["algo"] == {**option_defaults("algo", name), "flavour": "sisec18"}
        and config.get("stft") == option_defaults("stft", "nussl2018")
        and config.get("mask") == {"name": "soft"}
        and config.get("phase") == {"name": "mixture"})
    return entry if made_as_entry else None


def config_key(config: dict) -> str:
    """Hash of what determines the scores apart from the dataset (which decides the group)."""
    scored = scored_config(config)
    scored.pop("dataset", None)
    return hashlib.sha256(json.dumps(scored, sort_keys=True).encode()).hexdigest()[:12]


# --------------------------------------------------------------------------- groups

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
        return not audio.get("offset") and audio.get("duration") is None

    def describe(self) -> str:
        """One-line heading: dataset, subsets, number of tracks, excerpt."""
        audio = json.loads(self.audio)
        subsets = sorted({t.split("/", 1)[0] for t in self.tracks})
        n = len(self.tracks)
        parts = [self.dataset, "+".join(subsets), f"{n} track{'s' if n != 1 else ''}"]
        offset, duration = audio.get("offset") or 0, audio.get("duration")
        if duration is not None:
            parts.append(f"excerpt {offset:g}–{offset + duration:g} s")
        elif offset:
            parts.append(f"from {offset:g} s to the end")
        else:
            parts.append("full length")
        if audio.get("name") == "synthetic":
            parts.append(f"seed {audio.get('seed')}")
        return " · ".join(parts)


def _group_of(run: Run, tracks: Iterable[str]) -> Group:
    dataset = {k: v for k, v in run.config.get("dataset", {}).items()
               if k not in _TRACK_SELECTION_KEYS}
    audio = json.dumps(dataset, sort_keys=True)
    tracks = tuple(sorted(set(tracks)))
    digest = hashlib.sha256(json.dumps([audio, tracks]).encode()).hexdigest()[:8]
    return Group(digest, str(dataset.get("name")), audio, tracks)


# --------------------------------------------------------------------------- tables

def per_track_medians(scores: pd.DataFrame) -> pd.DataFrame:
    """Median over frames (NaN frames skipped) per subset, track, target and metric.

    The first step of ``evaluate.summarize`` (SiSEC aggregation), kept per track so the
    statistics over tracks can use it. Returns tidy rows ``subset, track, target, metric,
    score``; a track whose frames are all NaN keeps a NaN score.
    """
    keys = ["subset", "track", "target", "metric"]
    return scores.groupby(keys, observed=True)["score"].median().reset_index()


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
    return {"run": str(run.path), "status": run.status, "ranked": False,
            "reason": run.error or "", "group": None, "config": label.text,
            "algo": label.algo, "mask": label.mask, "phase": label.phase,
            "variant": label.variant,
            "algo_name": run.config["algo"]["name"] if run.config else "",
            "implementation": implementation(run.config) if run.config else "",
            "sisec18_entry": sisec18_entry(run.config) if run.config else None,
            "config_key": config_key(run.config) if run.config else "",
            "config_hash": run.config_hash or "", "n_tracks": run.n_tracks,
            "n_scored": run.n_scored, "finished": run.finished}


def _read_scores(run: Run, row: dict) -> pd.DataFrame | None:
    """Per-track medians of a complete run; None (reason in ``row``) when unusable."""
    try:
        table = per_track_medians(pd.read_parquet(run.path / "scores.parquet"))
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


def median_ci(values, seed: int = SEED) -> tuple[float, float]:
    """Percentile-bootstrap CI of the median of per-track scores.

    The percentile method, not BCa: BCa's jackknife acceleration is unreliable for a
    non-smooth statistic such as the median. Returns (nan, nan) for fewer than
    ``MIN_CI_TRACKS`` scored tracks rather than a meaningless interval.
    """
    x = np.asarray(values, float)
    x = x[~np.isnan(x)]
    if x.size < MIN_CI_TRACKS:
        return np.nan, np.nan
    ci = stats.bootstrap((x,), np.median, confidence_level=CONFIDENCE, method="percentile",
                         random_state=np.random.default_rng(seed)).confidence_interval
    return float(ci.low), float(ci.high)


def paired_wilcoxon(a: pd.Series, b: pd.Series) -> tuple[int, float, float]:
    """Two-sided Wilcoxon signed-rank test of paired per-track scores.

    Parameters
    ----------
    a, b : Series
        Scores indexed by track; pairs are matched on the index, NaN pairs dropped.

    Returns
    -------
    n : int
        Paired tracks.
    median_diff : float
        Median of ``a - b`` over the pairs.
    p : float
        NaN when fewer than ``MIN_WILCOXON_PAIRS`` pairs differ (no p below 0.05 is
        possible) or the scores are identical.
    """
    both = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner").dropna()
    diff = both["a"] - both["b"]
    median = float(diff.median()) if len(diff) else np.nan
    if (diff != 0).sum() < MIN_WILCOXON_PAIRS:
        return len(both), median, np.nan
    return len(both), median, float(stats.wilcoxon(both["a"], both["b"]).pvalue)


def _track_scores(per_track: pd.DataFrame, config: str, target: str,
                  metric: str = "SDR") -> pd.Series:
    rows = per_track[(per_track["config"] == config) & (per_track["target"] == target)
                     & (per_track["metric"] == metric)]
    return rows.set_index(["subset", "track"])["score"]


def leaderboard(per_track: pd.DataFrame, seed: int = SEED) -> pd.DataFrame:
    """Rank the configurations of one group by median vocals SDR.

    Parameters
    ----------
    per_track : DataFrame
        Tidy per-track medians of one group (``config, subset, track, target, metric,
        score``).

    Returns
    -------
    DataFrame
        One row per configuration, best first: ``rank, config, n_tracks, n_undefined``
        (tracks whose scores are NaN: a silent source), the median over
        tracks of each ``<target>_<metric>`` (dB), ``<target>_SDR_ci_low/high`` (bootstrap
        CI, NaN below 3 tracks), and for vocals SDR against the best configuration
        ``n_paired, median_diff, p_vs_best, significant``.
    """
    per_track = per_track.assign(column=per_track["target"] + "_" + per_track["metric"])
    table = (per_track.pivot_table(index="config", columns="column", values="score",
                                   aggfunc="median")
             .reindex(columns=_SCORE_COLUMNS))
    table["n_tracks"] = per_track.groupby("config")[["subset", "track"]].apply(
        lambda t: len(t.drop_duplicates()))
    # Tracks BSS Eval leaves undefined (a silent source): NaN, so out of the medians.
    vocals_sdr = per_track[(per_track["target"] == "vocals") & (per_track["metric"] == "SDR")]
    table["n_undefined"] = (vocals_sdr.groupby("config")["score"]
                            .apply(lambda s: int(s.isna().sum())).reindex(table.index)
                            .fillna(0).astype(int))
    table = table.reset_index().sort_values(["vocals_SDR", "config"], ascending=[False, True],
                                            na_position="last", ignore_index=True)
    for target in TARGETS:
        cis = [median_ci(_track_scores(per_track, c, target), seed) for c in table["config"]]
        table[f"{target}_SDR_ci_low"], table[f"{target}_SDR_ci_high"] = zip(*cis) if cis else ((), ())
    best = _track_scores(per_track, table["config"].iloc[0], "vocals")
    tests = [paired_wilcoxon(_track_scores(per_track, c, "vocals"), best) if i else
             (np.nan, np.nan, np.nan) for i, c in enumerate(table["config"])]
    table["n_paired"], table["median_diff"], table["p_vs_best"] = zip(*tests)
    table["significant"] = table["p_vs_best"] < ALPHA
    table.insert(0, "rank", range(1, len(table) + 1))
    return table


# --------------------------------------------------------------------------- SiSEC 2018

def find_reference_dir() -> Path | None:
    """The repo's ``results/reference`` (beside the package in a source checkout)."""
    path = Path(__file__).resolve().parent.parent / "results" / "reference"
    return path if (path / "sisec18_summary.csv").exists() else None


@dataclass
class Reference:
    """Published SiSEC 2018 figures (MUSDB18 test set, 50 tracks)."""

    summary: pd.DataFrame    # method, target, metric, n_tracks, median_over_tracks, ...
    per_track: pd.DataFrame  # tidy like ``collect``'s per_track: config = method name

    @property
    def track_names(self) -> set[str]:
        return set(self.per_track["track"])


def load_reference(directory: Path | None) -> Reference | None:
    """Read ``sisec18_summary.csv`` and ``sisec18_pertrack.csv``; None if absent."""
    if directory is None:
        return None
    directory = Path(directory)
    try:
        summary = pd.read_csv(directory / "sisec18_summary.csv")
        raw = pd.read_csv(directory / "sisec18_pertrack.csv")
    except FileNotFoundError:
        return None
    per_track = raw.rename(columns={"method": "config", "median_over_frames": "score"})
    per_track = per_track.assign(subset="test")[
        ["config", "subset", "track", "target", "metric", "score"]]
    keep = per_track["config"].isin(REFERENCE_METHODS) & per_track["target"].isin(TARGETS)
    return Reference(summary, per_track[keep].reset_index(drop=True))


def reference_table(reference: Reference, seed: int = SEED) -> pd.DataFrame:
    """Published medians (from the summary CSV) in the leaderboard's columns, with CIs."""
    summary = reference.summary[reference.summary["method"].isin(REFERENCE_METHODS)
                                & reference.summary["target"].isin(TARGETS)]
    table = (summary.assign(column=summary["target"] + "_" + summary["metric"])
             .pivot_table(index="method", columns="column", values="median_over_tracks")
             .reindex(columns=_SCORE_COLUMNS))
    table["n_tracks"] = summary.groupby("method")["n_tracks"].max()
    table = table.reset_index().rename(columns={"method": "config"})
    table = table.sort_values("vocals_SDR", ascending=False, ignore_index=True)
    for target in TARGETS:
        cis = [median_ci(_track_scores(reference.per_track, m, target), seed)
               for m in table["config"]]
        table[f"{target}_SDR_ci_low"], table[f"{target}_SDR_ci_high"] = zip(*cis)
    return table


def covers_reference(group: Group, reference: Reference | None) -> bool:
    """True when a group scored exactly SiSEC's 50 test tracks, full length."""
    return (reference is not None and group.full_length
            and group.track_names == reference.track_names)


def reference_comparison(per_track: pd.DataFrame, runs: pd.DataFrame,
                         reference: Reference) -> pd.DataFrame:
    """Per-track paired SDR comparison of each configuration with its SiSEC 2018 entry.

    Parameters
    ----------
    per_track : DataFrame
        Tidy per-track medians of one group covering the SiSEC test tracks.
    runs : DataFrame
        ``collect``'s runs table (for each configuration's algorithm name).

    Returns
    -------
    DataFrame
        ``config, reference, target, n, median_diff`` (ours − published, dB), ``p``,
        ``significant``; empty when no configuration reproduces a SiSEC entry
        (:func:`sisec18_entry`).
    """
    entry_of = runs[runs["ranked"]].drop_duplicates("config").set_index("config")["sisec18_entry"]
    rows = []
    for config in per_track["config"].unique():
        method = entry_of[config]
        if pd.notna(method):  # only a run made as the entry was: other flavours are other code
            for target in TARGETS:
                ours = _track_scores(per_track, config, target).droplevel("subset")
                theirs = _track_scores(reference.per_track, method, target).droplevel("subset")
                n, diff, p = paired_wilcoxon(ours, theirs)
                rows.append({"config": config, "reference": method, "target": target,
                             "n": n, "median_diff": diff, "p": p, "significant": p < ALPHA})
    return pd.DataFrame(rows, columns=["config", "reference", "target", "n", "median_diff",
                                       "p", "significant"])


# --------------------------------------------------------------------------- formatting

def _num(v, digits: int = 2) -> str:
    return "" if pd.isna(v) else f"{v:.{digits}f}"


def _ci(low, high) -> str:
    return "n/a" if pd.isna(low) else f"[{low:.2f}, {high:.2f}]"


def _p(row) -> str:
    if row["rank"] == 1:
        return "best"
    if pd.isna(row["p_vs_best"]):
        return "n/a"
    return f"{row['p_vs_best']:.3g}" + (" *" if row["significant"] else "")


def display_table(table: pd.DataFrame, with_tests: bool = True) -> pd.DataFrame:
    """Formatted leaderboard (strings) with (target, metric) column pairs."""
    out = {("", "#"): table["rank"].astype(str)} if "rank" in table else {}
    out[("", "configuration")] = table["config"]
    if "implementation" in table:
        out[("", "implementation")] = table["implementation"]
    undefined = table["n_undefined"] if "n_undefined" in table else pd.Series(0, table.index)
    out[("", "n")] = [f"{n} ({u} NaN)" if u else str(n)
                      for n, u in zip(table["n_tracks"].astype(int), undefined.fillna(0).astype(int))]
    for target in TARGETS:
        out[(target, "SDR")] = table[f"{target}_SDR"].map(_num)
        out[(target, "95% CI")] = [_ci(lo, hi) for lo, hi in
                                   zip(table[f"{target}_SDR_ci_low"], table[f"{target}_SDR_ci_high"])]
        for metric in METRICS[1:]:
            out[(target, metric)] = table[f"{target}_{metric}"].map(_num)
    for target in TARGETS:  # the tutorial's whole-track metrics, in their own columns
        for metric in SI_METRICS:
            column = f"{target}_{metric}"
            if column in table and table[column].notna().any():
                out[(f"{target} (scale-invariant)", metric)] = table[column].map(_num)
    if with_tests:
        out[("vocals SDR vs best", "Δ median")] = [
            "" if r["rank"] == 1 or pd.isna(r["median_diff"]) else f"{r['median_diff']:+.2f}"
            for _, r in table.iterrows()]
        out[("vocals SDR vs best", "p")] = [_p(r) for _, r in table.iterrows()]
    frame = pd.DataFrame(out)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame


def _markdown(frame: pd.DataFrame) -> str:
    flat = frame.copy()
    if isinstance(flat.columns, pd.MultiIndex):
        flat.columns = [" ".join(p for p in c if p) for c in flat.columns]
    # A "|" inside a cell would split a markdown table row.
    flat = flat.astype(str).apply(lambda col: col.str.replace("|", "\\|"))
    return flat.to_markdown(index=False, disable_numparse=True)


def _html_table(frame: pd.DataFrame, css: str = "table") -> str:
    return frame.to_html(index=False, escape=True, border=0, classes=css, na_rep="")


@dataclass
class Section:
    """One block of the report, in both output formats.

    Attributes
    ----------
    id : str
        HTML anchor.
    title : str
        Heading text.
    markdown, html : str
        The body in each format (HTML already escaped).
    """

    id: str
    title: str
    markdown: str
    html: str


def render_markdown(title: str, sections: Sequence[Section]) -> str:
    parts = [f"# {title}"]
    for s in sections:
        parts += [f"## {s.title}", s.markdown.strip()]
    return "\n\n".join(parts) + "\n"


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 110em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1em; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #ddd; text-align: right; }
td:nth-child(2), th:nth-child(2) { text-align: left; }
thead th { background: #f3f3f3; }
section { margin-bottom: 2.5em; }
section.reference { background: #f7f7f7; padding: 0.2em 1em 1em; border-left: 4px solid #aaa; }
figure { margin: 1em 0; } figure img { max-width: 100%; }
.note { color: #555; font-size: 0.9em; }
"""


def render_html(title: str, sections: Sequence[Section]) -> str:
    """A standalone page: title, table of contents, one ``<section>`` per Section."""
    toc = "".join(f'<li><a href="#{html.escape(s.id)}">{html.escape(s.title)}</a></li>'
                  for s in sections)
    body = "".join(f'<section id="{html.escape(s.id)}"><h2>{html.escape(s.title)}</h2>'
                   f"{s.html}</section>\n" for s in sections)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n"
            f"<body><h1>{html.escape(title)}</h1><nav><ul>{toc}</ul></nav>\n{body}</body></html>\n")


def _figure(path: Path, out_dir: Path, caption: str) -> tuple[str, str]:
    rel = path.relative_to(out_dir).as_posix()
    return (f"![{caption}]({rel.replace(' ', '%20')})",
            f'<figure><img src="{html.escape(rel)}" alt="{html.escape(caption)}">'
            f"<figcaption class=\"note\">{html.escape(caption)}</figcaption></figure>")


# --------------------------------------------------------------------------- report

METHOD_NOTE = (
    "Scores: museval BSS Eval v4 on 1 s frames, in dB; median over frames (NaN frames "
    "skipped) per track, then median over tracks, as SiSEC 2018. Sorted by vocals SDR. "
    f"95% CI: percentile bootstrap of the median over tracks (9999 resamples, seed {SEED}); "
    f"n/a below {MIN_CI_TRACKS} tracks. p: two-sided paired Wilcoxon signed-rank test over "
    "tracks of per-track vocals SDR against the best configuration of the same leaderboard "
    f"(* p < {ALPHA}, no correction for multiple comparisons); n/a with fewer than "
    f"{MIN_WILCOXON_PAIRS} tracks that differ. Each leaderboard holds runs on the same "
    "audio only: same dataset, excerpt and tracks. n: tracks scored; (k NaN): tracks BSS "
    "Eval leaves undefined (a silent source), left out of the medians. Implementation: whose code made the "
    "numbers. Only runs made as the SiSEC 2018 entries were (+experiment=sisec18: nussl "
    "0.1.6a0's flavour and STFT) are compared track by track with the published entries; "
    "the other rows are different implementations of the same methods.")


@dataclass
class Report:
    """What ``build_report`` produced.

    Attributes
    ----------
    runs : DataFrame
        One row per run dir found (``collect``'s runs table).
    leaderboard : DataFrame
        Every ranked configuration, all groups, plus SiSEC rows (``source`` column); what
        leaderboard.csv holds.
    reference_comparison : DataFrame
        Paired per-track comparisons with SiSEC 2018 entries (may be empty).
    sections : list of Section
        The report body; append and call ``write`` again to extend the page.
    """

    out_dir: Path
    runs: pd.DataFrame
    per_track: pd.DataFrame
    groups: dict
    leaderboard: pd.DataFrame
    reference_comparison: pd.DataFrame
    sections: list
    figures: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    files: list = field(default_factory=list)
    title: str = "repet_bench leaderboard"

    def write(self) -> list[Path]:
        """Write leaderboard.md/.csv/.html into ``out_dir`` (each atomically)."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        md, csv, page = (self.out_dir / f"leaderboard.{ext}" for ext in ("md", "csv", "html"))
        atomic_write_text(md, render_markdown(self.title, self.sections))
        atomic_write(csv, lambda tmp: self.leaderboard.to_csv(tmp, index=False, float_format="%.6g"))
        atomic_write_text(page, render_html(self.title, self.sections))
        self.files = [md, csv, page, *self.figures]
        return self.files

    def summary(self) -> str:
        """A few lines for the terminal: each group's ranking, what was not ranked, files."""
        ranked = self.runs["ranked"].sum() if len(self.runs) else 0
        lines = [f"{len(self.runs)} run dir(s): {ranked} ranked in {len(self.groups)} "
                 f"group(s), {len(self.runs) - ranked} not ranked"]
        board = self.leaderboard[self.leaderboard["source"] == "run"]
        for gid, rows in board.groupby("group", sort=False):
            lines.append(f"[{gid}] {rows['dataset'].iloc[0]}")
            for _, r in rows.iterrows():
                lines.append(f"  {int(r['rank']):>2}. {r['config']:<45} vocals SDR {_num(r['vocals_SDR']):>6}"
                             f"  accompaniment SDR {_num(r['accompaniment_SDR']):>6}  "
                             f"p vs best {_p(r)}")
        for _, r in self.runs[~self.runs["ranked"]].iterrows():
            lines.append(f"not ranked: {r['run']} ({r['status']}: {r['reason']})")
        lines += self.notes
        lines.append(f"report: {self.out_dir} ({', '.join(p.name for p in self.files[:3])}, "
                     f"{len(self.figures)} plot(s))")
        return "\n".join(lines)


def _select(spec: str, runs: pd.DataFrame) -> set[str]:
    """Configurations a --scatter argument names: label, run dir, or hash prefix."""
    ranked = runs[runs["ranked"]]
    spec_path = str(Path(spec).resolve()) if spec else ""
    hit = (ranked["config"] == spec) | (ranked["run"].map(lambda r: Path(r).name) == spec)
    hit |= ranked["run"] == spec_path
    if len(spec) >= 4:  # a hash prefix; shorter ones would match by accident
        hit |= ranked["config_key"].str.startswith(spec) | ranked["config_hash"].str.startswith(spec)
    return set(ranked.loc[hit, "config"])


def _group_section(group: Group, label: str, table: pd.DataFrame, per_track: pd.DataFrame,
                   runs: pd.DataFrame, reference: Reference | None, out_dir: Path,
                   scatter: tuple[str, str] | None, figures: list) -> Section:
    """A leaderboard of one group, its track list and its plots."""
    shown = display_table(table)
    run_of = runs[runs["ranked"] & (runs["group"] == group.id)].set_index("config")["run"]
    names = sorted(group.track_names)
    md = [f"Tracks ({len(names)}): {', '.join(names)}" if len(names) <= 10
          else f"{len(names)} tracks (listed in the HTML report).", _markdown(shown)]
    page = [f'<details><summary>{len(names)} track(s)</summary><p class="note">'
            f"{html.escape('; '.join(names))}</p></details>", _html_table(shown, "leaderboard")]
    if covers_reference(group, reference):
        same = ("These are SiSEC 2018's 50 MUSDB18 test tracks at full length: the "
                "published entries below are comparable, per track.")
        md.insert(0, same)
        page.insert(0, f'<p class="note">{html.escape(same)}</p>')
    md.append("Runs: " + "; ".join(f"{c} → `{os.path.relpath(run_of[c], out_dir)}`"
                                   for c in table["config"]))
    page.append("<p class=\"note\">Runs: " + "; ".join(
        f"{html.escape(c)} → <code>{html.escape(os.path.relpath(run_of[c], out_dir))}</code>"
        for c in table["config"]) + "</p>")
    for path, caption in _group_plots(group, label, table, per_track, runs, reference,
                                      out_dir, scatter):
        figures.append(path)
        fig_md, fig_html = _figure(path, out_dir, caption)
        md.append(fig_md)
        page.append(fig_html)
    return Section(f"group-{label}", f"Leaderboard {label}: {group.describe()}",
                   "\n\n".join(md), "\n".join(page))


def _group_plots(group: Group, label: str, table: pd.DataFrame, per_track: pd.DataFrame,
                 runs: pd.DataFrame, reference: Reference | None, out_dir: Path,
                 scatter: tuple[str, str] | None) -> list[tuple[Path, str]]:
    folder = out_dir / "plots"
    order = table["config"].tolist()
    ref = reference.per_track if covers_reference(group, reference) else None
    made = [(plots.boxplot(per_track, folder / f"{label}_boxplot.png", order, ref),
             f"Per-track SDR by configuration ({group.describe()})"
             + ("; grey: published SiSEC 2018 entries" if ref is not None else ""))]
    meta = runs[runs["ranked"] & (runs["group"] == group.id)].set_index("config")
    cells = table.set_index("config")[["vocals_SDR"]].join(meta[["variant", "mask", "phase"]])
    if cells["mask"].nunique() > 1 or cells["phase"].nunique() > 1:
        made.append((plots.heatmap(cells.reset_index(), folder / f"{label}_heatmap.png"),
                     "Median vocals SDR over tracks by mask and phase, per algorithm"))
    pair = None
    if scatter:
        a, b = (_select(s, runs) & set(order) for s in scatter)
        pair = (min(a, key=order.index), min(b, key=order.index)) if a and b else None
    elif len(order) >= 2:
        pair = (order[1], order[0])  # the runner-up against the best
    if pair:
        made.append((plots.scatter(per_track, *pair, folder / f"{label}_scatter.png"),
                     f"Per-track SDR: A = {pair[0]}, B = {pair[1]}"))
    return made


def _reference_sections(reference: Reference | None, seed: int) -> tuple[list[Section], pd.DataFrame]:
    if reference is None:
        note = ("SiSEC 2018 reference figures not found (results/reference/ beside the "
                "package); published rows skipped.")
        return [Section("sisec18", "Published: SiSEC 2018", note,
                        f'<p class="note">{html.escape(note)}</p>')], pd.DataFrame()
    table = reference_table(reference, seed)
    shown = display_table(table, with_tests=False)
    note = ("Medians from sisec18_summary.csv; CIs bootstrapped from sisec18_pertrack.csv. "
            "REP1 = REPET, REP2 = REPET-SIM, 2DFT = 2D Fourier transform (nussl 0.1.6a0, "
            "reproduced by +experiment=sisec18); IBM/IRM = ideal binary/ratio masks "
            "(1: magnitude, 2: power), MWF = multichannel Wiener filter (sigsep-mus-oracle: "
            "four-source masks, Hann 2048 / hop 1024; our ibm/irm are two-target masks and "
            "score higher); MIX = the mixture as every estimate.")
    body_html = (f'<div class="reference">{_html_table(shown, "reference")}'
                 f'<p class="note">{html.escape(note)}</p></div>')
    section = Section("sisec18", REFERENCE_TITLE, _markdown(shown) + "\n\n" + note, body_html)
    return [section], table


def _comparison_section(comparison: pd.DataFrame, labels: dict) -> Section:
    shown = pd.DataFrame({
        "leaderboard": comparison["group"].map(labels), "configuration": comparison["config"],
        "SiSEC entry": comparison["reference"], "target": comparison["target"],
        "n": comparison["n"], "median Δ SDR (ours − published)": comparison["median_diff"].map(
            lambda v: "" if pd.isna(v) else f"{v:+.2f}"),
        "p": [("n/a" if pd.isna(p) else f"{p:.3g}" + (" *" if p < ALPHA else ""))
              for p in comparison["p"]]})
    note = ("Paired over the 50 tracks: per-track SDR (median over frames) of the run minus "
            "the published entry's; two-sided Wilcoxon signed-rank test, * p < 0.05.")
    return Section("sisec18-paired", "Per-track comparison with SiSEC 2018",
                   _markdown(shown) + "\n\n" + note,
                   _html_table(shown) + f'<p class="note">{html.escape(note)}</p>')


def _not_ranked_section(runs: pd.DataFrame, out_dir: Path) -> Section:
    rest = runs[~runs["ranked"]]
    if rest.empty:
        text = "Every run dir found was complete and ranked."
        return Section("not-ranked", "Not ranked", text, f'<p class="note">{text}</p>')
    shown = pd.DataFrame({
        "run": rest["run"].map(lambda r: os.path.relpath(r, out_dir)),
        "status": rest["status"], "configuration": rest["config"],
        "scored": [f"{s}/{n}" for s, n in zip(rest["n_scored"], rest["n_tracks"])],
        "why not ranked": rest["reason"]})
    note = "Runs that are partial, running, interrupted, unreadable or duplicates: listed, not ranked."
    return Section("not-ranked", "Not ranked", note + "\n\n" + _markdown(shown),
                   f'<p class="note">{note}</p>' + _html_table(shown))


def build_report(paths: Sequence[Path], out: Path | None = None,
                 scatter: tuple[str, str] | None = None, reference_dir: Path | None = None,
                 extra_sections: Sequence[Section] = (), seed: int = SEED,
                 write: bool = True, listen_tracks: Sequence[str] | None = None) -> Report:
    """Find the runs under ``paths``, rank them and write the report.

    Parameters
    ----------
    paths : sequence of Path
        Results dirs, sweep dirs or run dirs (searched recursively for run.json).
    out : Path, optional
        Report folder (default ``<first path>/report``).
    scatter : (str, str), optional
        Two configurations for the per-track scatter (label, run dir name or config hash
        prefix); default: the runner-up against the best of each leaderboard.
    reference_dir : Path, optional
        Folder of the SiSEC 2018 CSVs (default: the repo's ``results/reference``).
    extra_sections : sequence of Section
        Appended to the page.
    listen_tracks : sequence of str, optional
        Tracks to show audio players for, from runs run with ``save_estimates=true``
        (default: the first two tracks with estimates).
    write : bool
        Write the files (False: only compute).

    Returns
    -------
    Report

    Raises
    ------
    FileNotFoundError
        A path does not exist or holds no run dir.
    ValueError
        A ``scatter`` configuration matches no ranked run.
    """
    paths = [Path(p) for p in paths]
    out_dir = Path(out) if out is not None else paths[0] / "report"
    runs = find_runs(paths)
    if not runs:
        raise FileNotFoundError(f"no run dir (folder with a run.json) under {', '.join(map(str, paths))}")
    runs_table, per_track, groups = collect(runs)
    if scatter:
        for spec in scatter:
            if not _select(spec, runs_table):
                known = "; ".join(sorted(set(runs_table.loc[runs_table["ranked"], "config"])))
                raise ValueError(f"--scatter {spec!r} matches no ranked configuration "
                                 f"(known: {known or 'none'})")
    reference = load_reference(reference_dir or find_reference_dir())
    labels = {gid: f"g{i}" for i, gid in enumerate(groups, 1)}
    implementation_of = (runs_table[runs_table["ranked"]].drop_duplicates("config")
                         .set_index("config")["implementation"]) if len(runs_table) else {}
    sections = [Section("method", "How to read this", METHOD_NOTE,
                        f'<p class="note">{html.escape(METHOD_NOTE)}</p>')]
    boards, comparisons, figures, notes = [], [], [], []
    for gid, group in groups.items():
        rows = per_track[per_track["group"] == gid]
        table = leaderboard(rows, seed)
        table.insert(2, "implementation", table["config"].map(implementation_of))
        boards.append(table.assign(group_id=gid, group=labels[gid], dataset=group.describe(),
                                   source="run"))
        if write:
            sections.append(_group_section(group, labels[gid], table, rows, runs_table,
                                           reference, out_dir, scatter, figures))
        if covers_reference(group, reference):
            comparisons.append(reference_comparison(rows, runs_table, reference).assign(group=gid))
    if len(groups) > 1:
        notes.append(f"{len(groups)} leaderboards: runs on different tracks or excerpts are "
                     "never ranked together.")
    ref_sections, ref_table = _reference_sections(reference, seed)
    if reference is None:
        notes.append("SiSEC 2018 reference CSVs not found: published rows skipped.")
    sections += ref_sections
    comparison = pd.concat(comparisons, ignore_index=True) if comparisons else pd.DataFrame(
        columns=["group", "config", "reference", "target", "n", "median_diff", "p", "significant"])
    if len(comparison):
        sections.append(_comparison_section(comparison, labels))
    sections.append(_not_ranked_section(runs_table, out_dir))
    players = listen.section_html(runs_table, out_dir, listen_tracks)
    if players:
        sections.append(Section("listen", "Listen", "Audio players: see leaderboard.html.", players))
    sections += list(extra_sections)
    board = _csv_table(boards, ref_table, runs_table)
    report = Report(out_dir, runs_table, per_track, groups, board, comparison, sections,
                    figures, notes)
    if write:
        report.write()
    return report


def _csv_table(boards: list[pd.DataFrame], ref_table: pd.DataFrame,
               runs: pd.DataFrame) -> pd.DataFrame:
    """All leaderboards in one long table; SiSEC rows marked by ``source``."""
    meta = runs[runs["ranked"]][["group", "config", "algo", "mask", "phase", "config_hash", "run"]]
    meta = meta.rename(columns={"group": "group_id"})
    parts = [board.merge(meta, on=["group_id", "config"], how="left") for board in boards]
    if len(ref_table):
        parts.append(ref_table.assign(group="sisec18", source="SiSEC 2018 (published)",
                                      dataset="musdb18 · test · 50 tracks · full length",
                                      algo=ref_table["config"]))
    columns = (["source", "group", "dataset", "rank", "config", "implementation", "algo",
                "mask", "phase", "n_tracks", "n_undefined"] + _SCORE_COLUMNS
               + [f"{t}_SDR_ci_{e}" for t in TARGETS for e in ("low", "high")]
               + ["n_paired", "median_diff", "p_vs_best", "significant", "config_hash", "run"])
    if not parts:
        return pd.DataFrame(columns=columns)
    table = pd.concat(parts, ignore_index=True).reindex(columns=columns)
    return table.astype({"rank": "Int64", "n_tracks": "Int64", "n_paired": "Int64"})


# --------------------------------------------------------------------------- CLI

def track_sections(runs: Sequence[Run], tracks: Sequence[str], out_dir: Path) -> list[Section]:
    """A "Track analysis" section per named track: REPET's beat spectrum, the period it
    picks and the three spectrograms, with the STFT/REPET settings of the first run that
    scored the track (its dataset config locates the audio).

    Raises
    ------
    ValueError
        A track no readable run scored.
    """
    from . import data

    sections = []
    for name in tracks:
        run = next((r for r in runs if r.config and any(k.split("/", 1)[-1] == name
                                                         for k in r.tracks)), None)
        if run is None:
            raise ValueError(f"--analyse {name!r}: no run scored a track of that name")
        cfg = OmegaConf.create(run.config)
        refs = data.list_tracks(cfg.dataset, Path(cfg.paths.cache).expanduser())
        ref = next(r for r in refs if r.name == name)
        track = data.load_track(ref)
        algo = run.config["algo"] if run.config["algo"]["name"] == "repet" else None
        png = plots.track_analysis(track.mixture, track.rate,
                                   out_dir / "plots" / f"track-{safe_filename(name)}.png",
                                   name, run.config["stft"], algo)
        md, body = _figure(png, out_dir, f"{name}: beat spectrum and REPET models")
        sections.append(Section(f"track-{len(sections)}", f"Track analysis: {name}", md, body))
    return sections


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m repet_bench.report``: exit 0, or 2 when nothing can be reported."""
    parser = argparse.ArgumentParser(
        prog="python -m repet_bench.report",
        description="Leaderboards (md/csv/html) and plots from repet_bench run dirs.")
    parser.add_argument("dirs", nargs="+", type=Path,
                        help="results dirs, sweep dirs or run dirs (searched recursively)")
    parser.add_argument("--out", type=Path, help="report folder (default <first dir>/report)")
    parser.add_argument("--scatter", nargs=2, metavar=("CONFIG_A", "CONFIG_B"),
                        help="two configurations (label, run dir name or config hash prefix) "
                             "for the per-track scatter")
    parser.add_argument("--reference", type=Path,
                        help="folder of the SiSEC 2018 CSVs (default: results/reference/)")
    parser.add_argument("--listen", nargs="+", metavar="TRACK",
                        help="tracks to embed audio players for (runs with save_estimates=true)")
    parser.add_argument("--analyse", nargs="+", metavar="TRACK", default=(),
                        help="tracks to plot the beat spectrum, period and spectrograms of "
                             "(read from the dataset of the first run that scored them)")
    args = parser.parse_args(argv)
    try:
        out_dir = args.out if args.out is not None else args.dirs[0] / "report"
        extra = track_sections(find_runs(args.dirs), args.analyse, out_dir)
        report = build_report(args.dirs, args.out, args.scatter, args.reference,
                              extra_sections=extra, listen_tracks=args.listen)
    except (FileNotFoundError, ValueError) as exc:
        print(f"repet_bench.report: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
