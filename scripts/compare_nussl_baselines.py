"""Real nussl 1.1.9 (RPCA, HPSS, HighLowPassFilter at their defaults) against this harness's
``flavour=nussl`` rpca, hpss and hplp on the embedded MUSDB18 sample.

    REPET_BENCH_CACHE=/tmp/rbcache python scripts/compare_nussl_baselines.py \\
        --nussl-python /tmp/nussl119/bin/python

nussl 1.1.9 runs in its own interpreter (the venv recipe is in scripts/compare_nussl.py's
docstring), as a subprocess of this same file (``--nussl-worker DIR``) that reads the
mixture from and writes its estimates to ``.npy`` files. Both sides get the same float32
mixture (what ``nussl.AudioSignal(path)`` holds for a file).

nussl side: ``bg, fg = Cls(nussl.AudioSignal(audio_data_array=..., sample_rate=44100))()``
(``HighLowPassFilter(signal, 100)``: [low, high]), the AudioSignal's default STFT
(2048 / 512 / sqrt_hann), each mask applied and inverted separately.
Ours: ``repet_bench.separate(mixture, 44100, name)`` (the nussl flavour, default STFT, soft
mask, mixture phase: the vocals inverted, the accompaniment the mixture minus them).

Printed per algorithm and target: waveform closeness of ours to nussl's estimate
(10 log10 |nussl|² / |nussl - ours|², dB) and museval's median SDR over 1 s frames of each.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

RATE = 44100
ALGOS = (("rpca", "RPCA"), ("hpss", "HPSS"), ("hplp", "HighLowPassFilter"))


def nussl_worker(folder: Path) -> None:
    """Run in the nussl 1.1.9 venv: separate ``mixture.npy`` with each algorithm."""
    import warnings

    warnings.filterwarnings("ignore")
    import nussl
    from nussl.separation.benchmark import HighLowPassFilter
    from nussl.separation.factorization import RPCA
    from nussl.separation.primitive import HPSS

    mixture = np.load(folder / "mixture.npy")  # (samples, channels) float32
    signal = nussl.AudioSignal(audio_data_array=mixture.T, sample_rate=RATE)
    report = {"nussl_version": nussl.__version__, "numpy": np.__version__}
    make = {"RPCA": lambda: RPCA(signal), "HPSS": lambda: HPSS(signal),
            "HighLowPassFilter": lambda: HighLowPassFilter(signal, 100)}
    for key, cls_name in ALGOS:
        start = time.perf_counter()
        background, foreground = make[cls_name]()()  # run() + make_audio_signals()
        report[key] = {"seconds": time.perf_counter() - start}
        np.save(folder / f"{key}_accompaniment.npy", background.audio_data.T)
        np.save(folder / f"{key}_vocals.npy", foreground.audio_data.T)
    (folder / "nussl.json").write_text(json.dumps(report, indent=1))


def closeness(reference: np.ndarray, estimate: np.ndarray) -> float:
    error = np.sum((reference - estimate) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(np.sum(reference ** 2) / error))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nussl-python", required=True, help="python of a nussl 1.1.9 venv")
    parser.add_argument("--nussl-worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.nussl_worker:
        nussl_worker(args.nussl_worker)
        return

    import repet_bench as rb
    from repet_bench import data

    data.ensure_ffmpeg()  # nussl imports musdb, which imports stempeg (ffmpeg on PATH)
    track = rb.load_track()
    mixture = track.mixture.astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        np.save(folder / "mixture.npy", mixture)
        subprocess.run([args.nussl_python, __file__, "--nussl-python", args.nussl_python,
                        "--nussl-worker", str(folder)], check=True, env=dict(os.environ))
        report = json.loads((folder / "nussl.json").read_text())
        nussl = {key: {t: np.load(folder / f"{key}_{t}.npy") for t in data.TARGETS}
                 for key, _ in ALGOS}
    print(f"nussl {report['nussl_version']} (numpy {report['numpy']}) on {track.ref.name}, "
          f"{mixture.shape[0] / RATE:.2f} s")
    print(f"{'algo':5} {'target':13} {'closeness':>10} {'nussl SDR':>10} {'ours SDR':>9} {'diff':>7}")
    for key, _ in ALGOS:
        ours = rb.separate(mixture, RATE, key).estimates
        theirs = nussl[key]
        s_theirs = rb.aggregate(rb.evaluate(track.references, theirs, RATE, backend="museval"))
        s_ours = rb.aggregate(rb.evaluate(track.references, ours, RATE, backend="museval"))
        for target in data.TARGETS:
            a, b = s_theirs.loc[target, "SDR"], s_ours.loc[target, "SDR"]
            print(f"{key:5} {target:13} {closeness(theirs[target], ours[target]):9.1f} dB "
                  f"{a:10.3f} {b:9.3f} {b - a:+7.3f}")


if __name__ == "__main__":
    main()
