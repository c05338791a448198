"""Stored per-frame museval scores and whole-track metrics on the real sample: every number
the leaderboard publishes.

Each configuration a user runs (every algorithm in both flavours, the oracles, the mixture)
is composed from the shipped Hydra configs exactly as the command line composes it,
separated and scored with museval on the embedded MUSDB18 sample, as the runner does. The
scores are stored in ``tests/data/stored_scores.csv``; ``tests/test_stored_scores.py``
compares a fresh computation with them at 0.01 dB, so a silent drift fails a test.
Changing them is a deliberate act: ``python scripts/update_stored_scores.py`` rewrites the
file and the diff shows in review.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from repet_bench import data, evaluation
from repet_bench.separation import separate
from configs import compose_cfg, composed

STORE = Path(__file__).parent / "data" / "stored_scores.csv"
TOLERANCE_DB = 0.01

_SISEC18 = ["+experiment=sisec18", "algo.flavour=sisec18"]
# name -> the command-line overrides of that configuration
CONFIGURATIONS = {
    "repet": ["+algo=repet"],
    "repet_sim": ["+algo=repet_sim"],
    "ft2d": ["+algo=ft2d"],
    "rpca": ["+algo=rpca"],
    "hpss": ["+algo=hpss"],
    "hplp": ["+algo=hplp"],
    "adaptive_repet": ["+algo=adaptive_repet"],
    "repet_extended": ["+algo=repet_extended"],
    "repet sisec18": ["+algo=repet", *_SISEC18],
    "repet_sim sisec18": ["+algo=repet_sim", *_SISEC18],
    "ft2d sisec18": ["+algo=ft2d", *_SISEC18],
    "ibm": ["+algo=ibm"],
    "irm": ["+algo=irm"],
    "irm wiener": ["+algo=irm", "mask=wiener"],
    "mix": ["+algo=mix"],
    # the phase strategies with iterations of their own (compare_strategies' grid)
    "repet griffin_lim": ["+algo=repet", "phase=griffin_lim"],
    "repet fast_griffin_lim": ["+algo=repet", "phase=fast_griffin_lim"],
    "mix sisec18": ["+algo=mix", *_SISEC18],
    "rpca sisec18": ["+algo=rpca", *_SISEC18],
    "hpss sisec18": ["+algo=hpss", *_SISEC18],
    "hplp sisec18": ["+algo=hplp", *_SISEC18],
    **{f"sigsep {m}": [f"+algo=sigsep_{m.lower()}", *_SISEC18]
       for m in ("IBM1", "IBM2", "IRM1", "IRM2", "MWF")},
    # REPET-Python's functions (scripts/compare_rafii.py compares them with his code)
    **{f"{n} rafii": ["+experiment=rafii", f"+algo={n}", "algo.flavour=rafii"]
       for n in ("repet", "repet_extended", "adaptive_repet", "repet_sim", "repet_sim_online")},
    # simonline's default 10 s buffer holds the whole 6 s sample, so nothing is separated:
    # a 4 s buffer separates its last 2 s
    "repet_sim_online rafii buffer 4 s": ["+experiment=rafii", "+algo=repet_sim_online",
                                          "algo.buffer_length=4.0"],
}
COLUMNS = ["configuration", "target", "metric", "frame", "score"]


def sample_track():
    """The embedded sample as the default config's ``dataset=sample`` loads it."""
    cfg = compose_cfg("+algo=mix")
    return data.load_track(data.list_tracks(cfg.dataset, Path(cfg.paths.cache).expanduser())[0])


def compute(name: str, track) -> pd.DataFrame:
    """Per-frame museval scores of configuration ``name`` on ``track`` (a ``TrackAudio``)."""
    cfg = composed(*CONFIGURATIONS[name])
    result = separate(track.mixture, track.rate, cfg["algo"], cfg["stft"], cfg["mask"],
                      cfg["phase"], references=track.references, sources=track.sources)
    scores = evaluation.evaluate_track(track.ref.name, track.references, result.estimates,
                                     track.rate, cfg["eval"]["win"], cfg["eval"]["hop"],
                                     cfg["eval"]["backend"])
    rows = [(name, target["name"], metric, frame, entry["metrics"][metric])
            for target in json.loads(scores.json)["targets"]
            for frame, entry in enumerate(target["frames"])
            for metric in evaluation.METRICS]
    # The whole-track metrics (song-level nSDR, SI-SDR/SIR/SAR): one value, frame 0.
    whole = evaluation.whole_track(track.references, result.estimates)
    rows += [(name, target, metric, 0, value) for target, values in whole.items()
             for metric, value in values.items()]
    return pd.DataFrame(rows, columns=COLUMNS)


def compute_all(track) -> pd.DataFrame:
    return pd.concat([compute(name, track) for name in CONFIGURATIONS], ignore_index=True)


def load() -> pd.DataFrame:
    return pd.read_csv(STORE)
