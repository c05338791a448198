"""The published SiSEC 2018 figures, which runs reproduce an entry, and the paired comparison.

``repet_bench/reference/`` holds the published medians (``sisec18_summary.csv``) and per-track
figures (``sisec18_pertrack.csv``) of the MUSDB18 test set (50 tracks). A run is compared
track by track with an entry only when it was made as that entry was
(:func:`sisec18_entry`); every run is labelled with whose code made its numbers
(:func:`implementation`).
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .algorithms import ALGORITHMS, Algorithm, uses_strategies
from .config import option
from .data import TARGETS
from .results import BOARD_COLUMNS, Group
from .stats import ALPHA, SEED, median_ci, paired_wilcoxon, track_scores


REFERENCE_METHODS = ("REP1", "REP2", "2DFT", "RPCA", "HPSS", "HPLP", "MELO",
                     "IBM1", "IBM2", "IRM1", "IRM2", "MWF", "MIX")
"""The published rows the leaderboard prints: the nussl team's blind entries, the
oracles and the mixture (``repet_bench/reference/``; the whole field is in FIELD_FILE)."""

# Our algorithm → the SiSEC 2018 entry it reproduces when run as that entry was made
# (nussl 0.1.6a0's flavour and STFT at their defaults, soft mask, mixture phase, BSS Eval
# v4 on 1 s frames; see `sisec18_entry`). sigsep_oracle's entry is its `method`: it
# reproduces sigsep-mus-oracle, which made them (the two-target `oracle` does not: on the
# sample IRM +0.5 to +0.8 dB, IBM +1.8 to +6.3 dB above SiSEC's rules;
# scripts/compare_oracles.py).
REFERENCE_MATCH = {"repet": "REP1", "repet_sim": "REP2", "ft2d": "2DFT", "rpca": "RPCA",
                   "hpss": "HPSS", "hplp": "HPLP", "mix": "MIX"}


IMPLEMENTATIONS = {
    "sisec18": "nussl 0.1.6a0 (the SiSEC 2018 code)",
    "sisec18-stft": "nussl 0.1.6a0 algorithm, another STFT (not the SiSEC 2018 code)",
    "nussl": "nussl 1.1.9 (not the SiSEC 2018 code)",
    "oracle": "two-target oracle on the run's STFT (not sigsep-mus-oracle)",
    "sigsep_oracle": "sigsep-mus-oracle f5ce674 (the SiSEC 2018 code)",
    "sigsep_oracle-other": "sigsep-mus-oracle rule, other parameters (not the SiSEC 2018 code)",
    "rafii": "REPET-Python 9d33c1e, Z. Rafii's own code (no SiSEC 2018 entry)",
    "variant": "repet_bench's variant on nussl 1.1.9's conventions (not Rafii's code: "
               "algo.flavour=rafii)",
    "mix": "the mixture (not SiSEC 2018's MIX: that is mix in the sisec18 flavour)",
    "mix-sisec18": "sigsep-mus-oracle f5ce674 MIX (the SiSEC 2018 code)",
    "estimates": "precomputed estimates (algo.root)",
}


# entry -> (whose code, how to run it here). The one place that says which published row has
# a runnable counterpart; the report's published table and the README's table show it.
COUNTERPARTS = {
    "REP1": ("nussl 0.1.6a0", "+algo=repet algo.flavour=sisec18 stft=nussl2018"),
    "REP2": ("nussl 0.1.6a0", "+algo=repet_sim algo.flavour=sisec18 stft=nussl2018"),
    "2DFT": ("nussl 0.1.6a0", "+algo=ft2d algo.flavour=sisec18 stft=nussl2018"),
    "RPCA": ("nussl 0.1.6a0", "+algo=rpca algo.flavour=sisec18 stft=nussl2018"),
    "HPSS": ("nussl 0.1.6a0", "+algo=hpss algo.flavour=sisec18 stft=nussl2018"),
    "HPLP": ("nussl 0.1.6a0", "+algo=hplp algo.flavour=sisec18 stft=nussl2018"),
    "MELO": ("nussl 0.1.6a0 + Melodia (Vamp plugin)",
             "none: the Melodia Vamp plugin is on no package registry"),
    **{m: ("sigsep-mus-oracle f5ce674", f"+algo=sigsep_{m.lower()}")
       for m in ("IBM1", "IBM2", "IRM1", "IRM2", "MWF")},
    "MIX": ("sigsep-mus-oracle f5ce674", "+algo=mix algo.flavour=sisec18"),
}

# sigsep-mus-2018's README marks these entries "Blind" (no training data); IBM/IRM/MWF/MIX
# (and nussl's withdrawn ideal soft mask IMSK) are oracles; every other entry was trained.
BLIND_ENTRIES = ("REP1", "REP2", "2DFT", "RPCA", "HPSS", "HPLP", "MELO")
FIELD_FILE = "sisec18_field_summary.csv"


REFERENCE_TITLE = ("Published: SiSEC 2018, full MUSDB18 test set (50 tracks) — "
                   "not comparable to runs on other tracks")


def implementation(config: dict) -> str:
    """Whose code a run's numbers come from, as the leaderboard shows it (IMPLEMENTATIONS)."""
    algo = config["algo"]
    name = algo["name"]
    kind = ALGORITHMS.get(name) or Algorithm(name, None)  # unknown: as a magnitude method
    if kind.mixture_estimates:
        return IMPLEMENTATIONS["mix-sisec18" if sisec18_entry(config) else "mix"]
    if kind.reads_estimates:
        return IMPLEMENTATIONS["estimates"]
    if kind.needs_references:
        return IMPLEMENTATIONS["oracle"]
    if kind.needs_sources:
        return IMPLEMENTATIONS["sigsep_oracle" if sisec18_entry(config) else "sigsep_oracle-other"]
    if kind.waveform_fn(algo.get("flavour")) is not None:
        return IMPLEMENTATIONS[algo["flavour"]]
    if kind.flavours == ("nussl",):  # nussl has no such algorithm: ours
        return IMPLEMENTATIONS["variant"]
    if algo.get("flavour") == "sisec18":
        return IMPLEMENTATIONS["sisec18" if sisec18_entry(config) else "sisec18-stft"]
    return IMPLEMENTATIONS["nussl"]


def sisec18_entry(config: dict) -> str | None:
    """The SiSEC 2018 entry a run reproduces (REP1, REP2, 2DFT, MIX, the oracles), or None.

    A run reproduces an entry when it was made as the entry was: the algorithm in the
    ``sisec18`` flavour with every other parameter at its default, nussl 0.1.6a0's STFT
    (``stft=nussl2018``), soft mask, mixture phase, BSS Eval v4 on 1 s windows and hops
    (museval, or the fast backend, which gives museval's numbers). The mixture (MIX) is
    sigsep-mus-oracle's in the ``sisec18`` flavour (mixture / 4 and 3/4 mixture);
    sigsep_oracle reproduces its ``method`` at its other defaults. For these two the
    run's STFT, mask and phase do not matter (they do not apply).
    """
    name = config["algo"]["name"]
    entry = config["algo"].get("method") if name == "sigsep_oracle" else REFERENCE_MATCH.get(name)
    evaluation = config.get("eval", {})
    if entry is None or (evaluation.get("win"), evaluation.get("hop")) != (1.0, 1.0):
        return None
    if not uses_strategies(config["algo"]):  # its own transform and masks: only its parameters count
        made = {**option("algo", name), "flavour": "sisec18"}
        if name == "sigsep_oracle":
            made["method"] = entry
        return entry if config["algo"] == made else None
    made_as_entry = (
        config["algo"] == {**option("algo", name), "flavour": "sisec18"}
        and config.get("stft") == option("stft", "nussl2018")
        and config.get("mask") == {"name": "soft"}
        and config.get("phase") == {"name": "mixture"})
    return entry if made_as_entry else None


def find_reference_dir() -> Path | None:
    """The package's ``reference/`` folder (shipped in the wheel), None if it is gone."""
    path = Path(str(importlib.resources.files("repet_bench") / "reference"))
    return path if (path / "sisec18_summary.csv").exists() else None


@dataclass
class Reference:
    """Published SiSEC 2018 figures (MUSDB18 test set, 50 tracks)."""

    summary: pd.DataFrame    # method, target, metric, n_tracks, median_over_tracks, ...
    per_track: pd.DataFrame  # tidy like ``collect``'s per_track: config = method name
    field: pd.DataFrame | None = None  # FIELD_FILE: every SiSEC 2018 MUS entry, one row

    @property
    def track_names(self) -> set[str]:
        return set(self.per_track["track"])


def load_reference(directory: Path | None) -> Reference | None:
    """Read ``sisec18_summary.csv``, ``sisec18_pertrack.csv`` and (if present) the field
    summary :data:`FIELD_FILE`; None if the first two are absent."""
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
    field_path = directory / FIELD_FILE
    field = pd.read_csv(field_path, keep_default_na=False, na_values=[""]) if field_path.exists() else None
    return Reference(summary, per_track[keep].reset_index(drop=True), field)


def entry_kind(method: str, note) -> str:
    """``blind``, ``supervised``, ``oracle`` or ``mixture`` (the anchor) for a field entry."""
    if method == "MIX":
        return "mixture"
    if method == "IMSK" or str(note).startswith("oracle") or method in (
            "IBM1", "IBM2", "IRM1", "IRM2", "MWF"):
        return "oracle"
    return "blind" if method in BLIND_ENTRIES else "supervised"


def field_table(reference: Reference, placed: pd.DataFrame) -> pd.DataFrame:
    """The SiSEC 2018 field with the user's configurations placed by their own medians.

    Parameters
    ----------
    reference : Reference
        With ``field`` (:data:`FIELD_FILE`).
    placed : DataFrame
        ``config, vocals_SDR, accompaniment_SDR, n_tracks, where`` of the runs to place
        (median over tracks, dB; ``where`` says which tracks they were measured on).

    Returns
    -------
    DataFrame
        ``place, entry, kind, vocals_SDR, accompaniment_SDR, n_tracks, source, note``, by
        median vocals SDR (highest first); ``source`` is "published" or the run's ``where``.
    """
    field = reference.field
    published = pd.DataFrame({
        "entry": field["method"],
        "kind": [entry_kind(m, n) for m, n in zip(field["method"], field["note"])],
        "vocals_SDR": field["vocals_SDR_median"],
        "accompaniment_SDR": field["accompaniment_SDR_median"],
        "n_tracks": field["n_tracks"], "source": "published (SiSEC 2018)",
        "note": field["note"].fillna("")})
    ours = pd.DataFrame({"entry": placed["config"], "kind": "this harness",
                         "vocals_SDR": placed["vocals_SDR"],
                         "accompaniment_SDR": placed["accompaniment_SDR"],
                         "n_tracks": placed["n_tracks"], "source": placed["where"], "note": ""})
    table = pd.concat([published, ours], ignore_index=True)
    table = table.sort_values("vocals_SDR", ascending=False, na_position="last",
                              kind="stable", ignore_index=True)
    table.insert(0, "place", range(1, len(table) + 1))
    return table


def reference_table(reference: Reference, seed: int = SEED) -> pd.DataFrame:
    """Published medians (from the summary CSV) in the leaderboard's columns, with CIs,
    whose code made each row and its runnable counterpart here (:data:`COUNTERPARTS`)."""
    summary = reference.summary[reference.summary["method"].isin(REFERENCE_METHODS)
                                & reference.summary["target"].isin(TARGETS)]
    table = (summary.assign(column=summary["target"] + "_" + summary["metric"])
             .pivot_table(index="method", columns="column", values="median_over_tracks")
             .reindex(columns=BOARD_COLUMNS))
    table["n_tracks"] = summary.groupby("method")["n_tracks"].max()
    table = table.reset_index().rename(columns={"method": "config"})
    table = table.sort_values("vocals_SDR", ascending=False, ignore_index=True)
    table.insert(1, "implementation", table["config"].map(lambda m: COUNTERPARTS[m][0]))
    table["counterpart"] = table["config"].map(lambda m: COUNTERPARTS[m][1])
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
