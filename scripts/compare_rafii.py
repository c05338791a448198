"""The ``rafii`` flavour against Z. Rafii's REPET-Python itself, on real audio.

    git clone https://github.com/zafarrafii/REPET-Python && git -C REPET-Python checkout 9d33c1e
    python scripts/compare_rafii.py REPET-Python/repet.py

For each of his five functions (original, extended, adaptive, sim, simonline) and its
counterpart here (``+algo=<name> algo.flavour=rafii`` at the packaged defaults, through
:func:`repet_bench.separate`), on the embedded MUSDB18 sample (6.08 s) and on the sample
tiled to 30 s (so that ``extended`` has five segments, ``adaptive`` several beat-spectrogram
windows and ``simonline`` separates 20 s after its 10 s buffer): the waveform closeness
``10 log10(|his|^2 / |his - ours|^2)`` of each estimate, and the median over 1 s frames of
museval v4's vocals / accompaniment SDR of both. Wanted: closeness >= 30 dB, medians within
0.05 dB (tests/test_stored_scores.py keeps the sample's medians).

His code runs unchanged but for two things, said in the output:
  * ``scipy.signal.hamming`` and ``scipy.signal.triang`` are ``scipy.signal.windows``'
    (SciPy 1.13 removed the aliases; the functions are the same);
  * where his code fails, the documented deviation of the flavour
    (repet_bench.algorithms.rafii): in ``sim`` a frame without similar frames takes itself
    (his code gives that frame a NaN median, NaN on the sample); ``simonline`` on
    a signal shorter than its buffer raises in his code, so only the 30 s signal is compared.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np
import scipy.signal
import scipy.signal.windows

from repet_bench import evaluation, separate

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from stored_scores import sample_track  # noqa: E402

OURS = {"original": "repet", "extended": "repet_extended", "adaptive": "adaptive_repet",
        "sim": "repet_sim", "simonline": "repet_sim_online"}
# (his function, ours, parameters over both defaults): simonline also with a 4 s buffer, so
# that it separates something of the 6 s sample (his module-level buffer_length set too).
CASES = [*((f, n, {}) for f, n in OURS.items()),
         ("simonline", "repet_sim_online", {"buffer_length": 4.0})]


def load_his(path: Path):
    """His repet.py as a module, with the two window aliases SciPy removed."""
    scipy.signal.hamming = scipy.signal.windows.hamming
    scipy.signal.triang = scipy.signal.windows.triang
    spec = importlib.util.spec_from_file_location("repet_python", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def with_silent_frame_fix(his):
    """His ``sim`` and ``simonline`` with the flavour's deviation: a frame with no similar
    frame (his NaN median) takes itself. His NaN similarities are left as they are."""
    indices = his._indices

    def with_self(*args):
        return [p if len(p) else np.array([i]) for i, p in enumerate(indices(*args))]

    his._indices = with_self


def closeness(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference ** 2) / np.sum((reference - estimate) ** 2)))


def medians(name, references, estimates, rate) -> tuple[float, float]:
    """Median over 1 s frames of museval v4's SDR, vocals and accompaniment."""
    scores = evaluation.evaluate_track(name, references, estimates, rate, 1.0, 1.0, "museval")
    sdr = {t["name"]: np.nanmedian([f["metrics"]["SDR"] for f in t["frames"]])
           for t in json.loads(scores.json)["targets"]}
    return sdr["vocals"], sdr["accompaniment"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repet_py", type=Path, help="REPET-Python's repet.py at commit 9d33c1e")
    parser.add_argument("--tiles", type=int, nargs="+", default=[1, 5],
                        help="copies of the 6.08 s sample to compare on (default 1 5: 6 s and "
                             "30 s; 30 gives a 3-minute track for timings)")
    args = parser.parse_args()
    his = load_his(args.repet_py)
    with_silent_frame_fix(his)
    track = sample_track()
    rate = track.rate
    print(f"{'function':10} {'audio':6} {'closeness voc/acc (dB)':>24} "
          f"{'his SDR voc/acc':>17} {'ours SDR voc/acc':>17} {'his s':>6} {'ours s':>6}")
    for tiles in args.tiles:
        label = f"{tiles * len(track.mixture) / rate:.0f} s"
        mixture = np.tile(track.mixture, (tiles, 1)).astype(np.float64)
        references = {k: np.tile(v, (tiles, 1)) for k, v in track.references.items()}
        for function, name, params in CASES:
            his.buffer_length = params.get("buffer_length", 10)
            start = time.perf_counter()
            try:
                background = getattr(his, function)(mixture, rate)
            except ValueError as exc:
                print(f"{function:10} {label:6} his code raises: {exc}"[:100])
                continue
            his_seconds = time.perf_counter() - start
            his_estimates = {"vocals": mixture - background, "accompaniment": background}
            start = time.perf_counter()
            ours = separate(mixture, algo=name, flavour="rafii", **params).estimates
            our_seconds = time.perf_counter() - start
            close = [closeness(his_estimates[t], ours[t]) for t in ("vocals", "accompaniment")]
            his_sdr = medians(track.ref.name, references, his_estimates, rate)
            our_sdr = medians(track.ref.name, references, ours, rate)
            function += " (buffer 4 s)" if params else ""
            print(f"{function:10} {label:6} {close[0]:11.1f} / {close[1]:6.1f}  "
                  f"{his_sdr[0]:7.3f} / {his_sdr[1]:6.3f} {our_sdr[0]:7.3f} / {our_sdr[1]:6.3f} "
                  f"{his_seconds:6.2f} {our_seconds:6.2f}")


if __name__ == "__main__":
    main()
