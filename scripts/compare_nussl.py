"""Real nussl 1.1.9 (Repet, RepetSim, FT2D at their defaults) against this harness's
``flavour=nussl`` REPET, REPET-SIM and 2DFT on a long track, scored with BSS Eval v4.

    REPET_BENCH_CACHE=/tmp/rbcache python scripts/compare_nussl.py \\
        --nussl-python /tmp/nussl119/bin/python

nussl 1.1.9 is not a dependency of repet_bench (it needs numpy < 2 and scipy < 1.13): it
runs in its own interpreter (``--nussl-python``, a venv holding ``nussl==1.1.9``), as a
subprocess that reads the mixture from and writes its masks and estimates to ``.npy``
files in a temporary folder. That worker is this same file (``--nussl-worker DIR``; it
imports nothing of repet_bench).

Test signal: the embedded MUSDB18 sample ("The Easton Ellises - Falcon 69", 6.08 s) tiled
to ``--seconds`` (200.5 s by default: not a whole number of tiles nor of hops), the vocals
and the accompaniment (drums + bass + other) each with its own random gain per tile
(uniform in +-``--gain-db`` dB), so the track is not perfectly periodic. The mixture is
their sum rounded to float32 (what ``nussl.AudioSignal(path)`` holds for a file: librosa
loads float32); both sides get that same float32 array.

nussl side: ``sep = Cls(nussl.AudioSignal(audio_data_array=..., sample_rate=44100))``,
``bg, fg = sep()`` (``run`` then ``make_audio_signals``: each mask applied to the mixture
STFT's magnitude with the mixture phase, each inverted by ``scipy.signal.istft``), with the
AudioSignal's default STFT (2048 / 512 / sqrt_hann).

Our side: ``repet_bench.separate.separate`` with conf/algo/{repet,repet_sim,ft2d}.yaml
(every key but ``defaults``), stft ``{2048, 512, sqrt_hann, nussl}``, soft masks, mixture
phase. Our background mask is rebuilt with the same calls ``separate`` makes (the
algorithm runs twice on our side; ``separate`` does not return its masks).

Scoring: ``repet_bench.bsseval_fast.bss_eval_v4`` (museval v4's numbers, 1 s windows and
hops, vocals and accompaniment together), the references' statistics computed once.
Printed: median over frames (NaN frames dropped) of SDR per target, nussl vs ours.
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

def build_track(seconds: float, gain_db: float, seed: int):
    """The sample's vocals and accompaniment tiled to ``seconds`` with a random gain per
    tile and stem; returns (mixture float32, references float64 dict)."""
    from types import SimpleNamespace

    from repet_bench import data

    cache = os.path.expanduser(os.environ.get("REPET_BENCH_CACHE", "~/.cache/repet_bench"))
    cfg = SimpleNamespace(name="sample", root=None, is_wav=False, subsets=["test"], split=None,
                          tracks=[], max_tracks=None, offset=0.0, duration=None)
    ref = data.list_tracks(cfg, cache)[0]
    stems = data._decode(ref)  # (5, samples, channels): mixture, drums, bass, other, vocals
    sources = {"vocals": stems[4], "accompaniment": stems[1] + stems[2] + stems[3]}
    n = int(round(seconds * RATE))
    tile = stems.shape[1]
    reps = -(-n // tile)
    rng = np.random.default_rng(seed)
    references = {}
    for name, source in sources.items():
        gains = 10 ** (rng.uniform(-gain_db, gain_db, reps) / 20)
        references[name] = np.concatenate([g * source for g in gains])[:n]
    mixture = (references["vocals"] + references["accompaniment"]).astype(np.float32)
    return ref.name, mixture, references, reps, tile


# --------------------------------------------------------------------------- our side

def algo_config(name: str) -> dict:
    import yaml

    cfg = yaml.safe_load((REPO / "conf" / "algo" / f"{name}.yaml").read_text())
    cfg.pop("defaults", None)
    return cfg


def ours(mixture: np.ndarray, algo: dict, stft_cfg: dict):
    """(estimates, info, background mask, frames) from this harness."""
    from repet_bench import masks
    from repet_bench.algorithms import Context, get_algorithm
    from repet_bench.separate import _SHARED_ALGO_KEYS, _params, separate
    from repet_bench.stft import Stft

    start = time.perf_counter()
    result = separate(mixture, RATE, algo, stft_cfg, {"name": "soft"}, {"name": "mixture"})
    seconds = time.perf_counter() - start
    # The background mask, by the calls separate() makes (soft mask, nussl high-pass).
    transform = Stft.from_config(stft_cfg, RATE)
    spec = transform.forward(mixture)
    models = get_algorithm(algo["name"]).fn(np.abs(spec), Context(transform, len(mixture)),
                                            **_params(algo, _SHARED_ALGO_KEYS))
    if models.background_mask is not None:
        bg, fg = masks.masks_from_background_mask("soft", models.background_mask, mixture=spec)
    else:
        bg, fg = masks.compute_masks("soft", models.background, models.foreground,
                                     mixture=spec, overwrite=True)
    masks.high_pass(bg, fg, masks.high_pass_rows(algo.get("high_pass_cutoff", 0.0), transform,
                                                 algo.get("flavour", "nussl")))
    return result.estimates, dict(result.info), bg, spec, seconds


# --------------------------------------------------------------------------- main

def median_sdr(stats, references, estimates):
    from repet_bench import bsseval_fast

    refs = np.stack([references["vocals"], references["accompaniment"]])
    est = np.stack([estimates["vocals"], estimates["accompaniment"]]).astype(np.float64)
    sdr = bsseval_fast.bss_eval_v4(refs, est, win=RATE, hop=RATE, ref_stats=stats)[0]
    return np.nanmedian(sdr, axis=1)  # (vocals, accompaniment)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nussl-python", default="/tmp/nussl119/bin/python")
    parser.add_argument("--seconds", type=float, default=200.5)
    parser.add_argument("--gain-db", type=float, default=1.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the .npy files here (default: a temporary folder)")
    parser.add_argument("--nussl-worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.nussl_worker is not None:
        nussl_worker(args.nussl_worker)
        return

    from repet_bench import bsseval_fast, data
    from repet_bench.stft import Stft

    data.ensure_ffmpeg()  # nussl imports musdb -> stempeg, which needs ffmpeg on PATH
    with tempfile.TemporaryDirectory(prefix="compare_nussl_") as tmp:
        folder = args.workdir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        name, mixture, references, reps, tile = build_track(args.seconds, args.gain_db, args.seed)
        n = len(mixture)
        print(f"track: '{name}' ({tile} samples) tiled x{reps} to {n} samples "
              f"({n / RATE:.2f} s), per-tile gains +-{args.gain_db} dB, seed {args.seed}")
        np.save(folder / "mixture.npy", mixture)
        start = time.perf_counter()
        subprocess.run([args.nussl_python, __file__, "--nussl-worker", str(folder)],
                       check=True, env=dict(os.environ))
        nussl_info = json.loads((folder / "nussl.json").read_text())
        print(f"nussl {nussl_info['nussl_version']} (numpy {nussl_info['numpy']}, scipy "
              f"{nussl_info['scipy']}): {time.perf_counter() - start:.0f} s; stft "
              f"{nussl_info['stft_params']} {nussl_info['stft_shape']} {nussl_info['stft_dtype']}")

        stft_cfg = {"window_length": 2048, "hop": 512, "window": "sqrt_hann", "convention": "nussl"}
        transform = Stft.from_config(stft_cfg, RATE)
        stats = bsseval_fast.reference_stats(
            np.stack([references["vocals"], references["accompaniment"]]))
        rows = []
        stft_line = None
        for key, cls_name in ALGOS:
            algo = algo_config(key)
            estimates, info, our_mask, spec, seconds = ours(mixture, algo, stft_cfg)
            if stft_line is None:
                theirs = np.load(folder / "nussl_stft.npy", mmap_mode="r")
                scale = float(transform._window.sum())  # scipy.signal.stft's 'spectrum' scaling
                rel = np.abs(np.asarray(theirs) * scale - spec).max() / np.abs(spec).max()
                stft_line = (f"ours: stft {list(spec.shape)} {spec.dtype} (n_frames "
                             f"{transform.n_frames(n)}); max |X_nussl*sum(win) - X_ours| / "
                             f"max|X| = {rel:.1e}")
                print(stft_line)
            del spec
            their_mask = np.load(folder / f"nussl_{key}_bgmask.npy")
            diff = np.abs(their_mask - our_mask)
            mask_max = float(diff.max())
            mask_p999 = float(np.quantile(diff, 0.999))
            rows_over = int(np.count_nonzero(diff.max(axis=(1, 2)) > 1e-3))
            del their_mask, diff, our_mask
            theirs = {t: np.load(folder / f"nussl_{key}_{t}.npy") for t in ("vocals", "accompaniment")}
            est_diff = max(float(np.abs(theirs[t].astype(np.float64) - estimates[t]).max())
                           for t in theirs)
            sdr_n = median_sdr(stats, references, theirs)
            sdr_o = median_sdr(stats, references, estimates)
            extra = ""
            if key == "repet":
                extra = (f"period nussl {nussl_info['repet_period_frames']} / ours "
                         f"{info.get('period_frames')} frames")
            rows.append((cls_name, sdr_n, sdr_o, mask_max, mask_p999, rows_over, est_diff,
                         nussl_info[key]["seconds"], seconds, extra))
            print(f"{cls_name}: done (ours {seconds:.1f} s)", flush=True)

    print()
    print("median SDR over 1 s frames (dB), BSS Eval v4 (bsseval_fast = museval v4)")
    print(f"{'algo':9s} {'target':6s} {'nussl':>8s} {'ours':>8s} {'ours-nussl':>10s}")
    for cls_name, sdr_n, sdr_o, *_ in rows:
        for i, target in enumerate(("vocals", "accomp")):
            print(f"{cls_name:9s} {target:6s} {sdr_n[i]:8.3f} {sdr_o[i]:8.3f} "
                  f"{sdr_o[i] - sdr_n[i]:+10.4f}")
    print()
    print(f"{'algo':9s} {'bgmask max|d|':>13s} {'99.9% |d|':>10s} {'rows>1e-3':>9s} "
          f"{'est max|d|':>10s} {'t nussl':>8s} {'t ours':>7s}")
    for cls_name, _, _, mmax, mp, ro, ed, tn, to, extra in rows:
        print(f"{cls_name:9s} {mmax:13.2e} {mp:10.2e} {ro:9d} {ed:10.2e} {tn:7.0f}s {to:6.0f}s"
              f"  {extra}")


if __name__ == "__main__":
    main()
