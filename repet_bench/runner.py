"""Run configurations over a dataset: resume, share per-track work, isolate failures.

One execution path: :func:`run_points` runs one or many points (a configuration and its
run dir); a single run is a sweep of one point (:func:`run`). Per track, the points that
read the same dataset with the same runner settings share one decode, and among them the
points with the same ``algo`` and ``stft`` share one
:class:`repet_bench.separation.Separator` (the mixture STFT and the algorithm's models);
each point then applies its own mask and phase, is scored and writes its own files
(:mod:`repet_bench.rundir`) under its own lock. So a shared sweep writes exactly what the
point-by-point sweep (``hydra/launcher=basic``) writes: tests check the museval JSON is
byte-identical.

A track counts as done when its record says ``scored`` for this configuration and its
museval JSON reads; rerunning the same configuration into the same dir skips those
tracks. Worker processes: :mod:`repet_bench.workers`.
"""

from __future__ import annotations

import logging
import platform
import time
import traceback
from contextlib import ExitStack
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from . import bsseval_fast, cache, costs, data, evaluation, listen, rundir, workers
from .algorithms import get_algorithm
from .config import config_hash, scored_config, unknown_keys
from .io import (DiskFullError, LockedError, exclusive_lock, remove_stale_temporaries,
                 writable_problem)
from .resources import held_per_second
from .results import SCORE_COLUMNS, aggregate
from .separation import Separation, Separator
from .stft import Stft
from .validation import validate

log = logging.getLogger(__name__)


class RunError(RuntimeError):
    """A run that cannot start (bad dataset, a results dir of another config...)."""


@dataclass
class RunResult:
    out_dir: Path
    n_tracks: int
    n_scored: int
    n_resumed: int
    failures: dict = field(default_factory=dict)
    summary: pd.DataFrame | None = None
    # Scored tracks BSS Eval left undefined (a silent source): track key -> museval's reason.
    undefined: dict = field(default_factory=dict)
    # eval=fast against museval on an excerpt of one track (evaluation.crosscheck + "track").
    crosscheck: dict | None = None

    @property
    def ok(self) -> bool:
        return not self.failures


def _diff_keys(a: dict, b: dict, prefix: str = "") -> list[str]:
    keys = []
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k), b.get(k)
        if isinstance(va, dict) and isinstance(vb, dict):
            keys += _diff_keys(va, vb, f"{prefix}{k}.")
        elif va != vb:
            keys.append(f"{prefix}{k}")
    return keys


def versions() -> dict:
    out = {"python": platform.python_version()}
    for pkg in ("repet-bench", "numpy", "scipy", "museval", "musdb", "stempeg", "pandas",
                "hydra-core", "joblib"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def _read_record(out_dir: Path, ref: data.TrackRef) -> dict | None:
    return rundir.read_record(out_dir, ref.subset, ref.name)


def _write_record(out_dir: Path, ref: data.TrackRef, record: dict) -> dict:
    return rundir.write_record(out_dir, ref.subset, ref.name, record)


def is_scored(out_dir: Path, ref: data.TrackRef, digest: str,
              record: dict | None = None, crosscheck: bool = False) -> bool:
    """Done = a ``scored`` record of this configuration (``digest``) and a museval JSON
    that reads (:func:`_scored_rows`); pass ``record`` if already read."""
    return _scored_rows(out_dir, ref, digest, record, crosscheck) is not None


def _crosschecked(refs: list, job: dict) -> str | None:
    """The key of the track whose evaluation is checked against museval: the run's first,
    with ``eval=fast`` (museval is not checked against itself)."""
    return refs[0].key if refs and job["eval"]["backend"] == "fast" else None


def _scored_rows(out_dir: Path, ref: data.TrackRef, digest: str,
                 record: dict | None = None, crosscheck: bool = False) -> pd.DataFrame | None:
    """The tidy museval rows of a scored track, or None when it must be (re)scored.

    A scored track whose museval JSON is damaged, or whose record says another
    configuration, lacks a metric, or (``crosscheck``: the run's checked track) lacks
    its check against museval, is scored again. Read once: resume and the scores table
    both take their rows from here.
    """
    record = record if record is not None else _read_record(out_dir, ref)
    if not (record and record.get("status") == "scored"):
        return None
    if record.get("config_hash", digest) != digest:  # records before the hash: trusted
        log.warning("the record of %s in %s is of another configuration; scoring the track "
                    "again", ref.key, rundir.record_path(out_dir, ref.subset, ref.name))
        return None
    whole = record.get("whole_track") or {}
    if any(set(evaluation.WHOLE_TRACK_METRICS) - set(whole.get(t, {})) for t in data.TARGETS):
        log.info("the record of %s predates the song-level SDR; scoring the track again",
                 ref.key)
        return None
    source = record.get("source")  # records before it: trusted, as for the config hash
    if source is not None and source != _source_key(ref):
        log.warning("the files of %s changed since it was scored (rewritten, replaced or "
                    "removed); scoring the track again", ref.key)
        return None
    if "mixture" not in record:
        log.info("the record of %s predates the improvement over the mixture (SDRi); "
                 "scoring the track again", ref.key)
        return None
    if crosscheck and "crosscheck" not in record:
        log.info("%s was scored before eval=fast was checked against museval; scoring it again",
                 ref.key)
        return None
    try:
        return rundir.read_museval(out_dir, ref.subset, ref.name)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        log.warning("the scores of %s in %s cannot be read (%s); scoring the track again",
                    ref.key, rundir.museval_path(out_dir, ref.subset, ref.name),
                    exc.__class__.__name__)
        return None


def _source_key(ref: data.TrackRef) -> str | None:
    """The identity of a track's files now (:func:`repet_bench.data.decode_key`); None
    when they cannot be read (removed)."""
    try:
        return data.decode_key(ref)
    except OSError:
        return None


def _cache_dir(job: dict) -> Path:
    return Path(job["paths"]["cache"]).expanduser()


def _needs_cache(job: dict) -> bool:
    """Whether the run writes the cache (the sample or synthetic root, decoded audio, the
    fast backend's reference statistics); checked writable before it starts."""
    return bool(job["dataset"]["name"] in data.GENERATED or job["dataset"].get("decode_cache")
                or job["eval"]["backend"] == "fast")


def cache_problem(job: dict) -> str | None:
    """Why the run cannot write the cache it needs (:func:`_needs_cache`), or None."""
    return writable_problem(_cache_dir(job), "the cache (paths.cache)",
                            "paths.cache=<dir> or REPET_BENCH_CACHE=<dir>") if _needs_cache(job) else None


def _stats_path(ref: data.TrackRef, job: dict) -> Path | None:
    """Where the fast backend caches this track's reference statistics: keyed by the
    track's files and excerpt (``decode_key``) and the evaluation window and hop."""
    ev = job["eval"]
    if ev["backend"] != "fast":
        return None
    key = f"{_eval_key(ref, ev)}-v{bsseval_fast.STATS_VERSION}"
    return _cache_dir(job) / "refstats" / f"{key}.npz"


def _eval_key(ref: data.TrackRef, ev: dict) -> str:
    """What a track's cached evaluation inputs depend on: its files and excerpt
    (``decode_key``) and the evaluation window and hop."""
    return f"{data.decode_key(ref)}-w{ev['win']}-h{ev['hop']}"


# The version of the cached mixture scores' definition: bump it when it changes.
MIXTURE_VERSION = 1


def mixture_scores(ref: data.TrackRef, job: dict, track: data.TrackAudio,
                   memo: dict | None = None) -> dict:
    """:func:`repet_bench.evaluation.mixture_scores` of the track with the run's evaluation
    settings, computed once per track and settings: ``memo`` holds them for the other
    points of the same task, and where the run keeps a cache, other runs and reruns read
    them from it."""
    ev = job["eval"]
    setting = (ev["win"], ev["hop"], ev["backend"])
    if memo is not None and setting in memo:
        return memo[setting]

    def compute() -> dict:
        scores = evaluation.mixture_scores(track.references, track.mixture, track.rate,
                                           ev["win"], ev["hop"], ev["backend"],
                                           _stats_path(ref, job))
        return {"scores": np.array([[scores[t][m] for m in evaluation.IMPROVEMENTS.values()]
                                    for t in data.TARGETS])}

    if _needs_cache(job):
        key = f"{_eval_key(ref, ev)}-{ev['backend']}-v{MIXTURE_VERSION}"
        arrays = cache.fetch_or_compute(_cache_dir(job) / "mixscores" / f"{key}.npz", compute,
                                        "mixture scores")
    else:
        arrays = compute()
    scores = {t: dict(zip(evaluation.IMPROVEMENTS.values(), map(float, arrays["scores"][i])))
              for i, t in enumerate(data.TARGETS)}
    if memo is not None:
        memo[setting] = scores
    return scores


def _new_record(ref: data.TrackRef, job: dict) -> dict:
    # The config hash in every record lets a damaged run.json be rebuilt (_check_run_dir).
    return {"track": ref.name, "subset": ref.subset, "status": "failed", "error": None,
            "config_hash": config_hash(job)}


def _load(ref: data.TrackRef, job: dict) -> data.TrackAudio:
    decode_cache = _cache_dir(job) / "decoded" if job["dataset"].get("decode_cache") else None
    return data.load_track(ref, decode_cache)


def _failed(record: dict, exc: Exception) -> dict:
    record.update(status="failed", error=f"{exc.__class__.__name__}: {exc}",
                  traceback=traceback.format_exc())
    return record


def score_track(ref: data.TrackRef, job: dict, out_dir: Path, track: data.TrackAudio,
                result: Separation, record: dict, crosscheck: bool = False,
                mixtures: dict | None = None) -> dict:
    """Score ``result`` (the estimates of ``track``), write the museval JSON and fill
    ``record`` (timings in it so far are kept); raises on failure. ``mixtures``: the
    mixture's scores already computed for this track (:func:`mixture_scores`)."""
    bad = [t for t in data.TARGETS if not np.isfinite(result.estimates[t]).all()]
    if bad:  # a NaN frame would drop out of the medians, and the track rank on the rest
        raise ValueError(f"the {' and '.join(bad)} estimate(s) of {job['algo']['name']!r} "
                         "contain NaN or Inf samples: the track is not scored, as for NaN "
                         "in the dataset's files")
    t2 = time.perf_counter()
    scores = evaluation.evaluate_track(ref.name, track.references, result.estimates,
                                     track.rate, job["eval"]["win"], job["eval"]["hop"],
                                     job["eval"]["backend"], _stats_path(ref, job))
    whole = evaluation.whole_track(track.references, result.estimates)
    mixture = mixture_scores(ref, job, track, mixtures)
    t3 = time.perf_counter()
    if crosscheck and job["eval"]["backend"] == "fast":
        record["crosscheck"] = evaluation.crosscheck(
            track.references, result.estimates, track.rate, job["eval"]["win"],
            job["eval"]["hop"])
        record["crosscheck_seconds"] = round(time.perf_counter() - t3, 3)
    if job.get("save_estimates"):
        _save_audio(ref, job, out_dir, track, result)
    rundir.write_museval(out_dir, ref.subset, ref.name, scores.json)
    record.update(
        status="scored",
        error=scores.error,  # set when museval refused (silent source): NaN scores
        duration_seconds=track.mixture.shape[0] / track.rate,
        evaluation_seconds=round(t3 - t2, 3),
        info=result.info,
        whole_track=whole,
        mixture=mixture,
    )
    return record


def _save_audio(ref: data.TrackRef, job: dict, out_dir: Path, track: data.TrackAudio,
                result: Separation) -> None:
    listen.save_estimates(out_dir, ref.subset, ref.name, track.rate, track.mixture,
                          track.references, result.estimates, job.get("estimates_seconds"))


def _kept_scored(ref: data.TrackRef, out_dir: Path, record: dict, exc: Exception) -> dict:
    """A scored track whose estimates could not be made again for the audio: its scores
    stand, the error is logged."""
    log.error("track %s: its estimates could not be saved (%s: %s); its scores in %s are "
              "kept", ref.key, exc.__class__.__name__, exc, out_dir)
    return record


def share_key(job: dict) -> str:
    """Points with equal keys read the same tracks the same way: they share the decode."""
    return config_hash({"dataset": job["dataset"], "runner": job["runner"],
                        "cache": job["paths"]["cache"]})


def models_key(job: dict) -> str:
    """Points with equal keys share the mixture STFT and the algorithm's models."""
    return config_hash({"algo": job["algo"], "stft": job["stft"]})


def process_track(task: tuple, specs: list, parent_pid: int | None = None) -> list[dict]:
    """One track for one or several points: load it once, separate once per ``algo`` ×
    ``stft``, then each point's masks, phase, scores and files; never raises for a
    track's fault (each point's error is in its record).

    ``task``: the track, the indices of the points in ``specs`` (``(job, out_dir, key of
    the run's cross-checked track)``) that need it, and those of them that need only its
    wav estimates (scored before: their records are kept). ``parent_pid``: the run's
    process, when this runs in a local worker that must not outlive it
    (:func:`repet_bench.workers.die_with_parent`). Each record's timings are its own work
    plus an equal share of the shared work (``shared``, when more than one point shared
    the decode or the models: how many), so they add up to what the track cost.
    """
    ref, indices, audio_only = task
    workers.die_with_parent(parent_pid)
    points = [(specs[i][0], specs[i][1], ref.key == specs[i][2]) for i in indices]
    audio_only = [i in audio_only for i in indices]
    records = [_read_record(out_dir, ref) if only else _new_record(ref, job)
               for (job, out_dir, _), only in zip(points, audio_only)]
    try:
        t0 = time.perf_counter()
        # What is read: a file changed later is scored again (None: unreadable, and the
        # load says why).
        source = _source_key(ref)
        for record, only in zip(records, audio_only):
            if not only:
                record["source"] = source
        track = _load(ref, points[0][0])
        load_seconds = (time.perf_counter() - t0) / len(points)
    except DiskFullError:
        raise  # not the track's fault: stop the run, keep what is finished
    except Exception as exc:  # noqa: BLE001 - one bad track must not stop the run
        return [_kept_scored(ref, out_dir, record, exc) if only
                else _write_record(out_dir, ref, _failed(record, exc))
                for (_, out_dir, _), record, only in zip(points, records, audio_only)]
    groups: dict[str, list[int]] = {}
    for i, (job, _, _) in enumerate(points):
        groups.setdefault(models_key(job), []).append(i)
    mixtures: dict = {}  # the mixture's scores, per evaluation setting, for every point
    for members in groups.values():
        job = points[members[0]][0]
        algorithm = get_algorithm(job["algo"]["name"])
        separator, error, t1 = None, None, time.perf_counter()
        try:
            if not algorithm.reads_estimates:
                separator = Separator(track.mixture, track.rate, job["algo"], job["stft"],
                                      references=track.references, sources=track.sources)
        except DiskFullError:
            raise
        except Exception as exc:  # noqa: BLE001
            error = exc
        models_seconds = (time.perf_counter() - t1) / len(members)

        def estimates(job: dict, last: bool) -> Separation:
            if error is not None:
                raise error
            if separator is None:  # another method's output, read not made
                return Separation(*algorithm(track, root=job["algo"]["root"]))
            return separator.apply(job["mask"], job["phase"], last=last)

        for n, i in enumerate(members):
            job, out_dir, crosscheck = points[i]
            record = records[i]
            last = n == len(members) - 1
            if audio_only[i]:
                try:
                    _save_audio(ref, job, out_dir, track, estimates(job, last))
                except DiskFullError:
                    raise
                except Exception as exc:  # noqa: BLE001
                    _kept_scored(ref, out_dir, record, exc)
                continue
            record["load_seconds"] = round(load_seconds, 3)
            if len(points) > 1:
                record["shared"] = {"load": len(points), "models": len(members)}
            try:
                t2 = time.perf_counter()
                result = estimates(job, last)
                record["separation_seconds"] = round(models_seconds + time.perf_counter() - t2, 3)
                score_track(ref, job, out_dir, track, result, record, crosscheck, mixtures)
                del result
            except DiskFullError:
                raise
            except Exception as exc:  # noqa: BLE001 - one point's failure stops no other
                _failed(record, exc)
            _write_record(out_dir, ref, record)
        separator = None  # the mixture STFT and models, freed before the next group
    return records


def _check_run_dir(out_dir: Path, cfg: dict, digest: str, root: str | None) -> None:
    if not rundir.has_meta(out_dir):
        return
    try:
        previous = rundir.read_meta(out_dir)
        if not isinstance(previous, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as exc:
        _vouch_for_damaged_run_json(out_dir, digest, exc)
        return
    if previous.get("config_hash") != digest:
        changed = _diff_keys(scored_config(previous.get("config", {})), scored_config(cfg))
        raise RunError(
            f"{out_dir} holds a run of another configuration (differs in: "
            f"{', '.join(changed) or 'unknown'}); scores of two configurations are never "
            "mixed. Rerun with the original settings to resume, or write elsewhere with "
            "hydra.run.dir=<new dir>."
        )
    if previous.get("dataset_root", root) != root:
        raise RunError(
            f"{out_dir} holds scores of the dataset at {previous['dataset_root']}; this run "
            f"reads {root}. Scores of two datasets are never mixed in one run dir: write "
            "elsewhere with hydra.run.dir=<new dir> (a sweep: hydra.sweep.dir=<new dir>), "
            "or rerun with the original dataset.root to resume.")


def _vouch_for_damaged_run_json(out_dir: Path, digest: str, exc) -> None:
    """An unreadable ``run.json`` is rebuilt when the track records vouch for the config.

    Each track record carries the config hash of the run that wrote it; if every readable
    record says this configuration, the run resumes (and rewrites ``run.json``); otherwise
    nothing is touched and the error names the file and the way out.
    """
    run_json = Path(out_dir) / rundir.RUN_JSON
    hashes = {record.get("config_hash") for record in rundir.track_records(out_dir).values()
              if isinstance(record, dict)}  # a damaged record: that track is scored again
    if hashes == {digest}:
        log.warning("%s cannot be read (%s); its track records are of this configuration, "
                    "so the run resumes and rewrites it", run_json, exc.__class__.__name__)
        return
    raise RunError(
        f"{run_json} cannot be read ({exc.__class__.__name__}: {exc}) and the track records "
        "cannot confirm which configuration this dir holds; write elsewhere with "
        "hydra.run.dir=<new dir>, or delete the dir to score it again")


def collect_scores(out_dir: Path, refs: list[data.TrackRef], records: dict, rows: dict,
                   cfg: dict, digest: str) -> pd.DataFrame:
    """Tidy scores of every scored track: its museval rows (``rows``, keyed by
    ``TrackRef.key``: :func:`_scored_rows`, None for a track not scored) and the whole-track
    metrics from its ``records``."""
    frames = []
    for r in refs:
        if rows.get(r.key) is not None:
            record = records[r.key]
            frames.append(rows[r.key])
            frames.append(evaluation.whole_track_rows(record["whole_track"], r.name, r.subset))
            frames.append(evaluation.improvement_rows(rows[r.key], record["whole_track"],
                                                      record["mixture"], r.name, r.subset))
    if not frames:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    scores = pd.concat(frames, ignore_index=True)
    scores.insert(0, "run", out_dir.name)
    scores.insert(1, "algo", cfg["algo"]["name"])
    scores.insert(2, "mask", cfg["mask"]["name"])
    scores.insert(3, "phase", cfg["phase"]["name"])
    scores.insert(4, "config_hash", digest)
    return scores[SCORE_COLUMNS]


@dataclass
class Plan:
    """What a run would do: the selected tracks, those already scored, those to process."""

    refs: list
    done: list
    todo: list
    root: str | None = None  # the dataset's resolved root (None: a dataset we generate)

    def describe(self, out_dir: Path) -> str:
        lines = [f"{len(self.refs)} tracks selected, {len(self.done)} already scored in {out_dir}, "
                 f"{len(self.todo)} to process"]
        lines += [f"  done  {r.key}" for r in self.done]
        lines += [f"  todo  {r.key}" for r in self.todo]
        return "\n".join(lines)


def plan(cfg: DictConfig, out_dir: Path) -> tuple[Plan, dict, str]:
    """Validate ``cfg``, list its tracks and split them into done / to do in ``out_dir``."""
    unknown = unknown_keys(cfg)
    if unknown:
        raise ValueError(f"unknown config keys: {', '.join(unknown)} (see conf/ for the "
                         "parameters each option takes)")
    job = OmegaConf.to_container(cfg, resolve=True)
    validate(job)
    problem = cache_problem(job)
    if problem:
        raise RunError(problem)
    digest = config_hash(job)
    fetch = not cfg.runner.get("dry_run")  # a dry run downloads nothing
    refs = data.list_tracks(cfg.dataset, _cache_dir(job), fetch)
    root = (None if cfg.dataset.name in data.GENERATED
            else str(data.resolve_root(cfg.dataset, _cache_dir(job), fetch).resolve()))
    _check_run_dir(out_dir, job, digest, root)
    checked = _crosschecked(refs, job)
    done = [r for r in refs if is_scored(out_dir, r, digest, crosscheck=r.key == checked)]
    todo = [r for r in refs if r not in done]
    return Plan(refs, done, todo, root), job, digest


def _log_outcome(records: list[dict]) -> None:
    for record in records:
        if record["status"] != "scored":
            log.error("track %s/%s failed: %s", record["subset"], record["track"],
                      record["error"])
        elif record["error"]:
            log.warning("track %s/%s scored NaN: %s", record["subset"], record["track"],
                        record["error"])


def peak_stages(jobs: list[dict]) -> tuple[str, ...]:
    """The memory stages (``resources.PEAK_MODEL``) of a worker running ``jobs``: the
    separation (SiSEC's oracles' four-source spectrograms are their own, larger stage;
    read estimates none) and each evaluation backend."""
    algorithms = [get_algorithm(job["algo"]["name"]) for job in jobs]
    separations = {"separation/sources" if a.needs_sources else "separation"
                   for a in algorithms if not a.reads_estimates}
    return (*sorted(separations), *sorted({job["eval"]["backend"] for job in jobs}))


def n_workers(setting, todo: list, jobs: list[dict], held: float = 0.0) -> int:
    """Workers for ``todo`` (tracks) of the points ``jobs``:
    :func:`repet_bench.workers.n_workers` for their tracks' lengths and memory stages."""
    return workers.n_workers(setting, [data.track_seconds(r) for r in todo], peak_stages(jobs),
                             held)


def _shared_workers(jobs: list[dict], refs: list) -> int:
    """Workers of a pass over ``refs`` for the points ``jobs`` (which share their runner
    settings); with several points, each worker also holds one track's mixture STFT and
    models between points. One function for the dry run and the pass, so they agree."""
    held = 0.0 if len(jobs) == 1 else max(
        held_per_second(Stft.from_config(job["stft"], data.RATE)) for job in jobs)
    return n_workers(jobs[0]["runner"]["n_jobs"], refs, jobs, held)


def predict(jobs: list[dict], refs: list[data.TrackRef], n_jobs: int,
            shared: bool = True) -> costs.Prediction:
    """:func:`costs.predict` for ``jobs`` (a run, or a sweep's points) over ``refs``,
    knowing which tracks' decoded audio and reference statistics are cached already."""
    job = jobs[0]

    def cached(path_of) -> list[bool]:
        out = []
        for ref in refs:
            try:
                out.append(path_of(ref).exists())
            except (OSError, AttributeError):  # missing files (the track fails anyway)
                out.append(False)
        return out

    decoded = cached(lambda r: _cache_dir(job) / "decoded" / f"{data.decode_key(r)}.npz")
    fast = next((j for j in jobs if j["eval"]["backend"] == "fast"), None)
    warm = cached(lambda r: _stats_path(r, fast)) if fast else None
    seconds = [data.track_seconds(r) or 0.0 for r in refs]
    return costs.predict(jobs, seconds, n_jobs, shared, decoded, warm)


def running_meta(job: dict, digest: str, n_tracks: int, started: float,
                 root: str | None) -> dict:
    """``run.json`` while a run is under way (``root``: the dataset's resolved root)."""
    return {"status": "running", "config_hash": digest, "config": job, "versions": versions(),
            "started": started, "n_tracks": n_tracks, "dataset_root": root}


@dataclass
class _Point:
    """One configuration's run in :func:`run_points`: its job, dir and progress."""

    out_dir: Path
    job: dict
    digest: str
    refs: list
    checked: str | None
    root: str | None
    todo: set = field(default_factory=set)
    resumed: int = 0
    meta: dict | None = None

    # Tracks scored before whose wav estimates this run keeps (save_estimates=true) and
    # lacks: separated again for the audio, not scored again.
    audio: set = field(default_factory=set)

    def scored(self, ref: data.TrackRef) -> bool:
        """Whether ``ref`` is scored in this point's dir (:func:`is_scored`)."""
        return is_scored(self.out_dir, ref, self.digest, crosscheck=ref.key == self.checked)

    def lacks_audio(self, ref: data.TrackRef) -> bool:
        """Whether this run keeps estimates (``save_estimates``) and ``ref``'s are missing."""
        return bool(self.job.get("save_estimates")) and not listen.has_estimates(
            self.out_dir, ref.subset, ref.name)


def _begin(point: _Point) -> None:
    """Under the point's lock, before processing: remove what interrupted runs left, list
    the tracks left to do (re-checked under the lock: a concurrent run may have scored
    some meanwhile) and mark the run running (a complete run never is)."""
    removed = remove_stale_temporaries(point.out_dir)
    if removed:
        log.info("removed %d partial file(s) left by an interrupted run", removed)
    # The shared caches: only files whose writer is gone (other runs may be writing).
    for cache_dir in (_cache_dir(point.job) / "decoded", _cache_dir(point.job) / "refstats"):
        if cache_dir.is_dir():
            remove_stale_temporaries(cache_dir, shared=True)
    todo = [r for r in point.refs if not point.scored(r)]
    point.todo, point.resumed = {r.key for r in todo}, len(point.refs) - len(todo)
    point.audio = {r.key for r in point.refs if r.key not in point.todo and point.lacks_audio(r)}
    if point.audio:
        log.info("%d scored track(s) lack the estimates save_estimates=true keeps: separating "
                 "them again for the audio (their scores are kept)", len(point.audio))
    point.meta = running_meta(point.job, point.digest, len(point.refs), time.time(), point.root)
    if point.resumed and todo:
        log.info("resuming: %d of %d tracks already scored in %s", point.resumed,
                 len(point.refs), point.out_dir)
    if todo or not rundir.has_meta(point.out_dir):
        rundir.write_meta(point.out_dir, point.meta)


def _finish(point: _Point, lost: dict) -> RunResult:
    """Under the point's lock, after processing: its scores table and final ``run.json``."""
    out_dir, job, digest, refs, checked = (point.out_dir, point.job, point.digest, point.refs,
                                           point.checked)
    records = {r.key: _read_record(out_dir, r) for r in refs}
    # Scored = in the scores table: a track whose files or scores went away before the end
    # (removed, rewritten) is counted as what it is, not as its record says.
    rows = {r.key: _scored_rows(out_dir, r, digest, records[r.key]) for r in refs}
    failures = {}
    for key, rec in records.items():
        if rows[key] is None:
            failures[key] = (
                "scored, but its files or its museval JSON changed or went away before the "
                "run ended; rerun the same command to score it again"
                if rec and rec["status"] == "scored" else
                rec["error"] if rec else lost.get(key, "not processed"))
    scores = collect_scores(out_dir, refs, records, rows, job, digest)
    rundir.write_scores(out_dir, scores)
    check = (records.get(checked) or {}).get("crosscheck") if checked else None
    meta = point.meta
    meta.update(status="partial" if failures else "complete", finished=time.time(),
                wall_seconds=round(time.time() - meta["started"], 3), tracks=records,
                crosscheck={"track": checked, **check} if check else None)
    warning = evaluation.crosscheck_warning(check)
    if warning:
        log.warning("%s: %s", checked, warning)
    rundir.write_meta(out_dir, meta)
    summary = aggregate(scores) if len(scores) else None
    undefined = {k: rec["error"] for k, rec in records.items()
                 if rec and rec["status"] == "scored" and rec.get("error")}
    return RunResult(out_dir, len(refs), len(refs) - len(failures), point.resumed, failures,
                     summary, undefined, meta["crosscheck"])


def _process(points: list[_Point]) -> dict:
    """Every track any of ``points`` still needs, one task per track; the tracks lost to
    killed workers, per point index: track key -> why."""
    tasks = [(ref, [i for i, p in enumerate(points) if ref.key in p.todo | p.audio],
              {i for i, p in enumerate(points) if ref.key in p.audio})
             for ref in points[0].refs]
    tasks = [task for task in tasks if task[1]]
    if not tasks:
        return {}
    if len(points) > 1:
        log.info("shared sweep: %d points, %d track(s) to process, one decode per track "
                 "and one separation per algorithm and STFT", len(points), len(tasks))
    specs = [(p.job, p.out_dir, p.checked) for p in points]
    n_jobs = _shared_workers([p.job for p in points], [task[0] for task in tasks])

    def unfinished(todo):
        left = [(ref, [i for i in indices if (points[i].lacks_audio(ref) if i in audio
                                              else not points[i].scored(ref))], audio)
                for ref, indices, audio in todo]
        return [task for task in left if task[1]]

    lost = workers.process_all(process_track, tasks, points[0].job["runner"], n_jobs,
                               unfinished, _log_outcome, specs)
    return {i: {ref.key: workers.OOM_HINT for ref, indices, _ in lost if i in indices}
            for i in range(len(points))}


def _run_group(points: list[_Point], outcomes: list, index: list[int]) -> None:
    """Lock, begin, process and finish ``points`` (one share group); their outcomes go to
    ``outcomes`` at the positions ``index``."""
    with ExitStack() as locks:
        locked = []
        for point, i in zip(points, index):
            try:
                locks.enter_context(exclusive_lock(point.out_dir))
                locked.append((point, i))
            except (LockedError, DiskFullError) as exc:
                outcomes[i] = RunError(str(exc))
        if not locked:
            return
        group = [p for p, _ in locked]
        try:
            for point in group:
                _begin(point)
            lost = _process(group)
            for n, (point, i) in enumerate(locked):
                outcomes[i] = _finish(point, lost.get(n, {}))
        except KeyboardInterrupt:
            for point in group:
                if point.meta is not None and point.todo:
                    point.meta.update(status="interrupted", finished=time.time())
                    rundir.write_meta(point.out_dir, point.meta)
            raise
        except DiskFullError as exc:
            for _, i in locked:
                outcomes[i] = RunError(str(exc))


def _dry_run(points: list[tuple[DictConfig, Path]]) -> tuple[str | None, list]:
    """The dry runs' texts: each point's plan and prediction, and for several points the
    sweep's predicted wall time shared and point by point (None for one point). In a
    sweep, a point's line is its part of the point-by-point total, so they add up to it."""
    texts, jobs, todo, planned = [], [], {}, []
    for cfg, out_dir in points:
        try:
            the_plan, job, _ = plan(cfg, Path(out_dir))
        except Exception as exc:  # noqa: BLE001 - reported as that point's outcome
            texts.append(exc)
            continue
        texts.append(the_plan.describe(Path(out_dir)))
        planned.append(len(texts) - 1)
        jobs.append(job)
        todo.update((r.key, r) for r in the_plan.todo)
    if not todo:
        return (None if len(points) == 1 else
                f"sweep of {len(points)} points: nothing to process"), texts
    refs = list(todo.values())
    if len(points) == 1:
        n_jobs = n_workers(jobs[0]["runner"]["n_jobs"], refs, jobs)
        texts[0] += "\n" + predict(jobs, refs, n_jobs).describe()
        return None, texts
    n_jobs = _shared_workers(jobs, refs)
    shared = predict(jobs, refs, n_jobs, shared=True)
    basic = predict(jobs, refs, n_jobs, shared=False)
    for i, part in zip(planned, basic.points):
        texts[i] += (f"\n{costs.duration(part)} of the point-by-point sweep's "
                     f"{costs.duration(basic.wall)} (a shared sweep runs the points together)")
    return (f"sweep of {len(jobs)} points over {len(refs)} track(s): {shared.describe()}\n"
            f"  point by point (hydra/launcher=basic): {basic.describe()}"), texts


def run_points(points: list[tuple[DictConfig, Path]]) -> list:
    """Separate and score every selected track of each point (``(config, run dir)``) that
    is not already scored in its dir, sharing what the points have in common.

    Returns one outcome per point: a :class:`RunResult`; the dry run's text
    (``runner.dry_run=true``, nothing processed); or the exception that stopped that point
    (:class:`RunError`: another live run holds its dir, the dir holds another
    configuration, or the disk filled up; :class:`repet_bench.data.DatasetError` or
    ValueError: its dataset or config is wrong). Finished tracks are kept in all cases.

    Raises
    ------
    KeyboardInterrupt
        On SIGINT/SIGTERM, after marking each unfinished point's ``run.json`` as
        interrupted.
    """
    outcomes: list = [None] * len(points)
    dry = [i for i, (cfg, _) in enumerate(points) if cfg.runner.get("dry_run")]
    if dry:
        sweep, texts = _dry_run([points[i] for i in dry])
        if sweep:
            print(sweep)
        for i, text in zip(dry, texts):
            outcomes[i] = text
    groups: dict[str, list[tuple[_Point, int]]] = {}
    for i, (cfg, out_dir) in enumerate(points):
        if i in dry:
            continue
        out_dir = Path(out_dir)
        try:
            problem = writable_problem(out_dir)
            if problem:
                raise RunError(problem)
            the_plan, job, digest = plan(cfg, out_dir)
        except Exception as exc:  # noqa: BLE001 - that point's outcome; the others go on
            outcomes[i] = exc
            continue
        point = _Point(out_dir, job, digest, the_plan.refs, _crosschecked(the_plan.refs, job),
                       the_plan.root)
        groups.setdefault(share_key(job), []).append((point, i))
    for members in groups.values():
        _run_group([p for p, _ in members], outcomes, [i for _, i in members])
    return outcomes


def run(cfg: DictConfig, out_dir: Path) -> RunResult | None:
    """Separate and score every selected track that is not already scored in ``out_dir``:
    :func:`run_points` of one point. Returns None for a dry run (``runner.dry_run=true``:
    the plan is printed).

    Raises
    ------
    RunError
        Another live run holds the dir, the dir holds another configuration, or the
        disk filled up (finished tracks are kept in all cases).
    KeyboardInterrupt
        On SIGINT/SIGTERM, after marking ``run.json`` as interrupted.
    """
    (outcome,) = run_points([(cfg, Path(out_dir))])
    if isinstance(outcome, BaseException):
        raise outcome
    if isinstance(outcome, str):
        print(outcome)
        return None
    return outcome
