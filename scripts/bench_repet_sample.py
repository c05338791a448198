"""REPET separation time on the real sample tiled to a full-length track, against a bare
STFT + iSTFT of the same audio, in one process (medians of 5 and per-pair ratios).

    python scripts/bench_repet_sample.py            # 180 s; REPET_BENCH_CACHE for the sample root
"""

import os
import statistics
import time

import numpy as np

from repet_bench import data, separation
from repet_bench.config import option
from repet_bench.stft import Stft

SECONDS = 180
RUNS = 5


def main() -> None:
    cache = os.path.expanduser(os.environ.get("REPET_BENCH_CACHE", "~/.cache/repet_bench"))
    dataset = type("Dataset", (), option("dataset", "sample"))
    track = data.load_track(data.list_tracks(dataset, cache)[0])
    n = SECONDS * data.RATE
    x = np.tile(track.mixture, (int(np.ceil(n / len(track.mixture))), 1))[:n]
    algo, stft = option("algo", "repet"), option("stft", None)
    floor, rep = [], []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        transform = Stft()
        transform.inverse(transform.forward(x.astype(np.float32)), n)
        floor.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        sep = separation.separate(x, data.RATE, algo, stft, {"name": "soft"}, {"name": "mixture"})
        rep.append(time.perf_counter() - t0)
    f, r = statistics.median(floor), statistics.median(rep)
    print(f"STFT+iSTFT {f:.2f} s, REPET separation {r:.2f} s, ratio {r / f:.2f} (medians of "
          f"{RUNS}, {SECONDS} s stereo), period {sep.info}")
    print("pairwise ratios", [round(b / a, 2) for a, b in zip(floor, rep)])


if __name__ == "__main__":
    main()
