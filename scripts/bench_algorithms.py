"""Time and memory of every algorithm on long generated tracks, against the STFT floor.

Each algorithm runs in a fresh child process (this script with ``--only``), so its peak
RSS is its own; the parent reads it with ``getrusage(RUSAGE_CHILDREN)`` and prints a
Markdown table:

    python scripts/bench_algorithms.py                       # 180 s and 420 s, 3 repeats
    python scripts/bench_algorithms.py --durations 60 --repeats 1 --algos repet ft2d
    python scripts/bench_algorithms.py --flavour sisec18 --algos repet repet_sim ft2d

Per algorithm and duration: separation seconds through ``repet_bench.separation.separate``
(mask soft, phase mixture; median of ``--repeats``; ``--flavour sisec18``: nussl 0.1.6a0's
flavour on its STFT, ``stft=nussl2018``, as the sisec18 preset), the ratio to a bare STFT + iSTFT of
the same audio (``Stft.forward`` then ``Stft.inverse``, the floor any STFT-domain method
pays), and the child's peak RSS. Targets (issue): peak memory under 2 GiB on the 7-minute
track; repet within 3× the floor; repet_sim and ft2d within 10×.

The track is a synthetic loop (``repet_bench.synthetic.render``) tiled to the duration,
with its vocal line and a little noise so no two frames are identical; only the oracles
get (and hold) its true references. The peak includes the interpreter and its imports
(~180 MB) and the float32 mixture.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

ALGOS = ("repet", "repet_sim", "ft2d", "adaptive_repet", "repet_extended", "ibm", "irm", "mix")
TARGETS = {"repet": 3.0, "repet_sim": 10.0, "ft2d": 10.0}
MEMORY_LIMIT_MB = 2048
# The STFT option of each flavour (conf/stft/) and the algorithms that have a flavour.
STFT_OF = {"nussl": "default", "sisec18": "nussl2018"}
FLAVOURED = ("repet", "repet_sim", "ft2d", "mix")
MASK = {"ibm": "binary"}  # the oracle's own mask; every other algorithm: soft
ORACLES = ("ibm", "irm")


def generate(duration: float, rate: int = 44100, seed: int = 0) -> tuple[np.ndarray, dict]:
    """A stereo float32 track of ``duration`` seconds and its references (cheap to make).

    Not ``synthetic.full_length``: that holds all four stems in float64 at once, which
    would raise the peak RSS this script measures above the algorithm's own.
    """
    from repet_bench.synthetic import render, specs

    stems = render(specs(1, seed)[0])  # 20 s, loop of 3.5 s
    n = int(round(duration * rate))
    reps = -(-n // len(stems["vocals"]))
    rng = np.random.default_rng(seed)
    noise = (1e-3 * rng.standard_normal((n, 2))).astype(np.float32)
    vocals = np.tile(stems["vocals"].astype(np.float32), (reps, 1))[:n]
    accompaniment = sum(np.tile(stems[k].astype(np.float32), (reps, 1))[:n]
                        for k in ("drums", "bass", "other")) + noise
    return vocals + accompaniment, {"vocals": vocals, "accompaniment": accompaniment}


def configs(name: str, flavour: str) -> tuple[dict, dict]:
    """The ``algo`` and ``stft`` configs as the CLI composes them for ``+algo=<name>``."""
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    from repet_bench.config import register_configs

    register_configs()
    with initialize_config_module("repet_bench.conf", version_base="1.3"):
        flavoured = [f"algo.flavour={flavour}"] if name in FLAVOURED else []
        cfg = compose("config", overrides=[f"+algo={name}", f"stft={STFT_OF[flavour]}",
                                           *flavoured])
    return (OmegaConf.to_container(cfg.algo, resolve=True),
            OmegaConf.to_container(cfg.stft, resolve=True))


def measure(name: str, duration: float, repeats: int, flavour: str) -> dict:
    """Run in the child: separation seconds (each repeat) and the STFT floor."""
    from repet_bench.separation import separate
    from repet_bench.stft import Stft

    mixture, references = generate(duration)
    algo, stft_cfg = configs("mix" if name == "floor" else name, flavour)
    if name == "floor":
        stft = Stft.from_config(stft_cfg, 44100)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            stft.inverse(stft.forward(mixture), len(mixture))
            times.append(time.perf_counter() - start)
        return {"seconds": times}
    if name not in ORACLES:
        references = None  # only the oracles hold the true sources in memory
    times, info = [], {}
    for _ in range(repeats):
        start = time.perf_counter()
        result = separate(mixture, 44100, algo, stft_cfg, {"name": MASK.get(name, "soft")},
                          {"name": "mixture"}, references=references)
        times.append(time.perf_counter() - start)
        info = result.info
        del result
    return {"seconds": times, "info_keys": sorted(info)}


def run_child(name: str, duration: float, repeats: int, flavour: str) -> dict:
    """Measure ``name`` in a fresh process; add its peak RSS in MB."""
    cmd = [sys.executable, __file__, "--only", name, "--durations", str(duration),
           "--repeats", str(repeats), "--flavour", flavour]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["peak_mb"] = result.pop("child_peak_kb") / 1024
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--durations", type=float, nargs="+", default=[180.0, 420.0],
                        help="track durations in seconds")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--algos", nargs="+", default=list(ALGOS), choices=ALGOS)
    parser.add_argument("--flavour", default="nussl", choices=sorted(STFT_OF),
                        help="nussl (1.1.9, default STFT) or sisec18 (0.1.6a0, stft=nussl2018)")
    parser.add_argument("--only", help=argparse.SUPPRESS)  # child mode: one measurement
    args = parser.parse_args(argv)

    if args.only:
        result = measure(args.only, args.durations[0], args.repeats, args.flavour)
        # ru_maxrss is in KB on Linux; this process's own peak is the child's peak.
        result["child_peak_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps(result))
        return 0

    rows = []
    for duration in args.durations:
        floor = run_child("floor", duration, args.repeats, args.flavour)
        floor_s = float(np.median(floor["seconds"]))
        rows.append(("STFT + iSTFT (floor)", duration, floor_s, 1.0, floor["peak_mb"], ""))
        for name in args.algos:
            r = run_child(name, duration, args.repeats, args.flavour)
            if "error" in r:
                rows.append((name, duration, float("nan"), float("nan"), float("nan"), r["error"]))
                continue
            seconds = float(np.median(r["seconds"]))
            ratio = seconds / floor_s
            notes = []
            if name in TARGETS and ratio > TARGETS[name]:
                notes.append(f"over {TARGETS[name]:g}× target")
            if r["peak_mb"] > MEMORY_LIMIT_MB:
                notes.append("over 2 GiB")
            rows.append((name, duration, seconds, ratio, r["peak_mb"], ", ".join(notes)))
            print(f"# {name} {duration:g}s: {seconds:.1f} s ({ratio:.1f}×), "
                  f"{r['peak_mb']:.0f} MB", file=sys.stderr, flush=True)

    print(f"\nCPU: {os.cpu_count()} cores; median of {args.repeats} run(s); flavour "
          f"{args.flavour}; mask soft (ibm: binary), phase mixture.\n")
    print("| algorithm | duration (s) | separation (s) | × STFT+iSTFT | peak RSS (MB) | notes |")
    print("|---|---:|---:|---:|---:|---|")
    for name, duration, seconds, ratio, peak, notes in rows:
        print(f"| {name} | {duration:g} | {seconds:.2f} | {ratio:.1f} | {peak:.0f} | {notes} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
