"""Results other tools read as ours: one folder per configuration, in museval's layout and
as a SiSEC 2018 submission (``python -m repet_bench.report DIRS --export OUT``).

museval's ``MethodStore.add_eval_dir(p)`` reads ``p/test/**/*.json`` and names the method
after ``p``'s stem (the part before its last dot); a SiSEC 2018 submission
(sigsep-mus-2018 ``submissions/<NAME>/``) is ``description.md`` beside ``test/*.json``.
Both are this layout::

    OUT/<method name>/description.md     the label, implementation, tracks and config
    OUT/<method name>/test/<track>.json  museval's track document, copied from the run
    OUT/<method name>/train/<track>.json training-set tracks, if the run scored any
    OUT/methods.csv                      method name, label, group, run dir, config hash

The method name is the configuration's label (:func:`method_name`) where a file name and
``MethodStore`` keep it whole, so ``MethodStore`` and the report's ``--entry`` show the
same numbers under the same names as the leaderboard.

>>> method_name("repet(max_period=4.5) / binary / mixture stft.hop=1024")
'repet(max_period=4,5), binary, mixture stft_hop=1024'
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from . import rundir
from .io import atomic_write_text, safe_filename
from .results import Run


def method_name(label: str) -> str:
    """A label as a folder name museval keeps whole: its separators ``" / "`` as commas,
    no dot (``MethodStore`` cuts a name at its last dot: a decimal point reads as a
    comma, other dots as underscores), no path separator."""
    name = label.replace(" / ", ", ").replace("/", "-")
    name = "".join("," if c == "." and i and name[i - 1].isdigit() and name[i + 1:i + 2].isdigit()
                   else "_" if c == "." else c for i, c in enumerate(name))
    return safe_filename(name)


def export(runs_table: pd.DataFrame, runs: dict[str, Run], groups: dict, out: Path) -> list[Path]:
    """Write each ranked run's museval JSON files as a method folder under ``out``.

    Parameters
    ----------
    runs_table : DataFrame
        :func:`repet_bench.results.collect`'s runs table (``run``, ``config``, ``group``,
        ``ranked``, ``config_hash``).
    runs : dict of str to Run
        The runs by run dir (the table's ``run``).
    groups : dict
        Group id → :class:`repet_bench.results.Group`: a configuration ranked in several
        groups (other tracks or audio) gets one folder per group, suffixed with its id.

    Returns
    -------
    list of Path
        The method folders written, in the runs table's order.
    """
    ranked = runs_table[runs_table["ranked"]]  # runs only: entries are added after export
    several = ranked.groupby("config")["group"].nunique()
    folders, index = [], []
    for _, row in ranked.iterrows():
        name = method_name(row["config"])
        if several.get(row["config"], 1) > 1:
            name = f"{name} [{row['group']}]"
        folder = Path(out) / name
        if folder.exists():
            shutil.rmtree(folder)  # a previous export of this method: replaced whole
        run = runs[row["run"]]
        for key in run.tracks:
            subset, track = key.split("/", 1)
            source = rundir.museval_path(run.path, subset, track)
            if source.exists():
                atomic_write_text(folder / subset / source.name, source.read_text())
        atomic_write_text(folder / "description.md", _description(row, run, groups))
        folders.append(folder)
        index.append({"method": name, "label": row["config"], "group": row["group"],
                      "run": row["run"], "config_hash": row["config_hash"]})
    atomic_write_text(Path(out) / "methods.csv", pd.DataFrame(
        index, columns=["method", "label", "group", "run", "config_hash"]).to_csv(index=False))
    return folders


def _description(row, run: Run, groups: dict) -> str:
    """A submission's ``description.md``: what made these numbers and how to rerun it."""
    group = groups.get(row["group"])
    tracks = group.describe() if group is not None else f"{len(run.tracks)} tracks"
    return "\n".join([
        f"# {row['config']}",
        "",
        f"Made with repet_bench ({row.get('implementation') or 'see the config below'}).",
        "",
        f"- tracks: {tracks}",
        f"- config hash: {row['config_hash']} (run dir {run.path})",
        "- scores: BSS Eval v4 (museval's framewise JSON, one file per track)",
        "",
        "## Resolved configuration",
        "",
        "```json",
        json.dumps(run.config, indent=2, sort_keys=True),
        "```",
        "",
    ])
