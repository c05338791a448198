"""The published SiSEC 2018 figures, which runs reproduce an entry, and the paired comparison.

``results/reference/`` holds the published medians (``sisec18_summary.csv``) and per-track
figures (``sisec18_pertrack.csv``) of the MUSDB18 test set (50 tracks). A run is compared
track by track with an entry only when it was made as that entry was
(:func:`sisec18_entry`); every run is labelled with whose code made its numbers
(:func:`implementation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .config import option
from .data import TARGETS
from .results import BOARD_COLUMNS, Group
from .stats import ALPHA, SEED, median_ci, paired_wilcoxon, track_scores


REFERENCE_METHODS = ("REP1", "REP2", "2DFT", "IBM1", "IBM2", "IRM1", "IRM2", "MWF", "MIX")
# Our algorithm → the SiSEC 2018 entry it reproduces when run as that entry was made
# (nussl 0.1.6a0's flavour and STFT at their defaults, soft mask, mixture phase, BSS Eval
# v4 on 1 s frames; see `sisec18_entry`). The oracles have no such counterpart: SiSEC's
# came from sigsep-mus-oracle (four-source masks, scipy's Hann 2048 / hop 1024 STFT); ours
# are two-target masks on the run's STFT (on the sample: IRM +0.5 to +0.8 dB, IBM +1.8 to
# +6.3 dB above sigsep-mus-oracle's rules; scripts/compare_oracles.py).


REFERENCE_MATCH = {"repet": "REP1", "repet_sim": "REP2", "ft2d": "2DFT", "mix": "MIX"}


IMPLEMENTATIONS = {
    "sisec18": "nussl 0.1.6a0 (the SiSEC 2018 code)",
    "sisec18-stft": "nussl 0.1.6a0 algorithm, another STFT (not the SiSEC 2018 code)",
    "nussl": "nussl 1.1.9 (not the SiSEC 2018 code)",
    "oracle": "two-target oracle on the run's STFT (not sigsep-mus-oracle)",
    "rafii": "Rafii's REPET reference code (no SiSEC 2018 entry)",
    "mix": "the mixture",
    "estimates": "precomputed estimates (algo.root)",
}


REFERENCE_TITLE = ("Published: SiSEC 2018, full MUSDB18 test set (50 tracks) — "
                   "not comparable to runs on other tracks")
# Dataset keys that only choose which tracks (the scored track set says that) or where
# files live; every other dataset key (name, excerpt, generator seed...) changes the audio.


def implementation(config: dict) -> str:
    """Whose code a run's numbers come from, as the leaderboard shows it (IMPLEMENTATIONS)."""
    algo = config["algo"]
    name = algo["name"]
    if name in ("mix", "estimates"):
        return IMPLEMENTATIONS[name]
    if name == "oracle":
        return IMPLEMENTATIONS["oracle"]
    if name in ("adaptive_repet", "repet_extended"):
        return IMPLEMENTATIONS["rafii"]
    if algo.get("flavour") == "sisec18":
        return IMPLEMENTATIONS["sisec18" if sisec18_entry(config) else "sisec18-stft"]
    return IMPLEMENTATIONS["nussl"]


def sisec18_entry(config: dict) -> str | None:
    """The SiSEC 2018 entry a run reproduces (REP1, REP2, 2DFT, MIX), or None.

    A run reproduces an entry when it was made as the entry was: the algorithm in the
    ``sisec18`` flavour with every other parameter at its default, nussl 0.1.6a0's STFT
    (``stft=nussl2018``), soft mask, mixture phase, BSS Eval v4 on 1 s windows and hops
    (museval, or the fast backend, which gives museval's numbers). The mixture (MIX) is
    the same whatever the flavour.
    """
    name = config["algo"]["name"]
    entry = REFERENCE_MATCH.get(name)
    evaluation = config.get("eval", {})
    if entry is None or (evaluation.get("win"), evaluation.get("hop")) != (1.0, 1.0):
        return None
    if name == "mix":
        return entry
    made_as_entry = (
        config["algo"] == {**option("algo", name), "flavour": "sisec18"}
        and config.get("stft") == option("stft", "nussl2018")
        and config.get("mask") == {"name": "soft"}
        and config.get("phase") == {"name": "mixture"})
    return entry if made_as_entry else None


def find_reference_dir() -> Path | None:
    """The repo's ``results/reference`` (beside the package in a source checkout)."""
    path = Path(__file__).resolve().parent.parent / "results" / "reference"
    return path if (path / "sisec18_summary.csv").exists() else None


@dataclass
class Reference:
    """Published SiSEC 2018 figures (MUSDB18 test set, 50 tracks)."""

    summary: pd.DataFrame    # method, target, metric, n_tracks, median_over_tracks, ...
    per_track: pd.DataFrame  # tidy like ``collect``'s per_track: config = method name

    @property
    def track_names(self) -> set[str]:
        return set(self.per_track["track"])


def load_reference(directory: Path | None) -> Reference | None:
    """Read ``sisec18_summary.csv`` and ``sisec18_pertrack.csv``; None if absent."""
    if directory is None:
        return None
    directory = Path(directory)
    try:
        summary = pd.read_csv(directory / "sisec18_summary.csv")
        raw = pd.read_csv(directory / "sisec18_pertrack.csv")
    except FileNotFoundError:
        return None
    per_track = raw.rename(columns={"method": "config", "median_over_frames": "score"})
    per_track = per_track.assign(subset="test")[
        ["config", "subset", "track", "target", "metric", "score"]]
    keep = per_track["config"].isin(REFERENCE_METHODS) & per_track["target"].isin(TARGETS)
    return Reference(summary, per_track[keep].reset_index(drop=True))


def reference_table(reference: Reference, seed: int = SEED) -> pd.DataFrame:
    """Published medians (from the summary CSV) in the leaderboard's columns, with CIs."""
    summary = reference.summary[reference.summary["method"].isin(REFERENCE_METHODS)
                                & reference.summary["target"].isin(TARGETS)]
    table = (summary.assign(column=summary["target"] + "_" + summary["metric"])
             .pivot_table(index="method", columns="column", values="median_over_tracks")
             .reindex(columns=BOARD_COLUMNS))
    table["n_tracks"] = summary.groupby("method")["n_tracks"].max()
    table = table.reset_index().rename(columns={"method": "config"})
    table = table.sort_values("vocals_SDR", ascending=False, ignore_index=True)
    for target in TARGETS:
        cis = [median_ci(track_scores(reference.per_track, m, target), seed)
               for m in table["config"]]
        table[f"{target}_SDR_ci_low"], table[f"{target}_SDR_ci_high"] = zip(*cis)
    return table


def covers_reference(group: Group, reference: Reference | None) -> bool:
    """True when a group scored exactly SiSEC's 50 test tracks, full length."""
    return (reference is not None and group.full_length
            and group.track_names == reference.track_names)


def reference_comparison(per_track: pd.DataFrame, runs: pd.DataFrame,
                         reference: Reference) -> pd.DataFrame:
    """Per-track paired SDR comparison of each configuration with its SiSEC 2018 entry.

    Parameters
    ----------
    per_track : DataFrame
        Tidy per-track medians of one group covering the SiSEC test tracks.
    runs : DataFrame
        ``collect``'s runs table (for each configuration's algorithm name).

    Returns
    -------
    DataFrame
        ``config, reference, target, n, median_diff`` (ours − published, dB), ``p``,
        ``significant``; empty when no configuration reproduces a SiSEC entry
        (:func:`sisec18_entry`).
    """
    entry_of = runs[runs["ranked"]].drop_duplicates("config").set_index("config")["sisec18_entry"]
    rows = []
    for config in per_track["config"].unique():
        method = entry_of[config]
        if pd.notna(method):  # only a run made as the entry was: other flavours are other code
            for target in TARGETS:
                ours = track_scores(per_track, config, target).droplevel("subset")
                theirs = track_scores(reference.per_track, method, target).droplevel("subset")
                n, diff, p = paired_wilcoxon(ours, theirs)
                rows.append({"config": config, "reference": method, "target": target,
                             "n": n, "median_diff": diff, "p": p, "significant": p < ALPHA})
    return pd.DataFrame(rows, columns=["config", "reference", "target", "n", "median_diff",
                                       "p", "significant"])
