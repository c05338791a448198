"""Sweeps that share per-track work: one decode per track for all the points of a sweep,
one mixture STFT and one algorithm run for all the points that differ only in mask,
phase or evaluation.

Hydra hands a launcher every point of a sweep at once; repet_bench's launcher
(``hydra/launcher=shared``, the default; ``hydra_plugins/repet_bench_launcher``) calls
:func:`run_shared` with all of them before running each point as Hydra's basic launcher
would. The shared pass writes exactly what each point's own run would write (its track
records and museval JSON, under its lock, atomically); each point's run then only
collects and reports them (:class:`repet_bench.runner.Session`). So run dirs, scores,
resume, failure isolation and kill safety are those of the point-by-point sweep
(``hydra/launcher=basic``), which stays selectable: tests check both write identical
museval JSON.

Points are shared when they read the same dataset with the same runner settings;
within that, the points with the same ``algo`` and ``stft`` share one
:class:`repet_bench.separation.Separator` per track. A point that cannot start (bad
config, a dir of another configuration, a dir locked by another run) or a dry run is left
to its own run, which reports it as usual.
"""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import DictConfig

from . import data
from .config import config_hash
from .estimates import load_estimates
from .io import DiskFullError, LockedError, exclusive_lock
from .resources import held_per_second
from .runner import (_OOM_HINT, Session, _check_writable, _crosschecked, _die_with_parent,
                     _failed, _load, _new_record, _write_meta, _write_record, begin,
                     is_scored, n_workers, plan, predict, process_all, score_track)
from .separation import Separation, Separator
from .stft import Stft

log = logging.getLogger(__name__)

# Run dir (resolved) -> what the shared pass did for it; taken by that point's run.
_sessions: dict[Path, Session] = {}


def take_session(out_dir) -> Session | None:
    """The shared pass's :class:`Session` for ``out_dir`` (once), else None."""
    return _sessions.pop(Path(out_dir).resolve(), None)


def share_key(job: dict) -> str:
    """Points with equal keys read the same tracks the same way: they share the decode."""
    return config_hash({"dataset": job["dataset"], "runner": job["runner"],
                        "cache": job["paths"]["cache"]})


def models_key(job: dict) -> str:
    """Points with equal keys share the mixture STFT and the algorithm's models."""
    return config_hash({"algo": job["algo"], "stft": job["stft"]})


@dataclass
class _Point:
    out_dir: Path
    job: dict
    digest: str
    refs: list
    checked: str | None = None
    todo: set = field(default_factory=set)
    started: float = 0.0
    resumed: int = 0
    meta: dict | None = None


def run_shared(points: list[tuple[DictConfig, Path]]) -> None:
    """Process every track of every point, sharing what the points have in common.

    ``points``: each point's composed config and run dir. Afterwards,
    :func:`take_session` gives each processed dir's :class:`Session`.

    Raises
    ------
    KeyboardInterrupt
        On SIGINT/SIGTERM, after marking each point's ``run.json`` as interrupted.
    """
    dry = [(cfg, out_dir) for cfg, out_dir in points if cfg.runner.get("dry_run")]
    if len(dry) > 1:
        print(predicted_sweep(dry))
    groups: dict[str, list[_Point]] = {}
    for cfg, out_dir in points:
        if cfg.runner.get("dry_run"):
            continue
        try:
            _check_writable(Path(out_dir))
            the_plan, job, digest = plan(cfg, Path(out_dir))
        except Exception:  # noqa: BLE001 - the point's own run reports it, as without sharing
            continue
        point = _Point(Path(out_dir), job, digest, the_plan.refs, _crosschecked(the_plan.refs, job))
        groups.setdefault(share_key(job), []).append(point)
    for group in groups.values():
        if len(group) > 1:  # alone, a point's own run does the same
            _run_group(group)


def predicted_sweep(points: list[tuple[DictConfig, Path]]) -> str:
    """The dry run of a sweep: its predicted wall time shared and point by point."""
    jobs, todo = [], {}
    for cfg, out_dir in points:
        try:
            the_plan, job, _ = plan(cfg, Path(out_dir))
        except Exception:  # noqa: BLE001 - the point's own dry run reports it
            continue
        jobs.append(job)
        todo.update((r.key, r) for r in the_plan.todo)
    if not todo:
        return f"sweep of {len(points)} points: nothing to process"
    refs = list(todo.values())
    n_jobs = _shared_workers(jobs, refs)
    shared = predict(jobs, refs, n_jobs, shared=True)
    basic = predict(jobs, refs, n_jobs, shared=False)
    return (f"sweep of {len(jobs)} points over {len(refs)} track(s): {shared.describe()}\n"
            f"  point by point (hydra/launcher=basic): {basic.describe()}")


def _run_group(group: list[_Point]) -> None:
    with ExitStack() as locks:
        points = []
        for point in group:
            try:
                locks.enter_context(exclusive_lock(point.out_dir))
                points.append(point)
            except LockedError:
                continue  # its own run reports the other run
        for point in points:
            _start(point)
        tasks = [(ref, [i for i, p in enumerate(points) if ref.key in p.todo])
                 for ref in points[0].refs] if points else []
        tasks = [task for task in tasks if task[1]]
        if tasks:
            log.info("shared sweep: %d points, %d track(s) to process, one decode per track "
                     "and one separation per algorithm and STFT", len(points), len(tasks))
        specs = [(p.job, p.out_dir, p.checked) for p in points]
        runner = points[0].job["runner"] if points else {}
        try:
            lost = _process_tasks(tasks, specs, runner)
        except KeyboardInterrupt:
            for point in points:
                if point.meta is not None:
                    point.meta.update(status="interrupted", finished=time.time())
                    _write_meta(point.out_dir, point.meta)
            raise
        except DiskFullError as exc:
            log.error("%s; each point's run reports it", exc)
            return
        for i, point in enumerate(points):
            point_lost = {ref.key: _OOM_HINT for ref, indices in lost if i in indices}
            _sessions[point.out_dir.resolve()] = Session(point.started, point.resumed, point_lost)


def _start(point: _Point) -> None:
    """Under the point's lock: clean its dir, list what is left to do, mark it running."""
    todo, meta = begin(point.out_dir, point.job, point.digest, point.refs, point.checked)
    point.todo = {r.key for r in todo}
    point.resumed, point.started = len(point.refs) - len(todo), meta["started"]
    point.meta = meta if todo else None  # a point with nothing to do is never interrupted


def _shared_workers(jobs: list[dict], refs: list) -> int:
    """Workers of a shared pass over ``refs`` for the points ``jobs`` (which share their
    runner settings): each also holds one track's mixture STFT and models between points.
    One function for the dry run's prediction and the pass itself, so they agree."""
    held = max(held_per_second(Stft.from_config(job["stft"], data.RATE)) for job in jobs)
    return n_workers(jobs[0]["runner"]["n_jobs"], refs, jobs, held)


def _process_tasks(tasks: list, specs: list, runner: dict) -> list:
    """Fan the (track, point indices) tasks out; returns those lost to killed workers."""
    if not tasks:
        return []
    n_jobs = _shared_workers([job for job, _, _ in specs], [ref for ref, _ in tasks])

    def unfinished(todo):
        left = [(ref, [i for i in indices if not is_scored(
                    specs[i][1], ref, config_hash(specs[i][0]), crosscheck=ref.key == specs[i][2])])
                for ref, indices in todo]
        return [task for task in left if task[1]]

    return process_all(process_task, tasks, runner, n_jobs, unfinished, specs)


def process_task(task: tuple, specs: list, parent_pid: int | None = None) -> list[dict]:
    """One track for several points: load it once, separate once per ``algo`` × ``stft``,
    then each point's masks, phase, scores and files; never raises for a track's fault
    (each point's error is in its record, as its own run would write it).

    ``task``: the track and the indices of the points in ``specs`` (``(job, out_dir,
    key of the run's cross-checked track)``) that need it. Each record's timings are its
    own work plus an equal share of the shared work (``shared``: how many points shared
    the decode and the models), so they add up to what the track cost.
    """
    ref, indices = task
    _die_with_parent(parent_pid)
    points = [(specs[i][0], specs[i][1], ref.key == specs[i][2]) for i in indices]
    records = [_new_record(ref, job) for job, _, _ in points]
    try:
        t0 = time.perf_counter()
        track = _load(ref, points[0][0])
        load_seconds = (time.perf_counter() - t0) / len(points)
    except DiskFullError:
        raise
    except Exception as exc:  # noqa: BLE001 - every point fails as its own run would
        return [_write_record(out_dir, ref, _failed(record, exc))
                for (_, out_dir, _), record in zip(points, records)]
    groups: dict[str, list[int]] = {}
    for i, (job, _, _) in enumerate(points):
        groups.setdefault(models_key(job), []).append(i)
    for members in groups.values():
        job = points[members[0]][0]
        separator, error, t1 = None, None, time.perf_counter()
        try:
            if job["algo"]["name"] != "estimates":
                separator = Separator(track.mixture, track.rate, job["algo"], job["stft"],
                                      references=track.references, sources=track.sources)
        except DiskFullError:
            raise
        except Exception as exc:  # noqa: BLE001
            error = exc
        models_seconds = (time.perf_counter() - t1) / len(members)
        for n, i in enumerate(members):
            job, out_dir, crosscheck = points[i]
            record = records[i]
            record.update(load_seconds=round(load_seconds, 3),
                          shared={"load": len(points), "models": len(members)})
            try:
                if error is not None:
                    raise error
                t2 = time.perf_counter()
                if separator is None:  # another method's output, read not made
                    result = Separation(*load_estimates(job["algo"]["root"], track))
                else:
                    result = separator.apply(job["mask"], job["phase"], last=n == len(members) - 1)
                record["separation_seconds"] = round(models_seconds + time.perf_counter() - t2, 3)
                score_track(ref, job, out_dir, track, result, record, crosscheck)
                del result
            except DiskFullError:
                raise
            except Exception as exc:  # noqa: BLE001 - one point's failure stops no other
                _failed(record, exc)
            _write_record(out_dir, ref, record)
        del separator
    return records
