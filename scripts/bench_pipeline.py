#!/usr/bin/env python
"""End-to-end benchmarks of the command line, as a user runs it, with the dry-run prediction.

Both measure whole commands (fresh process, fresh results dir, warm decode cache) with
``/usr/bin/time -v`` (wall seconds, peak RSS), alternating the two variants so that a
slower moment of the machine hits both; the ratio is that of the medians. Before each
variant its ``runner.dry_run=true`` prediction is read, and its error reported.

``default``: ``+algo=repet`` on one generated stereo track (decode, separate, evaluate,
write, cross-check included), the default ``eval=fast`` against ``eval=museval``::

    python scripts/bench_pipeline.py default --minutes 3 --repeats 3

``sweep``: a sweep (default: ``+experiment=compare_strategies``) over generated tracks,
shared (the default launcher) against point by point (``hydra/launcher=basic``); checks
that both write byte-identical museval JSON::

    python scripts/bench_pipeline.py sweep --minutes 3 --tracks 4 --repeats 1
    python scripts/bench_pipeline.py sweep --grid "+algo=repet,ft2d" "mask=soft,binary"

Run it alone on a quiet machine.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from repet_bench import synthetic


def make_root(root: Path, minutes: float, n_tracks: int) -> Path:
    """Generated full-length tracks in MUSDB18-HQ layout (loops tiled to ``minutes``)."""
    for i in range(n_tracks):
        synthetic.write_track(root / "test" / f"Generated {i + 1:02d}",
                              synthetic.full_length(i, minutes * 60))
    return root


def timed(args: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds and peak RSS (MB) of ``python -m repet_bench *args``, and its output."""
    done = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "repet_bench", *args],
                          cwd=cwd, capture_output=True, text=True)
    if done.returncode not in (0,):
        raise SystemExit(f"failed ({done.returncode}): {' '.join(args)}\n{done.stderr[-3000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    h, m, s = wall.groups()
    seconds = int(h or 0) * 3600 + int(m) * 60 + float(s)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    return seconds, rss / 1024, done.stdout + done.stderr


def predicted(args: list[str], cwd: Path) -> float:
    """The dry run's predicted wall time in seconds (the sweep total for a sweep)."""
    basic = "hydra/launcher=basic" in args  # its total is printed by the shared launcher
    args = [a for a in args if a != "hydra/launcher=basic"]
    done = subprocess.run([sys.executable, "-m", "repet_bench", *args, "runner.dry_run=true"],
                          cwd=cwd, capture_output=True, text=True, check=True)
    # A sweep's dry run prints its total first ("sweep of N points ...: predicted wall
    # time ...", then "point by point ...: predicted wall time ..."), then each point's.
    lines = done.stdout.splitlines()
    if "-m" in args:
        start = next(i for i, line in enumerate(lines) if line.startswith("sweep of"))
        lines = [lines[start + 1] if basic else lines[start]]
    found = re.findall(r"predicted wall time ([\d.]+) (s|min|h)", "\n".join(lines))
    value, unit = found[-1]
    return float(value) * {"s": 1, "min": 60, "h": 3600}[unit]


def compare(variants: dict[str, list[str]], repeats: int, work: Path) -> dict:
    results = {name: {"wall": [], "rss": [], "predicted": None} for name in variants}
    for name, args in variants.items():
        results[name]["predicted"] = predicted(args + [f"paths.results={work / 'dry'}"], work)
    for r in range(repeats):
        for name, args in variants.items():
            out = work / f"{name.replace('=', '_')}-{r}"
            wall, rss, _ = timed(args + [f"paths.results={out}"], work)
            results[name]["wall"].append(wall)
            results[name]["rss"].append(rss)
            print(f"  {name} run {r + 1}: {wall:.1f} s, peak RSS {rss:.0f} MB", flush=True)
    for name, res in results.items():
        med = statistics.median(res["wall"])
        err = 100 * (res["predicted"] - med) / med
        print(f"{name:>14}: median wall {med:.1f} s (runs: "
              f"{', '.join(f'{w:.1f}' for w in res['wall'])}), peak RSS "
              f"{max(res['rss']):.0f} MB; dry run predicted {res['predicted']:.0f} s ({err:+.0f} %)")
    return results


def museval_files(results: Path) -> dict:
    return {str(p.relative_to(results)).split("/", 2)[-1]: p.read_bytes()
            for p in results.glob("sweeps/*/*/museval/*/*.json")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["default", "sweep"])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--tracks", type=int, default=None, help="default: 1 / 4")
    parser.add_argument("--repeats", type=int, default=None, help="default: 3 / 1")
    parser.add_argument("--grid", nargs="+", default=["+experiment=compare_strategies"])
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    tracks = args.tracks or (1 if args.what == "default" else 4)
    repeats = args.repeats or (3 if args.what == "default" else 1)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    root = make_root(work / "root", args.minutes, tracks)
    data = ["dataset=musdb18hq", f"dataset.root={root}", "dataset.decode_cache=true",
            "runner.progress=false"]
    # Fill the decode cache first: both variants then read the same decoded audio.
    timed(["+algo=mix", *data, f"paths.results={work / 'warmup'}"], work)
    print(f"{tracks} generated track(s) of {args.minutes:g} min in {root}; "
          f"{repeats} run(s) each; machine-wide figures, run alone", flush=True)
    if args.what == "default":
        res = compare({"eval=fast": ["+algo=repet", *data],
                       "eval=museval": ["+algo=repet", *data, "eval=museval"]}, repeats, work)
        ratio = statistics.median(res["eval=museval"]["wall"]) / statistics.median(
            res["eval=fast"]["wall"])
        print(f"default pipeline {ratio:.1f}x faster than eval=museval")
        return
    res = compare({"shared": ["-m", *args.grid, *data],
                   "point-by-point": ["-m", *args.grid, *data, "hydra/launcher=basic"]},
                  repeats, work)
    ratio = statistics.median(res["point-by-point"]["wall"]) / statistics.median(
        res["shared"]["wall"])
    same = museval_files(work / "shared-0") == museval_files(work / "point-by-point-0")
    print(f"shared sweep {ratio:.2f}x faster than point by point; museval JSON identical: "
          f"{same} ({len(museval_files(work / 'shared-0'))} files)")


if __name__ == "__main__":
    main()
