#!/usr/bin/env python
"""Benchmark museval BSS Eval v4 against repet_bench.bsseval_fast (time, memory, agreement).

For each duration, a deterministic stereo vocals/accompaniment reference pair and a
REPET-like estimate pair are synthesised, and each backend runs in its own child process
(so that its peak memory can be read alone, with ``os.wait4``):

* ``museval``   ``museval.evaluate(refs, ests, win=44100, hop=44100, mode='v4')``
* ``fast``      ``bss_eval_v4(refs, ests)`` cold: reference statistics computed inside
* ``fast-warm`` ``reference_stats(refs)`` first (reported apart), then
                ``bss_eval_v4(refs, ests, ref_stats=...)``: what every further estimate
                of an already seen track costs

Each child's peak RSS includes the Python interpreter and the signals themselves, shown
as "signals" (the child's peak right after synthesis: references and estimates are
float64 arrays of shape ``(2, N, 2)``, 288 MB each for 204 s).

Usage::

    python scripts/bench_eval.py                      # 204 s and 420 s (slow: museval)
    python scripts/bench_eval.py --durations 20       # quick sanity check
    python scripts/bench_eval.py --only fast --durations 204   # one backend, e.g. under
                                                      # /usr/bin/time -v

Run it on a quiet machine: times are wall-clock seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RATE = 44100
BACKENDS = ("museval", "fast", "fast-warm")
_CHUNK = 10 * RATE


# --------------------------------------------------------------------------- #
# Deterministic synthetic track
# --------------------------------------------------------------------------- #
def synth_track(seconds: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Stereo vocals/accompaniment references and REPET-like estimates.

    Returns
    -------
    refs, ests : np.ndarray, shape=(2, nsamples, 2), float64
        Source 0 is vocals (harmonic melody with vibrato, silent for the first 2 s and
        in a few gaps, so some frames are NaN), source 1 accompaniment (bass, chords,
        decaying noise hits, panned). Both carry a -60 dB white floor: it keeps the
        reference Gram matrix well conditioned, so museval's ISR/SIR/SAR are reproducible
        and the comparison measures the implementation, not rounding noise. Estimates:
        vocals + 10 % accompaniment leakage + envelope-modulated noise, accompaniment =
        mixture - estimated vocals (REPET's complementary masks).
    """
    n = int(round(seconds * RATE))
    rng = np.random.default_rng(seed)
    notes = rng.integers(0, 12, size=int(seconds / 0.5) + 2)  # melody, one note / 0.5 s
    bass = rng.integers(0, 7, size=int(seconds / 2.0) + 2)
    refs = np.empty((2, n, 2))
    ests = np.empty((2, n, 2))
    phase = 0.0
    for c, t0 in enumerate(range(0, n, _CHUNK)):
        t1 = min(n, t0 + _CHUNK)
        crng = np.random.default_rng([seed, c])  # per-chunk streams: chunking-invariant
        t = np.arange(t0, t1) / RATE
        # vocals: melody with vibrato, phase carried across chunks
        vibrato = 1 + 0.01 * np.sin(2 * np.pi * 5.5 * t)
        f0 = 220.0 * 2.0 ** (notes[(t / 0.5).astype(int)] / 12) * vibrato
        ph = phase + 2 * np.pi * np.cumsum(f0) / RATE
        phase = ph[-1]
        v = sum(np.sin(h * ph) / h for h in range(1, 9))
        v *= 0.3 * (0.6 + 0.4 * np.sin(2 * np.pi * 0.25 * t) ** 2)
        v[(t < 2.0) | ((t % 23.0) > 21.5)] = 0.0  # intro and gaps: exactly silent
        vl = v + 1e-3 * crng.standard_normal(len(t))
        vr = 0.9 * v + 1e-3 * crng.standard_normal(len(t))
        # accompaniment: bass, chord, noise hits every 0.25 s
        fb = 55.0 * 2.0 ** (bass[(t / 2.0).astype(int)] / 12)
        b = 0.4 * np.sin(2 * np.pi * fb * t)
        chord = 0.1 * sum(np.sin(2 * np.pi * 220.0 * r * t) for r in (1.0, 1.26, 1.5))
        hits = crng.standard_normal(len(t)) * np.exp(-30.0 * (t % 0.25)) * 0.3
        al = b + 0.8 * chord + 0.4 * hits + 1e-3 * crng.standard_normal(len(t))
        ar = b + 0.5 * chord + 0.7 * hits + 1e-3 * crng.standard_normal(len(t))
        refs[0, t0:t1, 0], refs[0, t0:t1, 1] = vl, vr
        refs[1, t0:t1, 0], refs[1, t0:t1, 1] = al, ar
        # estimates
        env = np.abs(v) + 0.05
        for ch, (vv, aa) in enumerate(((vl, al), (vr, ar))):
            ev = 0.9 * vv + 0.1 * aa + 0.02 * env * crng.standard_normal(len(t))
            ests[0, t0:t1, ch] = ev
            ests[1, t0:t1, ch] = vv + aa - ev
    return refs, ests


# --------------------------------------------------------------------------- #
# One backend (child process)
# --------------------------------------------------------------------------- #
def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def run_backend(backend: str, seconds: float, out: str | None) -> dict:
    refs, ests = synth_track(seconds)
    info = {"backend": backend, "seconds": seconds, "signals_mb": _maxrss_mb()}
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    if backend == "museval":
        import warnings

        import repet_bench  # noqa: F401  (puts ffmpeg on PATH: museval imports stempeg)

        import museval

        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = museval.evaluate(refs, ests, win=RATE, hop=RATE, mode="v4", padding=True)
        info["wall_s"] = time.perf_counter() - t
    else:
        from repet_bench.bsseval_fast import bss_eval_v4, reference_stats

        stats = None
        if backend == "fast-warm":
            t = time.perf_counter()
            stats = reference_stats(refs)
            info["stats_s"] = time.perf_counter() - t
            info["stats_mb"] = stats.nbytes / 2**20
        t = time.perf_counter()
        res = bss_eval_v4(refs, ests, win=RATE, hop=RATE, ref_stats=stats)
        info["wall_s"] = time.perf_counter() - t
    info["peak_mb"] = _maxrss_mb()
    if out:
        np.savez(out, *[np.asarray(r) for r in res])
        Path(out + ".json").write_text(json.dumps(info))
    return info


def _child(backend: str, seconds: float, tmp: str) -> tuple[dict, list[np.ndarray]]:
    out = os.path.join(tmp, f"{backend}-{seconds:g}.npz")
    cmd = [sys.executable, os.path.abspath(__file__), "--only", backend,
           "--durations", repr(seconds), "--out", out]
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{backend} child failed with exit code {proc.returncode}")
    info = json.loads(Path(out + ".json").read_text())
    info["peak_mb"] = usage.ru_maxrss / 1024.0
    with np.load(out) as z:
        res = [z[f"arr_{i}"] for i in range(4)]
    return info, res


def _maxdiff(a: list[np.ndarray], b: list[np.ndarray]) -> tuple[float, bool]:
    """Max |a - b| over values finite in both, and whether NaN/inf patterns agree."""
    worst, same_mask = 0.0, True
    for x, y in zip(a, b):
        same_mask &= bool(np.array_equal(np.isfinite(x), np.isfinite(y)))
        fin = np.isfinite(x) & np.isfinite(y)
        if fin.any():
            worst = max(worst, float(np.max(np.abs(x[fin] - y[fin]))))
    return worst, same_mask


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--durations", type=float, nargs="+", default=[204.0, 420.0],
                    help="track durations in seconds (default: 204 420)")
    ap.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    ap.add_argument("--only", choices=BACKENDS, help="run one backend in this process")
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.only:
        for d in args.durations:
            print(json.dumps(run_backend(args.only, d, args.out)), file=sys.stderr, flush=True)
        return 0

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_eval-") as tmp:
        for d in args.durations:
            got = {}
            for b in args.backends:
                print(f"[{d:g} s] {b} ...", file=sys.stderr, flush=True)
                got[b] = _child(b, d, tmp)
                print(f"[{d:g} s] {b}: {got[b][0]['wall_s']:.2f} s, "
                      f"peak {got[b][0]['peak_mb']:.0f} MB", file=sys.stderr, flush=True)
            rows.append((d, got))

    def cell(got, b, key, fmt):
        return fmt.format(got[b][0][key]) if b in got and key in got[b][0] else "-"

    print("\n| duration (s) | museval (s) | fast cold (s) | fast warm (s) | stats (s) "
          "| speed-up cold | speed-up warm | max abs diff (dB) | NaN/inf pattern |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for d, got in rows:
        ref = got.get("museval")
        line = [f"{d:g}", cell(got, "museval", "wall_s", "{:.2f}"),
                cell(got, "fast", "wall_s", "{:.2f}"), cell(got, "fast-warm", "wall_s", "{:.2f}"),
                cell(got, "fast-warm", "stats_s", "{:.2f}")]
        for b in ("fast", "fast-warm"):
            ok = ref is not None and b in got
            line.append(f"{ref[0]['wall_s'] / got[b][0]['wall_s']:.1f}x" if ok else "-")
        fast = got.get("fast") or got.get("fast-warm")
        if ref and fast:
            diff, same = _maxdiff(ref[1], fast[1])
            for other in ("fast", "fast-warm"):
                if other in got:
                    dd, ss = _maxdiff(ref[1], got[other][1])
                    diff, same = max(diff, dd), same and ss
            line += [f"{diff:.2e}", "same" if same else "DIFFERENT"]
        else:
            line += ["-", "-"]
        print("| " + " | ".join(line) + " |")

    print("\n| duration (s) | signals (MB) | museval peak (MB) | fast cold peak (MB) "
          "| fast warm peak (MB) | stats size (MB) | cold / museval | warm / museval |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for d, got in rows:
        any_b = next(iter(got.values()))[0]
        line = [f"{d:g}", f"{any_b['signals_mb']:.0f}", cell(got, "museval", "peak_mb", "{:.0f}"),
                cell(got, "fast", "peak_mb", "{:.0f}"), cell(got, "fast-warm", "peak_mb", "{:.0f}"),
                cell(got, "fast-warm", "stats_mb", "{:.0f}")]
        for b in ("fast", "fast-warm"):
            ok = "museval" in got and b in got
            line.append(f"{got[b][0]['peak_mb'] / got['museval'][0]['peak_mb']:.2f}" if ok else "-")
        print("| " + " | ".join(line) + " |")
    print("\nPeaks are each child's ru_maxrss (os.wait4), interpreter and signals included; "
          "'signals' is a child's peak right after synthesis.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
