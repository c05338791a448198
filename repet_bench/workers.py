"""Worker processes: how many, on which engine, and what happens when one dies.

The only module that knows processes. joblib runs the work: loky processes on this
machine, or a dask.distributed cluster (``runner.backend=dask``); SLURM runs whole points
through Hydra's submitit launcher, not through here.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import contextmanager
from typing import Callable

from joblib import Parallel, delayed, parallel_config
from tqdm.auto import tqdm

from .resources import auto_n_jobs, available_memory, worker_peak_bytes

log = logging.getLogger(__name__)

# Why a loky worker vanished: the OOM killer sends SIGKILL.
OOM_HINT = ("a worker process was killed (SIGKILL, most likely by the out-of-memory killer); "
            "lower runner.n_jobs or use runner.n_jobs=auto")
# Exit status of a worker whose run died under it.
EXIT_PARENT_GONE = 70

# The parent a worker process watches (None: not watching); see die_with_parent.
_watched_parent: int | None = None


def die_with_parent(parent_pid: int | None) -> None:
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


def n_workers(setting, seconds: list[float | None], stages: tuple[str, ...],
              held: float = 0.0) -> int:
    """``runner.n_jobs`` for items of ``seconds`` of audio each (None: unknown): a count,
    -1 (all cores), or ``auto`` (cores and memory: each worker's peak for the memory
    ``stages`` of :data:`repet_bench.resources.PEAK_MODEL`; ``held``: bytes per second of
    audio a worker holds besides a single run's peak)."""
    if not seconds:
        return 1
    if setting == "auto":
        longest = max((s for s in seconds if s is not None), default=0.0)
        n = auto_n_jobs(longest, len(seconds), stages=stages, held=held)
        log.info("runner.n_jobs=auto: %d worker(s) (longest track %.0f s, ~%.1f GB each, "
                 "%.1f GB available)", n, longest,
                 worker_peak_bytes(longest, stages, held) / 1e9, available_memory() / 1e9)
        return n
    setting = int(setting)
    if setting < 0:
        setting = os.cpu_count() + 1 + setting  # joblib's convention: -1 = all cores
    return max(1, min(len(seconds), setting))


@contextmanager
def engine(runner: dict):
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


def _worker_lost_errors() -> tuple:
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    errors = [TerminatedWorkerError]
    try:  # dask gives up on a task after its workers died repeatedly
        from distributed.scheduler import KilledWorker

        errors.append(KilledWorker)
    except ImportError:
        pass
    return tuple(errors)


def process_all(work: Callable, todo: list, runner: dict, n_jobs: int, unfinished: Callable,
                done: Callable, *args) -> list:
    """``work(item, *args, parent_pid)`` for each item of ``todo`` on ``n_jobs`` workers,
    ``done(result)`` for each result as it finishes; if a worker is killed (out of memory),
    ``unfinished(todo)`` again with half the workers each time. Returns the items lost
    at one worker."""
    # loky's workers are this process's children and must die with it; dask's workers
    # belong to their cluster.
    parent = os.getpid() if runner["backend"] == "loky" else None
    while True:
        try:
            with engine(runner):
                results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                    delayed(work)(item, *args, parent) for item in todo)
                for result in tqdm(results, total=len(todo), desc="tracks", unit="track",
                                   disable=not runner["progress"] or not todo):
                    done(result)
            return []
        except _worker_lost_errors():
            todo = unfinished(todo)
            if n_jobs == 1:
                log.error("%s; giving up on %d track(s)", OOM_HINT, len(todo))
                return todo
            n_jobs = max(1, n_jobs // 2)
            log.warning("%s; retrying %d track(s) with %d worker(s)", OOM_HINT, len(todo), n_jobs)
