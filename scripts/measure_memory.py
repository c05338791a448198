"""Peak memory of one track's stages per second of audio, for runner.n_jobs=auto.

Each (stage, duration) is measured in a fresh child process (peak RSS from
``resource.getrusage(RUSAGE_CHILDREN)``), on a generated stereo track (a synthetic loop
track tiled to the duration). Prints the table and a least-squares line
``peak_MB = base + per_second * seconds`` per stage: the numbers in
``repet_bench/resources.py`` come from this script.

    python scripts/measure_memory.py --durations 60 120 240 --algo repet
    python scripts/measure_memory.py --durations 30 60 120 --stages fast
    python scripts/measure_memory.py --durations 60 420 --algo sigsep_mwf --stages separation
    python scripts/measure_memory.py --durations 60 420 --algo repet_sim:rafii --stages separation

``--algo NAME:FLAVOUR`` measures one flavour (``repet_sim:rafii``: REPET-Python's ``sim``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import numpy as np


def child(stage: str, seconds: float, algo: str) -> None:
    import repet_bench  # noqa: F401  (puts ffmpeg on PATH for museval)
    from repet_bench import evaluation, separation, synthetic
    from repet_bench.config import option

    stems = synthetic.full_length(0, seconds)
    vocals = stems["vocals"]
    accompaniment = stems["drums"] + stems["bass"] + stems["other"]
    mixture = vocals + accompaniment
    refs = {"vocals": vocals, "accompaniment": accompaniment}
    if stage == "separation":
        from repet_bench.api import configure  # an option name (sigsep_mwf: the oracle + method)

        name, _, flavour = algo.partition(":")
        algo_cfg = configure(name)["algo"] if name.startswith("sigsep_") else {
            "name": name, "high_pass_cutoff": 100.0, **({"flavour": flavour} if flavour else {})}
        separation.separate(mixture, 44100, algo_cfg, option("stft"),
                            {"name": "soft"}, {"name": "mixture"}, references=refs,
                            sources={k: stems[k] for k in ("drums", "bass", "other", "vocals")})
    elif stage == "baseline":  # decoded audio + interpreter, no work
        pass
    else:  # an eval backend, then the whole-track metrics, as the runner scores a track
        estimates = {"vocals": 0.5 * mixture, "accompaniment": 0.5 * mixture}
        evaluation.evaluate_track("t", refs, estimates, 44100, backend=stage)
        evaluation.whole_track(refs, estimates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--durations", type=float, nargs="+", default=[60, 120, 240])
    parser.add_argument("--algo", default="repet")
    parser.add_argument("--stages", nargs="+", default=["separation", "museval", "fast"])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], float(args.child[1]), args.child[2])
        return
    print("| stage | seconds of audio | peak RSS (MB) |\n|---|---|---|")
    for stage in args.stages:
        xs, ys = [], []
        for seconds in sorted(args.durations):
            peak = _isolated_peak(stage, seconds, args.algo)
            xs.append(seconds)
            ys.append(peak)
            print(f"| {stage} | {seconds:.0f} | {peak:.0f} |", flush=True)
        slope, base = np.polyfit(xs, ys, 1) if len(xs) > 1 else (float("nan"), ys[0])
        print(f"| {stage} fit | peak_MB = {base:.0f} + {slope:.2f} × seconds | |", flush=True)


def _isolated_peak(stage: str, seconds: float, algo: str) -> float:
    """Peak RSS (MB) of one child, read in its own parent: RUSAGE_CHILDREN's ru_maxrss is
    the maximum over all children a process ever had, so each measurement needs a fresh one."""
    code = ("import resource, subprocess, sys;"
            f"subprocess.run([sys.executable, {__file__!r}, '--child', {stage!r}, "
            f"{str(seconds)!r}, {algo!r}], check=True);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1]) / 1024


if __name__ == "__main__":
    main()
