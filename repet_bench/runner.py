"""Run one configuration over a dataset: fan out tracks, resume, isolate failures.

Run dir layout (every file written atomically)::

    run.json                         resolved config, its hash, versions, per-track timings;
                                     status "complete" only when every track is scored
    tracks/<subset>/<track>.json     per-track record: status, timings, diagnostics, error
    museval/<subset>/<track>.json    museval's own JSON (EvalStore/MethodStore read it)
    scores.parquet                   tidy scores of all scored tracks (see DESIGN.md)

A track counts as done when its record says ``scored`` and its museval JSON exists;
rerunning the same configuration into the same dir skips those tracks.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, parallel_config
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from . import costs, data, listen, metrics
from .algorithms import get_algorithm
from .config import config_hash, scored_config, unknown_keys, validate
from .io import (DiskFullError, LockedError, atomic_write, atomic_write_text, exclusive_lock,
                 remove_stale_temporaries, safe_filename, writable_problem)
from .results import SCORE_COLUMNS, aggregate
from .resources import auto_n_jobs, available_memory, worker_peak_bytes
from .estimates import load_estimates
from .separation import Separation, separate

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
    # eval=fast against museval on an excerpt of one track (metrics.crosscheck + "track").
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


def _record_path(out_dir: Path, ref: data.TrackRef) -> Path:
    return out_dir / "tracks" / ref.subset / f"{safe_filename(ref.name)}.json"


def _museval_path(out_dir: Path, ref: data.TrackRef) -> Path:
    return out_dir / "museval" / ref.subset / f"{safe_filename(ref.name)}.json"


def _read_record(out_dir: Path, ref: data.TrackRef) -> dict | None:
    try:
        return json.loads(_record_path(out_dir, ref).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


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
                    "again", ref.key, _record_path(out_dir, ref))
        return None
    whole = record.get("whole_track") or {}
    if any(set(metrics.WHOLE_TRACK_METRICS) - set(whole.get(t, {})) for t in data.TARGETS):
        log.info("the record of %s predates the song-level SDR; scoring the track again",
                 ref.key)
        return None
    if crosscheck and "crosscheck" not in record:
        log.info("%s was scored before eval=fast was checked against museval; scoring it again",
                 ref.key)
        return None
    path = _museval_path(out_dir, ref)
    if not path.exists():
        return None
    try:
        return metrics.read_json(path, ref.name, ref.subset)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        log.warning("the scores of %s in %s cannot be read (%s); scoring the track again",
                    ref.key, path, exc.__class__.__name__)
        return None


def _cache_dir(job: dict) -> Path:
    return Path(job["paths"]["cache"]).expanduser()


def _stats_path(ref: data.TrackRef, job: dict) -> Path | None:
    """Where the fast backend caches this track's reference statistics: keyed by the
    track's files and excerpt (``decode_key``) and the evaluation window and hop."""
    ev = job["eval"]
    if ev["backend"] != "fast":
        return None
    key = f"{data.decode_key(ref)}-w{ev['win']}-h{ev['hop']}"
    return _cache_dir(job) / "refstats" / f"{key}.npz"


# The parent a worker process watches (None: not watching); see _die_with_parent.
_watched_parent: int | None = None
# Exit status of a worker whose run died under it.
EXIT_PARENT_GONE = 70


def _die_with_parent(parent_pid: int | None) -> None:
    """End this worker process within a second of its run's process dying (any signal).

    Without it, loky workers outlive a SIGKILLed run for minutes (their idle timeout),
    finish their track and write into the run dir after its lock is gone, next to the
    rerun's workers. Polling ``getppid`` (reparented when the parent dies) works for any
    signal and needs no cooperation from the parent; ``prctl(PR_SET_PDEATHSIG)`` would fire
    when the parent *thread* that spawned the worker ends, which loky does not promise to
    keep alive. Started once per worker process.
    """
    global _watched_parent
    if parent_pid is None or parent_pid == os.getpid() or _watched_parent == parent_pid:
        return  # not in a local worker process (or already watching)
    _watched_parent = parent_pid

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(EXIT_PARENT_GONE)  # the run is gone, and its lock: nothing may be written

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


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


def _write_record(out_dir: Path, ref: data.TrackRef, record: dict) -> dict:
    atomic_write_text(_record_path(out_dir, ref), json.dumps(record, indent=2, default=float))
    return record


def score_track(ref: data.TrackRef, job: dict, out_dir: Path, track: data.TrackAudio,
                result: Separation, record: dict, crosscheck: bool = False) -> dict:
    """Score ``result`` (the estimates of ``track``), write the museval JSON and fill
    ``record`` (timings in it so far are kept); raises on failure."""
    bad = [t for t in data.TARGETS if not np.isfinite(result.estimates[t]).all()]
    if bad:  # a NaN frame would drop out of the medians, and the track rank on the rest
        raise ValueError(f"the {' and '.join(bad)} estimate(s) of {job['algo']['name']!r} "
                         "contain NaN or Inf samples: the track is not scored, as for NaN "
                         "in the dataset's files")
    t2 = time.perf_counter()
    scores = metrics.evaluate_track(ref.name, track.references, result.estimates,
                                     track.rate, job["eval"]["win"], job["eval"]["hop"],
                                     job["eval"]["backend"], _stats_path(ref, job))
    whole = metrics.whole_track(track.references, result.estimates)
    t3 = time.perf_counter()
    if crosscheck and job["eval"]["backend"] == "fast":
        record["crosscheck"] = metrics.crosscheck(
            track.references, result.estimates, track.rate, job["eval"]["win"],
            job["eval"]["hop"])
        record["crosscheck_seconds"] = round(time.perf_counter() - t3, 3)
    if job.get("save_estimates"):
        listen.save_estimates(out_dir, ref.subset, ref.name, track.rate, track.mixture,
                              track.references, result.estimates, job.get("estimates_seconds"))
    metrics.write_json(_museval_path(out_dir, ref), scores)
    record.update(
        status="scored",
        error=scores.error,  # set when museval refused (silent source): NaN scores
        duration_seconds=track.mixture.shape[0] / track.rate,
        evaluation_seconds=round(t3 - t2, 3),
        info=result.info,
        whole_track=whole,
    )
    return record


def process_track(ref: data.TrackRef, job: dict, out_dir: Path,
                  parent_pid: int | None = None, crosscheck: bool = False) -> dict:
    """Load, separate, score and write one track; never raises (errors are recorded).

    ``parent_pid``: the run's process, when this runs in a local worker process that must
    not outlive it (:func:`_die_with_parent`). ``crosscheck``: with ``eval=fast``, also
    score an excerpt with museval and record the largest difference
    (:func:`metrics.crosscheck`); the runner asks it of one track per run.
    """
    _die_with_parent(parent_pid)
    record = _new_record(ref, job)
    try:
        t0 = time.perf_counter()
        track = _load(ref, job)
        t1 = time.perf_counter()
        if job["algo"]["name"] == "estimates":  # another method's output, read not made
            result = Separation(*load_estimates(job["algo"]["root"], track))
        else:
            result = separate(track.mixture, track.rate, job["algo"], job["stft"],
                              job["mask"], job["phase"], references=track.references,
                              sources=track.sources)
        record.update(load_seconds=round(t1 - t0, 3),
                      separation_seconds=round(time.perf_counter() - t1, 3))
        score_track(ref, job, out_dir, track, result, record, crosscheck)
    except DiskFullError:
        raise  # not the track's fault: stop the run, keep what is finished
    except Exception as exc:  # one bad track must not stop the run
        _failed(record, exc)
    return _write_record(out_dir, ref, record)


def _check_run_dir(out_dir: Path, cfg: dict, digest: str) -> None:
    run_json = out_dir / "run.json"
    if not run_json.exists():
        return
    try:
        previous = json.loads(run_json.read_text())
        if not isinstance(previous, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError) as exc:
        _vouch_for_damaged_run_json(out_dir, run_json, digest, exc)
        return
    if previous.get("config_hash") != digest:
        changed = _diff_keys(scored_config(previous.get("config", {})), scored_config(cfg))
        raise RunError(
            f"{out_dir} holds a run of another configuration (differs in: "
            f"{', '.join(changed) or 'unknown'}); scores of two configurations are never "
            "mixed. Rerun with the original settings to resume, or write elsewhere with "
            "hydra.run.dir=<new dir>."
        )


def _vouch_for_damaged_run_json(out_dir: Path, run_json: Path, digest: str, exc) -> None:
    """An unreadable ``run.json`` is rebuilt when the track records vouch for the config.

    Each track record carries the config hash of the run that wrote it; if every readable
    record says this configuration, the run resumes (and rewrites ``run.json``); otherwise
    nothing is touched and the error names the file and the way out.
    """
    hashes = set()
    for path in (out_dir / "tracks").rglob("*.json"):
        try:
            hashes.add(json.loads(path.read_text()).get("config_hash"))
        except (ValueError, UnicodeDecodeError, AttributeError):
            continue  # a damaged record: that track is scored again
    if hashes == {digest}:
        log.warning("%s cannot be read (%s); its track records are of this configuration, "
                    "so the run resumes and rewrites it", run_json, exc.__class__.__name__)
        return
    raise RunError(
        f"{run_json} cannot be read ({exc.__class__.__name__}: {exc}) and the track records "
        "cannot confirm which configuration this dir holds; write elsewhere with "
        "hydra.run.dir=<new dir>, or delete the dir to score it again")


def collect_scores(out_dir: Path, refs: list[data.TrackRef], records: dict, cfg: dict,
                   digest: str) -> pd.DataFrame:
    """Tidy scores of every scored track, read back from the museval JSON files (and the
    scale-invariant metrics from the track ``records``, keyed by ``TrackRef.key``)."""
    frames = []
    for r in refs:
        record = records.get(r.key)
        rows = _scored_rows(out_dir, r, digest, record)
        if rows is not None:
            frames.append(rows)
            frames.append(metrics.whole_track_rows(record["whole_track"], r.name, r.subset))
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
    digest = config_hash(job)
    refs = data.list_tracks(cfg.dataset, _cache_dir(job))
    _check_run_dir(out_dir, job, digest)
    checked = _crosschecked(refs, job)
    done = [r for r in refs if is_scored(out_dir, r, digest, crosscheck=r.key == checked)]
    todo = [r for r in refs if r not in done]
    return Plan(refs, done, todo), job, digest


# Why a loky worker vanished: the OOM killer sends SIGKILL.
_OOM_HINT = ("a worker process was killed (SIGKILL, most likely by the out-of-memory killer); "
             "lower runner.n_jobs or use runner.n_jobs=auto")


@contextmanager
def _engine(runner: dict):
    """The joblib backend for the run: loky processes here, or a dask.distributed cluster
    (``runner.address``, or a LocalCluster of ``runner.n_workers`` processes)."""
    if runner["backend"] != "dask":
        with parallel_config(backend=runner["backend"]):
            yield
        return
    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.WARNING)  # per-task chatter
    cluster = None
    if runner.get("address"):
        client = Client(runner["address"])
    else:
        cluster = LocalCluster(n_workers=runner["n_workers"], threads_per_worker=1,
                               processes=True, dashboard_address=None)
        client = Client(cluster)
    log.info("dask cluster: %s", client.dashboard_link or client.scheduler.address)
    try:
        with parallel_config(backend="dask"):
            yield
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _log_outcome(record: dict) -> None:
    if record["status"] != "scored":
        log.error("track %s/%s failed: %s", record["subset"], record["track"], record["error"])
    elif record["error"]:
        log.warning("track %s/%s scored NaN: %s", record["subset"], record["track"], record["error"])


def fan_out(work, todo: list, runner: dict, n_jobs: int, *args) -> None:
    """``work(item, *args, parent_pid)`` for each item of ``todo`` on ``n_jobs`` workers;
    each call returns a track record (or a list of them), logged as it finishes."""
    # loky's workers are this process's children and must die with it; dask's workers
    # belong to their cluster.
    parent = os.getpid() if runner["backend"] == "loky" else None
    with _engine(runner):
        results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
            delayed(work)(item, *args, parent) for item in todo)
        for records in tqdm(results, total=len(todo), desc="tracks", unit="track",
                            disable=not runner["progress"] or not todo):
            for record in records if isinstance(records, list) else [records]:
                _log_outcome(record)


def _worker_lost_errors() -> tuple:
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    errors = [TerminatedWorkerError]
    try:  # dask gives up on a task after its workers died repeatedly
        from distributed.scheduler import KilledWorker

        errors.append(KilledWorker)
    except ImportError:
        pass
    return tuple(errors)


def process_all(work, todo: list, runner: dict, n_jobs: int, unfinished, *args) -> list:
    """:func:`fan_out`; if a worker is killed (out of memory), retry ``unfinished(todo)``
    once more with half the workers each time. Returns the items lost at one worker."""
    while True:
        try:
            fan_out(work, todo, runner, n_jobs, *args)
            return []
        except _worker_lost_errors():
            todo = unfinished(todo)
            if n_jobs == 1:
                log.error("%s; giving up on %d track(s)", _OOM_HINT, len(todo))
                return todo
            n_jobs = max(1, n_jobs // 2)
            log.warning("%s; retrying %d track(s) with %d worker(s)", _OOM_HINT, len(todo), n_jobs)


def _process_one(ref: data.TrackRef, job: dict, out_dir: Path, checked: str | None,
                 parent_pid: int | None) -> dict:
    return process_track(ref, job, out_dir, parent_pid, ref.key == checked)


def _process_all(todo: list, job: dict, out_dir: Path, n_jobs: int,
                 checked: str | None = None) -> dict:
    """Process ``todo`` (:func:`process_all`); errors for tracks lost to killed workers.
    ``checked``: the key of the track whose evaluation is cross-checked against museval."""
    digest = config_hash(job)

    def unfinished(refs):
        return [r for r in refs if not is_scored(out_dir, r, digest, crosscheck=r.key == checked)]

    lost = process_all(_process_one, todo, job["runner"], n_jobs, unfinished, job, out_dir,
                       checked)
    return {r.key: _OOM_HINT for r in lost}


def peak_stages(jobs: list[dict]) -> tuple[str, ...]:
    """The memory stages (``resources.PEAK_MODEL``) of a worker running ``jobs``: the
    separation (SiSEC's oracles' four-source spectrograms are their own, larger stage)
    and each evaluation backend."""
    separations = {"separation/sources" if get_algorithm(job["algo"]["name"]).needs_sources
                   else "separation" for job in jobs if job["algo"]["name"] != "estimates"}
    return (*sorted(separations), *sorted({job["eval"]["backend"] for job in jobs}))


def n_workers(setting, todo: list, jobs: list[dict], held: float = 0.0) -> int:
    """``runner.n_jobs``: a count, -1 (all cores), or ``auto`` (cores and memory, for the
    separation and the evaluation backends of ``jobs``; ``held``: bytes per second of
    audio a worker holds besides a single run's peak)."""
    if not todo:
        return 1
    if setting == "auto":
        lengths = [s for s in map(data.track_seconds, todo) if s is not None]
        longest = max(lengths, default=0.0)
        stages = peak_stages(jobs)
        n = auto_n_jobs(longest, len(todo), stages=stages, held=held)
        log.info("runner.n_jobs=auto: %d worker(s) (longest track %.0f s, ~%.1f GB each, "
                 "%.1f GB available)", n, longest,
                 worker_peak_bytes(longest, stages, held) / 1e9, available_memory() / 1e9)
        return n
    setting = int(setting)
    if setting < 0:
        setting = os.cpu_count() + 1 + setting  # joblib's convention: -1 = all cores
    return max(1, min(len(todo), setting))


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


def begin(out_dir: Path, job: dict, digest: str, refs: list, checked: str | None):
    """Under the run dir's lock, before processing: clean the dir, list the tracks left
    to do (re-checked under the lock: a concurrent run may have scored some meanwhile),
    and mark the run running. Returns them and the ``run.json`` being written."""
    prepare_dir(out_dir, job)
    todo = [r for r in refs if not is_scored(out_dir, r, digest, crosscheck=r.key == checked)]
    meta = running_meta(job, digest, len(refs), time.time())
    if todo or not (out_dir / "run.json").exists():
        _write_meta(out_dir, meta)  # nothing to do: a complete run is never marked running
    return todo, meta


def prepare_dir(out_dir: Path, job: dict) -> None:
    """Under the run dir's lock, before processing: remove what interrupted runs left."""
    removed = remove_stale_temporaries(out_dir)
    if removed:
        log.info("removed %d partial file(s) left by an interrupted run", removed)
    # The shared caches: only files whose writer is gone (other runs may be writing).
    for cache_dir in (_cache_dir(job) / "decoded", _cache_dir(job) / "refstats"):
        if cache_dir.is_dir():
            remove_stale_temporaries(cache_dir, shared=True)


def _check_writable(out_dir: Path) -> None:
    problem = writable_problem(out_dir)
    if problem:
        raise RunError(problem)


def _write_meta(out_dir: Path, meta: dict) -> None:
    atomic_write_text(out_dir / "run.json", json.dumps(meta, indent=2, default=float))


@dataclass
class Session:
    """What a shared sweep pass (:mod:`repet_bench.sweep`) already did for one run dir:
    when it started, how many tracks were scored before it, and the tracks it lost to
    killed workers. :func:`run` then processes nothing and reports as if it had."""

    started: float
    resumed: int
    lost: dict = field(default_factory=dict)


def running_meta(job: dict, digest: str, n_tracks: int, started: float) -> dict:
    """``run.json`` while a run is under way."""
    return {"status": "running", "config_hash": digest, "config": job, "versions": versions(),
            "started": started, "n_tracks": n_tracks}


def run(cfg: DictConfig, out_dir: Path, session: Session | None = None) -> RunResult | None:
    """Separate and score every selected track that is not already scored in ``out_dir``.

    Returns None for a dry run (``runner.dry_run=true``: the plan is printed). With a
    ``session``, the tracks were processed by a shared sweep pass: only its results are
    collected and written.

    Raises
    ------
    RunError
        Another live run holds the dir, the dir holds another configuration, or the
        disk filled up (finished tracks are kept in all cases).
    KeyboardInterrupt
        On SIGINT/SIGTERM, after marking ``run.json`` as interrupted.
    """
    out_dir = Path(out_dir)
    _check_writable(out_dir)
    the_plan, job, digest = plan(cfg, out_dir)
    if job["runner"].get("dry_run"):
        print(the_plan.describe(out_dir))
        if the_plan.todo:
            n_jobs = n_workers(job["runner"]["n_jobs"], the_plan.todo, [job])
            print(predict([job], the_plan.todo, n_jobs).describe())
        return None
    try:
        with exclusive_lock(out_dir):
            return _run_locked(the_plan, job, digest, out_dir, session)
    except (LockedError, DiskFullError) as exc:
        raise RunError(str(exc)) from None


def _run_locked(the_plan: Plan, job: dict, digest: str, out_dir: Path,
                session: Session | None = None) -> RunResult:
    refs = the_plan.refs
    checked = _crosschecked(refs, job)
    if session is not None:
        resumed, started, meta = session.resumed, session.started, None
        lost = session.lost
    else:
        todo, meta = begin(out_dir, job, digest, refs, checked)
        resumed, started = len(refs) - len(todo), meta["started"]
        if resumed:
            log.info("resuming: %d of %d tracks already scored in %s", resumed, len(refs), out_dir)
        n_jobs = n_workers(job["runner"]["n_jobs"], todo, [job])
        try:
            lost = _process_all(todo, job, out_dir, n_jobs, checked)
        except KeyboardInterrupt:
            meta.update(status="interrupted", finished=time.time())
            _write_meta(out_dir, meta)
            raise
    meta = meta or running_meta(job, digest, len(refs), started)

    records = {r.key: _read_record(out_dir, r) for r in refs}
    failures = {k: rec["error"] if rec else lost.get(k, "not processed") for k, rec in records.items()
                if not rec or rec["status"] != "scored"}
    scores = collect_scores(out_dir, refs, records, job, digest)
    atomic_write(out_dir / "scores.parquet", lambda tmp: scores.to_parquet(tmp, index=False))
    check = (records.get(checked) or {}).get("crosscheck") if checked else None
    meta.update(status="partial" if failures else "complete", finished=time.time(),
                wall_seconds=round(time.time() - started, 3), tracks=records,
                crosscheck={"track": checked, **check} if check else None)
    worst = metrics.largest_difference(check)
    if worst and worst[1] > metrics.CROSSCHECK_TOLERANCE_DB:
        log.warning("eval=fast differs from museval by more than %g dB on %s (%s): these "
                    "scores are not museval's; rerun with eval=museval and report it",
                    metrics.CROSSCHECK_TOLERANCE_DB, checked, check["max_abs_diff_db"])
    _write_meta(out_dir, meta)
    summary = aggregate(scores) if len(scores) else None
    undefined = {k: rec["error"] for k, rec in records.items()
                 if rec and rec["status"] == "scored" and rec.get("error")}
    return RunResult(out_dir, len(refs), len(refs) - len(failures), resumed, failures, summary,
                     undefined, meta["crosscheck"])
