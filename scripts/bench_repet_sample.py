"""REPET separation time on the real sample tiled to a full-length track, against a bare
STFT + iSTFT of the same audio, in one process (medians of 5 and per-pair ratios).

    python scripts/bench_repet_sample.py            # 180 s; REPET_BENCH_CACHE for the sample root
"""
import os
import time, statistics, numpy as np
import repet_bench
from repet_bench import data, separation
from repet_bench.stft import Stft
from types import SimpleNamespace as NS
cfg = NS(name='sample', root=None, is_wav=False, subsets=['test'], split=None, tracks=[], max_tracks=None, offset=0.0, duration=None, n_tracks=4, seed=0)
t = data.load_track(data.list_tracks(cfg, os.path.expanduser(os.environ.get('REPET_BENCH_CACHE', '~/.cache/repet_bench')))[0])
n = 180 * 44100
x = np.tile(t.mixture, (int(np.ceil(n / len(t.mixture))), 1))[:n]
A = {'name': 'repet', 'min_period': 0.8, 'max_period': 8.0, 'period': None, 'high_pass_cutoff': 100.0}
S = {'window_length': 2048, 'hop': 512, 'window': 'sqrt_hann'}
floor, rep = [], []
for _ in range(5):
    t0 = time.perf_counter(); st = Stft(); y = st.inverse(st.forward(x.astype(np.float32)), n); floor.append(time.perf_counter() - t0)
    t0 = time.perf_counter(); sep = separation.separate(x, 44100, A, S, {'name': 'soft'}, {'name': 'mixture'}); rep.append(time.perf_counter() - t0)
f, r = statistics.median(floor), statistics.median(rep)
print(f"STFT+iSTFT {f:.2f} s, REPET separation {r:.2f} s, ratio {r/f:.2f} (medians of 5, 180 s stereo), period {sep.info}")
print("pairwise ratios", [round(b/a, 2) for a, b in zip(floor, rep)])
