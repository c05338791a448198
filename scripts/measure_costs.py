#!/usr/bin/env python
"""Measure the cost model behind ``runner.dry_run=true`` (repet_bench/cost_model.json).

Every stage of a run is timed on this machine, in one process, on generated stereo
tracks (repet_bench.synthetic tiled) of two lengths (``--seconds``, default 15 and 60),
each as the median of ``--repeats`` runs; the line through the two gives the stage's
``[seconds, seconds per second of audio]`` (``stages``). Whole-run costs are ``fixed``
seconds:

* ``load/wav``, ``load/stems``, ``load/cache``: reading a MUSDB18-HQ folder, decoding a
  ``.stem.mp4`` (the embedded real sample, scaled per second), reading the decode cache
* ``separate/<stft>/<algo>``: mixture STFT + the algorithm's models (a Separator)
* ``apply/<stft>/<mask>/<phase>``: masks and phase reconstruction (Griffin-Lim: per
  iteration, ``apply/<stft>/<mask>/griffin_lim_iteration`` and
  ``.../fast_griffin_lim_iteration``, plus their zero-iteration cost)
* ``eval/fast_cold`` (reference statistics computed), ``eval/fast_warm`` (cached),
  ``eval/museval``, ``eval/whole_track``
* fixed: ``crosscheck`` (both backends on the excerpt), ``startup`` (a fresh
  ``python -m repet_bench ... runner.dry_run=true``), ``worker_start`` (the first call
  on a fresh 2-worker loky pool), ``point`` (a run's own work besides its tracks:
  plan, locks, scores table, run.json, measured on a run of the sample)

    python scripts/measure_costs.py             # ~8 min on 2 cores; writes the model
    python scripts/measure_costs.py --check     # print, do not write

Run it on a quiet machine; the model describes the machine it was measured on (stored
with it), and a change to it is reviewed like a stored score.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from repet_bench import costs, data, evaluation, synthetic
from repet_bench.algorithms import get_algorithm
from repet_bench.config import option
from repet_bench.phase import ITERATIVE
from repet_bench.separation import Separator

ALGOS = ("repet", "repet_sim", "ft2d", "oracle", "adaptive_repet", "repet_extended")
MASKS = ("soft", "binary", "wiener", "mwf")
PHASES = ("mixture", "none")
GL_ITERATIONS = 8


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def generated_track(seconds: float) -> dict:
    stems = {k: v.astype(np.float32) for k, v in synthetic.full_length(0, seconds).items()}
    vocals = stems["vocals"]
    accompaniment = sum(stems[k] for k in ("drums", "bass", "other"))
    return {"mixture": vocals + accompaniment, "vocals": vocals, "accompaniment": accompaniment}


def fit(measure, durations: tuple[float, float]) -> list[float]:
    """``[seconds, seconds per second of audio]`` of a stage: the line through its
    times at two track lengths (``measure(duration) -> seconds``)."""
    (d0, t0), (d1, t1) = [(d, measure(d)) for d in durations]
    slope = (t1 - t0) / (d1 - d0)
    return [round(max(t0 - slope * d0, 0.0), 4), round(slope, 6)]


def measure_loads(durations, repeats: int, cache: Path) -> dict:
    import soundfile as sf

    def wav(seconds):
        track = generated_track(seconds)
        folder = cache / f"hq{seconds:g}" / "test" / "Generated"
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("mixture", "vocals", "drums", "bass", "other"):
            audio = track.get(name, track["accompaniment"] / 3)
            sf.write(folder / f"{name}.wav", audio, data.RATE, subtype="PCM_16")
        ref = data.TrackRef("Generated", "test", str(folder), True)
        return median_time(lambda: data.load_track(ref), repeats)

    sample = data.list_tracks(OmegaConf.create(option("dataset", "sample")), cache)[0]
    full = data.track_seconds(sample)
    # The only real .stem.mp4 here is the 7 s sample: its first 2 s and the whole of it.
    excerpt = {d: dataclasses.replace(sample, duration=d) for d in (2.0, full)}

    def stems(seconds):
        return median_time(lambda: data.load_track(excerpt[seconds]), repeats)

    def cached(seconds):
        data.load_track(excerpt[seconds], cache / "decoded")  # fills the cache
        return median_time(lambda: data.load_track(excerpt[seconds], cache / "decoded"), repeats)

    return {"load/wav": fit(wav, durations), "load/stems": fit(stems, (2.0, full)),
            "load/cache": fit(cached, (2.0, full))}


def measure_separation(tracks: dict, repeats: int) -> dict:
    out = {}
    durations = tuple(tracks)
    for stft in costs.STFTS:
        stft_cfg = option("stft", stft)
        for algo in ALGOS:
            algo_cfg = {"name": algo}
            if stft == "nussl2018" and "sisec18" in get_algorithm(algo).flavours:
                algo_cfg["flavour"] = "sisec18"

            def separate(d):
                refs = {t: tracks[d][t] for t in data.TARGETS}
                return median_time(lambda: Separator(tracks[d]["mixture"], data.RATE, algo_cfg,
                                                     stft_cfg, refs), repeats)

            out[f"separate/{stft}/{algo}"] = fit(separate, durations)
        separators = {d: Separator(tracks[d]["mixture"], data.RATE, {"name": "repet"}, stft_cfg)
                      for d in durations}
        for mask in MASKS:
            for phase in PHASES:
                out[f"apply/{stft}/{mask}/{phase}"] = fit(lambda d: median_time(
                    lambda: separators[d].apply({"name": mask}, {"name": phase}), repeats),
                    durations)

            def gl(d, its, name="griffin_lim"):  # the option as configured, `its` iterations
                return median_time(lambda: separators[d].apply(
                    {"name": mask}, {**option("phase", name), "iterations": its}), repeats)

            zero = fit(lambda d: gl(d, 0), durations)
            out[f"apply/{stft}/{mask}/griffin_lim"] = zero
            for name in ITERATIVE:
                more = fit(lambda d: gl(d, GL_ITERATIONS, name), durations)
                out[f"apply/{stft}/{mask}/{name}_iteration"] = [
                    round(max(m - z, 0.0) / GL_ITERATIONS, 6) for m, z in zip(more, zero)]
    return out


def measure_eval(tracks: dict, repeats: int, cache: Path) -> tuple[dict, dict]:
    def pair(d):
        track = tracks[d]
        refs = {t: track[t] for t in data.TARGETS}
        ests = {"vocals": 0.8 * track["vocals"] + 0.1 * track["accompaniment"],
                "accompaniment": 0.9 * track["accompaniment"] + 0.2 * track["vocals"]}
        return refs, ests

    def evaluate(backend, warm):
        def measure(d):
            refs, ests = pair(d)
            path = cache / f"stats{d:g}.npz" if backend == "fast" else None

            def once():
                if path is not None and not warm:
                    path.unlink(missing_ok=True)
                evaluation.evaluate_track("x", refs, ests, data.RATE, 1.0, 1.0, backend, path)

            once()
            return median_time(once, repeats)
        return measure

    durations = tuple(tracks)
    out = {"eval/fast_cold": fit(evaluate("fast", False), durations),
           "eval/fast_warm": fit(evaluate("fast", True), durations),
           "eval/museval": fit(evaluate("museval", False), durations),
           "eval/whole_track": fit(lambda d: median_time(
               lambda: evaluation.whole_track(*pair(d)), repeats), durations)}
    refs, ests = pair(durations[-1])
    fixed = {"crosscheck": median_time(lambda: evaluation.crosscheck(refs, ests, data.RATE, 1.0, 1.0),
                                       repeats)}
    return out, fixed


def measure_fixed(repeats: int, cache: Path) -> dict:
    from joblib import Parallel, delayed
    from joblib.externals.loky import get_reusable_executor

    env = {**os.environ, "REPET_BENCH_CACHE": str(cache)}
    command = [sys.executable, "-m", "repet_bench", "+algo=repet", "runner.dry_run=true",
               f"paths.results={cache / 'results'}"]
    out = {"startup": median_time(lambda: subprocess.run(command, env=env, check=True,
                                                         capture_output=True), repeats)}

    def first_call():
        get_reusable_executor().shutdown(wait=True)
        Parallel(n_jobs=2)(delayed(_imports)() for _ in range(2))

    out["worker_start"] = median_time(first_call, repeats)
    out["point"] = statistics.median(_run_overhead(cache) for _ in range(repeats))
    return out


def _imports() -> None:
    import repet_bench.runner  # noqa: F401  (what a worker imports before its first track)


def _run_overhead(cache: Path) -> float:
    """A run's wall time beyond its tracks' measured stages (the mixture anchor on the
    sample, so the tracks cost little)."""
    from hydra import compose, initialize_config_module

    from repet_bench.config import register_configs
    from repet_bench.runner import run

    register_configs()
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        with initialize_config_module("repet_bench.conf", version_base="1.3"):
            cfg = compose("config", overrides=["+algo=mix", "runner.progress=false",
                                               f"paths.cache={cache}"])
        t0 = time.perf_counter()
        result = run(cfg, Path(tmp))
        wall = time.perf_counter() - t0
        meta = json.loads((Path(tmp) / "run.json").read_text())
    assert result.ok
    stages = sum(r.get(k) or 0 for r in meta["tracks"].values()
                 for k in ("load_seconds", "separation_seconds", "evaluation_seconds",
                           "crosscheck_seconds"))
    return wall - stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, nargs=2, default=[15.0, 60.0],
                        help="the two track lengths each stage is timed at")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="print only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        os.environ["REPET_BENCH_CACHE"] = str(cache)
        durations = tuple(args.seconds)
        tracks = {d: generated_track(d) for d in durations}
        stages = measure_loads(durations, args.repeats, cache)
        stages |= measure_separation(tracks, args.repeats)
        evals, fixed = measure_eval(tracks, args.repeats, cache)
        stages |= evals
        model = {
            "measured": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "command": "python scripts/measure_costs.py " + " ".join(sys.argv[1:]),
            "fixed": {"startup": 0.0, "worker_start": 0.0, "point": 0.0, **fixed},
            "stages": dict(sorted(stages.items())),
        }
        # The start-up is timed on a dry run, which reads the model: the stages first.
        previous = costs.MODEL_PATH.read_text() if costs.MODEL_PATH.exists() else None
        costs.MODEL_PATH.write_text(json.dumps(model))
        try:
            fixed |= measure_fixed(args.repeats, cache)
        finally:
            if args.check and previous is not None:
                costs.MODEL_PATH.write_text(previous)
    model["fixed"] = {k: round(v, 4) for k, v in sorted(fixed.items())}
    text = json.dumps(model, indent=1) + "\n"
    print(text)
    if not args.check:
        costs.MODEL_PATH.write_text(text)
        print(f"written to {costs.MODEL_PATH}")


if __name__ == "__main__":
    main()
