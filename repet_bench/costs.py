"""Predicted wall time of a run or a sweep, from a cost model measured on this code.

``cost_model.json`` (beside this module; written by ``scripts/measure_costs.py``) holds
what each stage costs on the machine it was measured on, as ``[seconds, seconds per
second of stereo audio]``: reading or decoding a track, each algorithm (with its mixture
STFT) on each STFT, each mask × phase (Griffin-Lim per iteration), each evaluation
backend; and fixed seconds for the cross-check, the process start, the workers' start
and a run's own bookkeeping. A prediction adds the stages of each track as the runner would run them
(a shared sweep: one load per track, one separation per algorithm and STFT), knows
which decoded tracks and reference statistics are already cached, and schedules the
tracks on ``n_jobs`` workers in submission order, as joblib dispatches them.

Algorithm parameters other than the defaults (e.g. REPET-SIM's ``k``) are assumed to
cost what the defaults cost; another machine scales everything by its speed.

>>> job = {"algo": {"name": "repet"}, "stft": {"convention": "nussl"},
...        "mask": {"name": "soft"}, "phase": {"name": "mixture"},
...        "eval": {"backend": "fast"}, "dataset": {"is_wav": True, "decode_cache": False}}
>>> p = predict([job], [180.0, 180.0], n_jobs=2)
>>> p.wall < p.work  # two tracks on two workers
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .algorithms import get_algorithm, uses_strategies
from .config import complete
from .phase import ITERATIVE

MODEL_PATH = Path(__file__).with_name("cost_model.json")
# The STFT options the model is measured on (by convention; stft=... may change sizes).
STFTS = ("default", "nussl2018")


@lru_cache(maxsize=1)
def model() -> dict:
    """The measured model (``fixed`` seconds, ``per_second`` seconds per audio second)."""
    return json.loads(MODEL_PATH.read_text())


def _cost(key: str, seconds: float) -> float:
    base, per_second = model()["stages"][key]
    return base + per_second * seconds


def _stft(job: dict) -> str:
    # A flavour with its own transform (rafii: REPET-Python's, nussl 0.1.6a0's frames) is
    # costed on that transform whatever the run's stft says.
    own = get_algorithm(job["algo"]["name"]).waveform_fn(job["algo"].get("flavour"))
    return ("nussl2018" if own is not None or job["stft"].get("convention") == "nussl2018"
            else "default")


def load_cost(job: dict, seconds: float, decoded: bool = False) -> float:
    """Reading one track; ``decoded``: its excerpt is in the decode cache already."""
    if job["dataset"].get("decode_cache") and decoded:
        return _cost("load/cache", seconds)
    return _cost("load/wav" if job["dataset"].get("is_wav") else "load/stems", seconds)


def separate_cost(job: dict, seconds: float) -> float:
    """The mixture STFT and the algorithm's models (nothing for the mixture anchor; a
    folder of estimates costs a wav read)."""
    name = job["algo"]["name"]
    algorithm = get_algorithm(name)
    if algorithm.mixture_estimates:
        return 0.0
    if algorithm.reads_estimates:
        return _cost("load/wav", seconds)
    key = f"separate/{_stft(job)}/{name}"
    return _cost(key if key in model()["stages"] else f"separate/{_stft(job)}/repet", seconds)


def apply_cost(job: dict, seconds: float) -> float:
    """Masks and phase reconstruction of one point."""
    if not uses_strategies(job["algo"]):  # no masks or phase of ours
        return 0.0
    prefix = f"apply/{_stft(job)}/{job['mask']['name']}"
    phase = job["phase"]["name"]
    if phase in ITERATIVE:  # zero iterations are mixture phase, whichever Griffin-Lim
        iterations = complete("phase", phase, job["phase"])["iterations"]
        return (_cost(f"{prefix}/griffin_lim", seconds)
                + iterations * _cost(f"{prefix}/{phase}_iteration", seconds))
    return _cost(f"{prefix}/{phase}", seconds)


def eval_cost(job: dict, seconds: float, warm: bool = False) -> float:
    """BSS Eval v4 (``warm``: the fast backend's reference statistics are cached) and the
    whole-track metrics."""
    backend = job["eval"]["backend"]
    key = "eval/museval" if backend == "museval" else f"eval/fast_{'warm' if warm else 'cold'}"
    return _cost(key, seconds) + _cost("eval/whole_track", seconds)


@dataclass
class Prediction:
    """Seconds: ``wall`` (what the user waits), ``work`` (summed over workers); for a
    point-by-point sweep, ``points``: each point's part of ``wall``, in launch order (the
    first carries the process and workers' start), which add up to it."""

    wall: float
    work: float
    n_jobs: int
    points: tuple[float, ...] = ()

    def describe(self) -> str:
        m = model()
        return (f"predicted wall time {duration(self.wall)} on {self.n_jobs} worker(s) "
                f"({duration(self.work)} of work; cost model measured {m['measured']} on "
                f"{m['machine']}: scale by this machine's speed)")


def duration(seconds: float) -> str:
    """Seconds as the dry run writes them (``7 s``, ``2.9 min``, ``1.2 h``)."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def makespan(tasks: list[float], n_jobs: int) -> float:
    """When the last of ``tasks`` (seconds, in submission order) ends on ``n_jobs``
    workers that each take the next task when free."""
    free = [0.0] * max(1, n_jobs)
    for task in tasks:
        i = free.index(min(free))
        free[i] += task
    return max(free)


def track_costs(jobs: list[dict], seconds: list[float], shared: bool,
                decoded: list[bool] | None = None, warm: list[bool] | None = None) -> list[float]:
    """Seconds each track's task takes: one task per track and point, in the order the
    point-by-point sweep runs them, or (``shared``) one per track for all ``jobs``.
    ``decoded``/``warm``: per track, whether its decoded audio / reference statistics
    are cached already."""
    decoded = decoded or [False] * len(seconds)
    warm = warm or [False] * len(seconds)
    fast = [j for j in jobs if j["eval"]["backend"] == "fast"]
    crosscheck = model()["fixed"]["crosscheck"]
    groups = {}
    for job in jobs:
        groups.setdefault(json.dumps([job["algo"], job["stft"]], sort_keys=True), job)
    tasks = []
    for t, length in enumerate(seconds):
        # The first fast point scores the track with the reference statistics cold.
        cold = 0.0 if warm[t] or not fast else (
            eval_cost(fast[0], length) - eval_cost(fast[0], length, warm=True))
        # The mixture's own scores (SDRi), once per track: cached for the other points.
        cold += eval_cost(jobs[0], length, warm=True)
        if shared:
            work = load_cost(jobs[0], length, decoded[t])
            work += sum(separate_cost(j, length) for j in groups.values())
            work += sum(apply_cost(j, length) + eval_cost(j, length, warm=True) for j in jobs)
            tasks.append(work + cold + (crosscheck * len(fast) if t == 0 else 0.0))
        else:
            for i, job in enumerate(jobs):
                work = (load_cost(job, length, decoded[t] or i > 0)  # later points: cached
                        + separate_cost(job, length) + apply_cost(job, length)
                        + eval_cost(job, length, warm=True) + (cold if i == 0 else 0.0))
                tasks.append(work + (crosscheck if t == 0 and job in fast else 0.0))
    return tasks


def predict(jobs: list[dict], seconds: list[float], n_jobs: int, shared: bool = True,
            decoded: list[bool] | None = None, warm: list[bool] | None = None) -> Prediction:
    """Wall time of running ``jobs`` (one: a run; several: the points of a sweep) over
    tracks of ``seconds`` on ``n_jobs`` workers: a shared sweep, or (``shared=False``)
    the points one after another, each on all workers."""
    fixed = model()["fixed"]
    n_jobs = max(1, min(n_jobs, len(seconds)))
    overhead = fixed["startup"] + len(jobs) * fixed["point"]
    overhead += fixed["worker_start"] if n_jobs > 1 else 0.0
    tasks = track_costs(jobs, seconds, shared, decoded, warm)
    if shared or len(jobs) == 1:
        return Prediction(overhead + makespan(tasks, n_jobs), overhead + sum(tasks), n_jobs)
    # Point by point: each point's tracks, then the next point's.
    start = overhead - len(jobs) * fixed["point"]
    points = [fixed["point"] + makespan(tasks[i::len(jobs)], n_jobs) for i in range(len(jobs))]
    points[0] += start
    return Prediction(sum(points), overhead + sum(tasks), n_jobs, tuple(points))
