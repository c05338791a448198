#!/usr/bin/env python
"""Measure the cost model behind ``runner.dry_run=true`` (repet_bench/cost_model.json).

Every stage of a run is timed on this machine, in one process, on a generated stereo
track (repet_bench.synthetic tiled to ``--seconds``), as the median of ``--repeats``
runs, and stored as seconds per second of audio (``per_second``) or seconds
(``fixed``):

* ``load/wav``, ``load/stems``, ``load/cache``: reading a MUSDB18-HQ folder, decoding a
  ``.stem.mp4`` (the embedded real sample, scaled per second), reading the decode cache
* ``separate/<stft>/<algo>``: mixture STFT + the algorithm's models (a Separator)
* ``apply/<stft>/<mask>/<phase>``: masks and phase reconstruction (Griffin-Lim: per
  iteration, ``apply/<stft>/<mask>/griffin_lim_iteration``, plus its zero-iteration cost)
* ``eval/fast_cold`` (reference statistics computed), ``eval/fast_warm`` (cached),
  ``eval/museval``, ``eval/whole_track``
* fixed: ``crosscheck`` (both backends on the excerpt), ``startup`` (a fresh
  ``python -m repet_bench ... runner.dry_run=true``), ``worker_start`` (the first call
  on a fresh 2-worker loky pool), ``point`` (a run's own work besides its tracks:
  plan, locks, scores table, run.json, measured on a run of the sample)

    python scripts/measure_costs.py             # ~5 min on 2 cores; writes the model
    python scripts/measure_costs.py --check     # print, do not write

Run it on a quiet machine; the model describes the machine it was measured on (stored
with it), and a change to it is reviewed like a stored score.
"""

from __future__ import annotations

import argparse
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

from repet_bench import costs, data, metrics, synthetic
from repet_bench.config import option
from repet_bench.separation import Separator

ALGOS = ("repet", "repet_sim", "ft2d", "oracle", "adaptive_repet", "repet_extended")
MASKS = ("soft", "binary", "wiener", "mwf")
PHASES = ("mixture", "none")
GL_ITERATIONS = 4


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def generated_track(seconds: float) -> dict:
    stems = synthetic.render(synthetic.specs(1)[0])
    n = int(seconds * synthetic.RATE)
    reps = int(np.ceil(n / len(stems["vocals"])))
    tiled = {k: np.tile(v, (reps, 1))[:n].astype(np.float32) for k, v in stems.items()}
    vocals = tiled["vocals"]
    accompaniment = sum(tiled[k] for k in ("drums", "bass", "other"))
    return {"mixture": vocals + accompaniment, "vocals": vocals, "accompaniment": accompaniment}


def measure_loads(seconds: float, repeats: int, cache: Path) -> dict:
    import soundfile as sf

    out = {}
    track = generated_track(seconds)
    folder = cache / "hq" / "test" / "Generated"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("mixture", "vocals", "drums", "bass", "other"):
        audio = track.get(name, track["accompaniment"] / 3)
        sf.write(folder / f"{name}.wav", audio, data.RATE, subtype="PCM_16")
    ref = data.TrackRef("Generated", "test", str(folder), True)
    out["load/wav"] = median_time(lambda: data.load_track(ref), repeats) / seconds
    sample = data.list_tracks(OmegaConf.create(option("dataset", "sample")), cache)[0]
    length = data.track_seconds(sample)
    out["load/stems"] = median_time(lambda: data.load_track(sample), repeats) / length
    data.load_track(sample, cache / "decoded")  # fills the cache
    out["load/cache"] = median_time(lambda: data.load_track(sample, cache / "decoded"),
                                    repeats) / length
    return out


def measure_separation(track: dict, seconds: float, repeats: int) -> dict:
    out = {}
    refs = {t: track[t] for t in data.TARGETS}
    for stft in costs.STFTS:
        stft_cfg = option("stft", stft)
        for algo in ALGOS:
            algo_cfg = {"name": algo}
            if stft == "nussl2018" and "flavour" in option("algo", algo):
                algo_cfg["flavour"] = "sisec18"
            out[f"separate/{stft}/{algo}"] = median_time(
                lambda: Separator(track["mixture"], data.RATE, algo_cfg, stft_cfg, refs),
                repeats) / seconds
        separator = Separator(track["mixture"], data.RATE, {"name": "repet"}, stft_cfg)
        for mask in MASKS:
            for phase in PHASES:
                out[f"apply/{stft}/{mask}/{phase}"] = median_time(
                    lambda: separator.apply({"name": mask}, {"name": phase}), repeats) / seconds
            gl = {}
            for its in (0, GL_ITERATIONS):
                gl[its] = median_time(lambda: separator.apply(
                    {"name": mask}, {"name": "griffin_lim", "iterations": its}), repeats) / seconds
            out[f"apply/{stft}/{mask}/griffin_lim"] = gl[0]
            out[f"apply/{stft}/{mask}/griffin_lim_iteration"] = (gl[GL_ITERATIONS] - gl[0]) / GL_ITERATIONS
    return out


def measure_eval(track: dict, seconds: float, repeats: int, cache: Path) -> tuple[dict, dict]:
    refs = {t: track[t] for t in data.TARGETS}
    ests = {"vocals": 0.8 * track["vocals"] + 0.1 * track["accompaniment"],
            "accompaniment": 0.9 * track["accompaniment"] + 0.2 * track["vocals"]}
    out = {}

    def cold():
        path = cache / "stats.npz"
        path.unlink(missing_ok=True)
        metrics.evaluate_track("x", refs, ests, data.RATE, 1.0, 1.0, "fast", path)

    out["eval/fast_cold"] = median_time(cold, repeats) / seconds
    out["eval/fast_warm"] = median_time(lambda: metrics.evaluate_track(
        "x", refs, ests, data.RATE, 1.0, 1.0, "fast", cache / "stats.npz"), repeats) / seconds
    out["eval/museval"] = median_time(lambda: metrics.evaluate_track(
        "x", refs, ests, data.RATE, 1.0, 1.0, "museval"), repeats) / seconds
    out["eval/whole_track"] = median_time(lambda: metrics.whole_track(refs, ests), repeats) / seconds
    fixed = {"crosscheck": median_time(lambda: metrics.crosscheck(refs, ests, data.RATE, 1.0, 1.0),
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
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="print only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        os.environ["REPET_BENCH_CACHE"] = str(cache)
        track = generated_track(args.seconds)
        per_second = measure_loads(args.seconds, args.repeats, cache)
        per_second |= measure_separation(track, args.seconds, args.repeats)
        evals, fixed = measure_eval(track, args.seconds, args.repeats, cache)
        per_second |= evals
        fixed |= measure_fixed(args.repeats, cache)
    model = {
        "measured": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor() or '?'}",
        "command": "python scripts/measure_costs.py " + " ".join(sys.argv[1:]),
        "track_seconds": args.seconds,
        "fixed": {k: round(v, 4) for k, v in sorted(fixed.items())},
        "per_second": {k: round(v, 5) for k, v in sorted(per_second.items())},
    }
    text = json.dumps(model, indent=1) + "\n"
    print(text)
    if not args.check:
        costs.MODEL_PATH.write_text(text)
        print(f"written to {costs.MODEL_PATH}")


if __name__ == "__main__":
    main()
