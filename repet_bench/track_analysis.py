"""Per-track figures for the report (``--analyse TRACK``): REPET's beat spectrum, period
and models on the track's audio (separated through the public :func:`repet_bench.separate`),
and every ranked configuration's framewise vocals SDR over time."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import pandas as pd
from omegaconf import OmegaConf

from . import entries, plots, results, rundir
from .io import safe_filename
from .render import Section, figure_markup


def track_sections(runs: Sequence[results.Run], runs_table: pd.DataFrame,
                   tracks: Sequence[str], out_dir: Path) -> tuple[list[Section], list[Path]]:
    """A "Track analysis" section per named track: REPET's beat spectrum, the period it
    picks and the three spectrograms (with the STFT/REPET settings of the first run that
    scored the track; its dataset config locates the audio), and the framewise vocals SDR
    over time of every ranked configuration that scored it.

    ``tracks``: names or shell-style patterns (``"*Falcon*"``), as ``dataset.tracks``.

    Raises
    ------
    ValueError
        No track a readable run scored matches ``tracks`` (the message lists them).
    """
    from . import api, data

    scored = sorted({k.split("/", 1)[-1] for r in runs if r.config for k in r.tracks})
    names = [name for name in scored if data.matches(name, tracks)]
    if not names:  # exact names or shell patterns, as --listen and dataset.tracks take them
        raise ValueError(f"--analyse {' '.join(map(repr, tracks))} matches no scored track "
                         "(exact names or shell patterns such as '*Falcon*'); scored tracks: "
                         f"{', '.join(scored[:20])}{' ...' if len(scored) > 20 else ''}")
    sections, figures = [], []
    for name in names:
        run = next(r for r in runs if r.config and any(k.split("/", 1)[-1] == name
                                                        for k in r.tracks))
        dataset = run.config["dataset"]
        cache = Path(run.config["paths"]["cache"]).expanduser()
        track = data.load_track(next(r for r in data.list_tracks(OmegaConf.create(dataset), cache)
                                     if r.name == name))
        # REPET as the run ran it, or at its defaults when the run was another algorithm.
        algo = run.config["algo"] if run.config["algo"]["name"] == "repet" else "repet"
        separation = api.separate(track.mixture, track.rate, algo, stft=run.config["stft"],
                                  masks=True)
        stem = f"track-{safe_filename(name)}"
        figures.append(plots.track_analysis(track.mixture, track.rate, separation,
                                            out_dir / "plots" / f"{stem}.png", name,
                                            run.config["stft"]))
        parts = [figure_markup(figures[-1], out_dir, f"{name}: beat spectrum and REPET models")]
        frames = _frames_of(runs_table, name)
        if len(frames):
            figures.append(plots.framewise(frames, out_dir / "plots" / f"{stem}-frames.png",
                                           f"{name}: vocals SDR per 1 s frame"))
            parts.append(figure_markup(figures[-1], out_dir, f"{name}: framewise vocals SDR"))
        sections.append(Section(f"track-{len(sections)}", f"Track analysis: {name}",
                                "\n\n".join(m for m, _ in parts), "".join(h for _, h in parts)))
    return sections, figures


def _frames_of(runs_table: pd.DataFrame, track: str) -> pd.DataFrame:
    """Framewise vocals SDR of ``track`` from every ranked run: ``config, time, score``."""
    ranked = runs_table[runs_table["ranked"]] if len(runs_table) else runs_table
    ranked = ranked[ranked["algo_name"] != entries.ENTRY]  # published JSON: no frames here
    parts = []
    for row in ranked.itertuples():
        scores = rundir.read_scores(row.run, filters=[
            ("track", "==", track), ("target", "==", "vocals"), ("metric", "==", "SDR")])
        parts.append(scores.assign(config=row.config)[["config", "time", "score"]])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
