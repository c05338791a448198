#!/usr/bin/env python
"""Predicted cost of the presets on the full MUSDB18 test set, from the measured cost model.

MUSDB18 is not on this machine, so the dry run cannot read its track lengths; they are
taken from the published SiSEC 2018 per-track figures (``repet_bench/reference/``: one
museval frame per second of audio, 50 test tracks, 12 439 s in all). Each preset's points
are composed as the command line composes them (``dataset=musdb18``: ``.stem.mp4``
decoding, ``dataset.decode_cache=true`` as the presets set it) and predicted with
:func:`repet_bench.costs.predict`, shared and point by point, on 2 and 16 workers (16:
assuming memory for each; ``runner.n_jobs=auto`` may give fewer for museval's ~8.7 GB per
7-minute track).

    python scripts/predict_musdb18.py
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from repet_bench import costs
from repet_bench.config import register_configs

REFERENCE = Path(__file__).resolve().parent.parent / "repet_bench" / "reference" / "sisec18_pertrack.csv"
PRESETS = {
    "sisec18": ("+experiment=sisec18", {"+algo": ["repet", "repet_sim", "ft2d", "mix"],
                                        "algo.flavour": ["sisec18"]}),
    "compare_strategies": ("+experiment=compare_strategies", {
        "+algo": ["repet", "repet_sim", "ft2d", "oracle"], "mask": ["soft", "binary", "wiener"],
        "phase": ["mixture", "none", "griffin_lim"]}),
}


def test_set_seconds() -> list[float]:
    table = pd.read_csv(REFERENCE)
    rows = table[(table.method == "REP1") & (table.target == "vocals") & (table.metric == "SDR")]
    return [float(n) for n in rows.n_frames]


def jobs(preset: str) -> list[dict]:
    experiment, grid = PRESETS[preset]
    out = []
    with initialize_config_module("repet_bench.conf", version_base="1.3"):
        for values in itertools.product(*grid.values()):
            overrides = [experiment, "dataset=musdb18", *(f"{k}={v}" for k, v in zip(grid, values))]
            out.append(OmegaConf.to_container(compose("config", overrides=overrides), resolve=True))
    return out


def main() -> None:
    register_configs()
    seconds = test_set_seconds()
    m = costs.model()
    print(f"{len(seconds)} tracks, {sum(seconds):.0f} s of audio; cost model measured "
          f"{m['measured']} on {m['machine']}\n")
    print("| preset | points | workers | shared sweep | point by point |")
    print("|---|---:|---:|---:|---:|")
    for preset in PRESETS:
        points = jobs(preset)
        for n_jobs in (2, 16):
            shared = costs.predict(points, seconds, n_jobs, shared=True)
            basic = costs.predict(points, seconds, n_jobs, shared=False)
            print(f"| {preset} | {len(points)} | {n_jobs} | {shared.wall / 3600:.1f} h "
                  f"({shared.work / 3600:.1f} core-h) | {basic.wall / 3600:.1f} h "
                  f"({basic.work / 3600:.1f} core-h) |")


if __name__ == "__main__":
    main()
