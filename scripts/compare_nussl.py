"""Real nussl 1.1.9 (Repet, RepetSim, FT2D at their defaults) against this harness's
``flavour=nussl`` REPET, REPET-SIM and 2DFT on a long track, scored with BSS Eval v4.

    REPET_BENCH_CACHE=/tmp/rbcache python scripts/compare_nussl.py \\
        --nussl-python /tmp/nussl119/bin/python [--signal sample]

nussl 1.1.9 is not a dependency of repet_bench (it needs numpy < 2 and scipy < 1.13): it
runs in its own interpreter (``--nussl-python``, a venv holding ``nussl==1.1.9``), as a
subprocess that reads the mixture from and writes its masks and estimates to ``.npy``
files in a temporary folder. That worker is this same file (``--nussl-worker DIR``; it
imports nothing of repet_bench). A venv that imports it on Python 3.11 (soxbindings needs
libsox headers to build, but nussl falls back to ``sox``; nussl uses ``scipy.signal.hamming``
and ``np.bool``, gone in scipy 1.13 and numpy 1.24)::

    python3 -m venv /tmp/nussl119 && /tmp/nussl119/bin/pip install /opt/wheels/torch-*.whl \\
        jams librosa museval musdb pyyaml ffmpy pytorch-ignite tensorboard norbert tqdm \\
        termtables gpytorch ffmpeg-python importlib-resources sox pyloudnorm \\
        "numpy==1.23.5" "scipy<1.13" "numba<0.59" "pandas<2.3" "zarr<2.18" "numcodecs<0.13" \\
        "matplotlib<3.9" "contourpy<1.3" "scikit-learn<1.6"
    /tmp/nussl119/bin/pip install --no-deps nussl==1.1.9

ffmpeg must be on PATH for nussl's import (musdb -> stempeg): this script puts
repet_bench's ffmpeg there first (``data.ensure_ffmpeg``).

Test signal (``--signal``):
  * ``synthetic`` (default): scripts/make_long_root.py's first track, synthetic.specs(6)[0]
    (a 3.5 s drum/bass/chord loop under a non-repeating melody, 20 s), tiled to 204 s as
    make_long_root does (kept in float; no 16-bit wav round trip).
  * ``sample``: the embedded MUSDB18 sample ("The Easton Ellises - Falcon 69", 6.08 s =
    524 hops exactly), cut by ``--trim`` samples so its copies do not fall on the hop grid
    (exact copies on the grid make REPET-SIM's self-similarity tie with a copy's, which
    the two implementations break differently), tiled to 200.5 s, vocals and
    accompaniment each with its own random gain per tile (+-``--gain-db`` dB). Its
    vocals repeat with the tile, so REPET (period = the tile) leaves them in the
    background.
The mixture is the sum of the references rounded to float32 (what
``nussl.AudioSignal(path)`` holds for a file: librosa loads float32); both sides get that
same array.

nussl side: ``sep = Cls(nussl.AudioSignal(audio_data_array=..., sample_rate=44100))``,
``bg, fg = sep()`` (``run`` then ``make_audio_signals``: each mask applied to the mixture
STFT's magnitude with the mixture phase, each inverted by ``scipy.signal.istft``), with the
AudioSignal's default STFT (2048 / 512 / sqrt_hann).

Our side: ``repet_bench.separation.separate`` with conf/algo/{repet,repet_sim,ft2d}.yaml
(every key but ``defaults``), stft ``{2048, 512, sqrt_hann, nussl}``, soft masks, mixture
phase. Our background mask is rebuilt with the same calls ``separate`` makes (the
algorithm runs twice on our side; ``separate`` does not return its masks).

Scoring: ``repet_bench.bsseval_fast.bss_eval_v4`` (museval v4's numbers, 1 s windows and
hops, vocals and accompaniment together), the references' statistics computed once.
Printed: median over frames (NaN frames dropped, as museval's aggregation) of SDR per
target, nussl vs ours; background-mask differences (everywhere, and on bins within 60 dB
of the loudest), the number of STFT frames where they exceed 1e-3, the largest sample
difference between the estimates; REPET's period; REPET-SIM's similar-frame sets.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RATE = 44100
ALGOS = (("repet", "Repet"), ("repet_sim", "RepetSim"), ("ft2d", "FT2D"))
REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- nussl worker

def nussl_worker(folder: Path) -> None:
    """Run in the nussl 1.1.9 venv: separate ``mixture.npy`` with each algorithm."""
    import warnings

    warnings.filterwarnings("ignore")
    import nussl
    from nussl.separation.primitive import FT2D, Repet, RepetSim

    classes = {"Repet": Repet, "RepetSim": RepetSim, "FT2D": FT2D}
    mixture = np.load(folder / "mixture.npy")  # (samples, channels) float32
    signal = nussl.AudioSignal(audio_data_array=mixture.T, sample_rate=RATE)
    report = {"nussl_version": nussl.__version__, "numpy": np.__version__}
    import scipy

    report["scipy"] = scipy.__version__
    for key, cls_name in ALGOS:
        start = time.perf_counter()
        sep = classes[cls_name](signal)
        background, foreground = sep()  # run() + make_audio_signals(): [bg, fg]
        seconds = time.perf_counter() - start
        if key == "repet":
            report["stft_params"] = sep.stft_params._asdict()
            report["stft_shape"] = list(sep.stft.shape)
            report["stft_dtype"] = str(sep.stft.dtype)
            np.save(folder / "nussl_stft.npy", sep.stft)
            report["repet_period_frames"] = int(sep.repeating_period)
        if key == "repet_sim":
            picks = np.full((len(sep.similarity_indices), 99), -1, dtype=np.int64)
            for i, similar in enumerate(sep.similarity_indices):
                picks[i, :len(similar)] = similar
            np.save(folder / "nussl_repet_sim_picks.npy", picks)
        mask = sep.result_masks[0].mask
        report[key] = {"seconds": seconds, "mask_dtype": str(mask.dtype),
                       "audio_dtype": str(background.audio_data.dtype)}
        np.save(folder / f"nussl_{key}_bgmask.npy", mask)
        np.save(folder / f"nussl_{key}_accompaniment.npy", background.audio_data.T)
        np.save(folder / f"nussl_{key}_vocals.npy", foreground.audio_data.T)
        del sep, background, foreground, mask
        print(f"nussl {cls_name}: {seconds:.1f} s", file=sys.stderr, flush=True)
    (folder / "nussl.json").write_text(json.dumps(report, indent=1))


# --------------------------------------------------------------------------- test signal

def build_track(signal: str, seconds: float, gain_db: float, seed: int, trim: int):
    """(description, mixture float32 (samples, 2), references float64 dict)."""
    if signal == "synthetic":
        from repet_bench import synthetic

        spec = synthetic.specs(6)[0]  # scripts/make_long_root.py's first track
        stems = synthetic.render(spec)
        n = int(round(seconds * RATE))
        reps = -(-n // len(stems["vocals"]))
        tiled = {k: np.tile(v, (reps, 1))[:n] for k, v in stems.items()}
        references = {"vocals": tiled["vocals"],
                      "accompaniment": tiled["drums"] + tiled["bass"] + tiled["other"]}
        what = (f"synthetic '{spec.name}' ({spec.duration:g} s, loop {spec.period:g} s) tiled "
                f"x{reps} as scripts/make_long_root.py does")
    else:
        from types import SimpleNamespace

        from repet_bench import data

        cache = os.path.expanduser(os.environ.get("REPET_BENCH_CACHE", "~/.cache/repet_bench"))
        cfg = SimpleNamespace(name="sample", root=None, is_wav=False, subsets=["test"],
                              split=None, tracks=[], max_tracks=None, offset=0.0, duration=None)
        ref = data.list_tracks(cfg, cache)[0]
        stems = data._decode(ref)  # (5, samples, channels): mixture, drums, bass, other, vocals
        tile = stems.shape[1] - trim
        sources = {"vocals": stems[4, :tile], "accompaniment": stems[1:4, :tile].sum(axis=0)}
        n = int(round(seconds * RATE))
        reps = -(-n // tile)
        rng = np.random.default_rng(seed)
        references = {}
        for name, source in sources.items():
            gains = 10 ** (rng.uniform(-gain_db, gain_db, reps) / 20)
            references[name] = np.concatenate([g * source for g in gains])[:n]
        what = (f"sample '{ref.name}' cut to {tile} samples ({tile / 512:.2f} hops) tiled x{reps},"
                f" per-tile per-stem gains +-{gain_db:g} dB (seed {seed})")
    mixture = (references["vocals"] + references["accompaniment"]).astype(np.float32)
    return what, mixture, references


# --------------------------------------------------------------------------- our side

def algo_config(name: str) -> dict:
    import yaml

    cfg = yaml.safe_load((REPO / "conf" / "algo" / f"{name}.yaml").read_text())
    cfg.pop("defaults", None)
    return cfg


def ours(mixture: np.ndarray, algo: dict, stft_cfg: dict):
    """(estimates, info, background mask, mixture STFT, seconds, picks) from this harness."""
    from repet_bench import masks
    from repet_bench.algorithms import Context, get_algorithm
    from repet_bench.separation import _params, separate
    from repet_bench.stft import Stft

    start = time.perf_counter()
    result = separate(mixture, RATE, algo, stft_cfg, {"name": "soft"}, {"name": "mixture"})
    seconds = time.perf_counter() - start
    # The background mask, by the calls separate() makes (soft mask, nussl high-pass).
    transform = Stft.from_config(stft_cfg, RATE)
    spec = transform.forward(mixture)
    magnitude = np.abs(spec)
    params = _params(algo)
    models = get_algorithm(algo["name"])(magnitude, Context(transform, len(mixture)), **params)
    picks = None
    if algo["name"] == "repet_sim":
        from repet_bench.algorithms.repet_sim import similar_frames, zeroed_reach

        reach = zeroed_reach(params["min_distance_between_frames"], transform, params["flavour"])
        picks = similar_frames(magnitude, reach, params["max_repeating_frames"],
                               params["similarity_threshold"])[0]
    del magnitude
    if models.background_mask is not None:
        bg, fg = masks.masks_from_background_mask("soft", models.background_mask, mixture=spec)
    else:
        bg, fg = masks.compute_masks("soft", models.background, models.foreground,
                                     mixture=spec, overwrite=True)
    masks.high_pass(bg, fg, masks.high_pass_rows(algo.get("high_pass_cutoff", 0.0), transform,
                                                 algo.get("flavour", "nussl")))
    return result.estimates, dict(result.info), bg, spec, seconds, picks


# --------------------------------------------------------------------------- main

def median_sdr(stats, references, estimates):
    from repet_bench import bsseval_fast

    refs = np.stack([references["vocals"], references["accompaniment"]])
    est = np.stack([estimates["vocals"], estimates["accompaniment"]]).astype(np.float64)
    sdr = bsseval_fast.bss_eval_v4(refs, est, win=RATE, hop=RATE, ref_stats=stats)[0]
    return np.nanmedian(sdr, axis=1), int(np.isnan(sdr[0]).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nussl-python", default="/tmp/nussl119/bin/python")
    parser.add_argument("--signal", choices=("synthetic", "sample"), default="synthetic")
    parser.add_argument("--seconds", type=float, default=None,
                        help="track length (default 204 s synthetic, 200.5 s sample)")
    parser.add_argument("--gain-db", type=float, default=1.5, help="sample: per-tile gain range")
    parser.add_argument("--trim", type=int, default=300,
                        help="sample: samples cut from the 6.08 s excerpt before tiling, so "
                             "its copies do not fall on the hop grid (0: 524 hops exactly)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the .npy files here (default: a temporary folder)")
    parser.add_argument("--nussl-worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.nussl_worker is not None:
        nussl_worker(args.nussl_worker)
        return

    from repet_bench import bsseval_fast, data
    from repet_bench.config import option
    from repet_bench.stft import Stft

    seconds = args.seconds or (204.0 if args.signal == "synthetic" else 200.5)
    data.ensure_ffmpeg()  # nussl imports musdb -> stempeg, which needs ffmpeg on PATH
    with tempfile.TemporaryDirectory(prefix="compare_nussl_") as tmp:
        folder = args.workdir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        what, mixture, references = build_track(args.signal, seconds, args.gain_db, args.seed,
                                                args.trim)
        n = len(mixture)
        print(f"track: {what}; {n} samples ({n / RATE:.2f} s), mixture float32")
        np.save(folder / "mixture.npy", mixture)
        start = time.perf_counter()
        subprocess.run([args.nussl_python, __file__, "--nussl-worker", str(folder)],
                       check=True, env=dict(os.environ))
        info_n = json.loads((folder / "nussl.json").read_text())
        p = info_n["stft_params"]
        print(f"nussl {info_n['nussl_version']} (numpy {info_n['numpy']}, scipy {info_n['scipy']},"
              f" {time.perf_counter() - start:.0f} s): STFT {p['window_length']}/"
              f"{p['hop_length']}/{p['window_type']}, shape {info_n['stft_shape']} "
              f"{info_n['stft_dtype']}")

        stft_cfg = option("stft")
        transform = Stft.from_config(stft_cfg, RATE)
        stats = bsseval_fast.reference_stats(
            np.stack([references["vocals"], references["accompaniment"]]))
        rows = []
        for key, cls_name in ALGOS:
            algo = algo_config(key)
            estimates, info, our_mask, spec, secs, picks = ours(mixture, algo, stft_cfg)
            magnitude = np.abs(spec)
            if key == "repet":
                theirs = np.load(folder / "nussl_stft.npy")
                # scipy.signal.stft scales by 1 / sum(window) ('spectrum') and puts phase 0 at
                # the frame start; ShortTimeFFT is unscaled with phase 0 at the frame centre.
                scale = float(transform._window.sum())
                sign = ((-1.0) ** np.arange(spec.shape[0]))[:, None, None]
                rel = np.abs(theirs * (scale * sign) - spec).max() / magnitude.max()
                print(f"ours: STFT shape {list(spec.shape)} {spec.dtype} (n_frames(n) = "
                      f"{transform.n_frames(n)}); max|X_nussl * sum(win) * (-1)^k - X_ours| / "
                      f"max|X| = {rel:.1e}")
                del theirs
            del spec
            loud = magnitude >= magnitude.max() * 1e-3  # bins within 60 dB of the loudest
            del magnitude
            their_mask = np.load(folder / f"nussl_{key}_bgmask.npy")
            diff = np.abs(their_mask - our_mask)
            mask_max, mask_loud = float(diff.max()), float(diff[loud].max())
            frames_over = int(np.count_nonzero((diff > 1e-3).any(axis=(0, 2))))
            del their_mask, diff, our_mask, loud
            theirs = {t: np.load(folder / f"nussl_{key}_{t}.npy") for t in ("vocals", "accompaniment")}
            est_diff = max(float(np.abs(theirs[t].astype(np.float64) - estimates[t]).max())
                           for t in theirs)
            sdr_n, nan_n = median_sdr(stats, references, theirs)
            sdr_o, nan_o = median_sdr(stats, references, estimates)
            if key == "repet":
                extra = (f"period {info_n['repet_period_frames']} / {info.get('period_frames')}"
                         " frames")
            elif key == "repet_sim":
                nussl_picks = np.load(folder / "nussl_repet_sim_picks.npy")
                same = sum(set(a[a >= 0].tolist()) == set(b[b >= 0].tolist())
                           for a, b in zip(picks, nussl_picks))
                extra = f"similar-frame sets differ in {len(picks) - same} of {len(picks)} frames"
            else:
                extra = ""
            rows.append((cls_name, sdr_n, sdr_o, nan_n, nan_o, mask_max, mask_loud, frames_over,
                         est_diff, info_n[key]["seconds"], secs, extra))
            print(f"{cls_name}: done (ours {secs:.1f} s)", flush=True)

    print()
    print("median SDR over 1 s frames (dB; NaN frames dropped), BSS Eval v4 via bsseval_fast")
    print(f"{'algo':9s} {'target':6s} {'nussl':>8s} {'ours':>8s} {'ours-nussl':>10s} "
          f"{'NaN frames n/o':>14s}")
    for cls_name, sdr_n, sdr_o, nan_n, nan_o, *_ in rows:
        for i, target in enumerate(("vocals", "accomp")):
            print(f"{cls_name:9s} {target:6s} {sdr_n[i]:8.3f} {sdr_o[i]:8.3f} "
                  f"{sdr_o[i] - sdr_n[i]:+10.4f} {nan_n:>7d}/{nan_o:<6d}")
    print()
    print("background masks and estimates, nussl vs ours (|d| = absolute difference)")
    print(f"{'algo':9s} {'mask max|d|':>11s} {'>-60dB':>9s} {'frames>1e-3':>11s} "
          f"{'est max|d|':>10s} {'t nussl':>7s} {'t ours':>6s}")
    for cls_name, *_, mmax, mloud, fo, ed, tn, to, extra in rows:
        print(f"{cls_name:9s} {mmax:11.2e} {mloud:9.2e} {fo:11d} {ed:10.2e} {tn:6.0f}s {to:5.0f}s"
              f"  {extra}")


if __name__ == "__main__":
    main()
