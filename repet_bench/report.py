"""Leaderboards from run dirs: rank configurations per track set, beside SiSEC 2018.

``python -m repet_bench.report <results or sweep dir> [more dirs] [--out DIR] [--scatter A B]``

The report is assembled here from the modules that each do one part of it::

    results   find the runs, label them, tidy per-track medians, groups of runs on
              the same audio (median over frames, then over tracks)
    stats     per group: bootstrap CIs, Wilcoxon vs the best
    sisec18   published SiSEC 2018 rows; a per-track paired comparison when a group
              holds exactly SiSEC's 50 MUSDB18 test tracks at full length
    render    sections (markdown + HTML) and figures (plots.py)
    entries   other methods' museval JSON folders, ranked with the runs (--entry)
    track_analysis  per-track figures (--analyse)

and written as leaderboard.md / .csv / .html plus plots, each atomically. Only complete
runs are ranked; every other run dir found is listed with its status, never dropped.
"""

from __future__ import annotations

import argparse
import html
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pandas as pd

from . import entries as entries_mod
from . import export as export_mod
from . import listen, results, sisec18, stats
from .algorithms import is_bound
from .data import TARGETS
from .evaluation import CROSSCHECK_TOLERANCE_DB, crosscheck_warning
from .io import LockedError, atomic_write, atomic_write_text, exclusive_lock
from .render import (METHOD_NOTE, Section, comparison_section, field_section, format_number,
                     format_p, group_section, not_ranked_section, reference_sections,
                     render_html, render_markdown)
from .stats import track_scores
from .track_analysis import track_sections


def select_configs(spec: str, runs: pd.DataFrame) -> set[str]:
    """Configurations a --scatter argument names: label, run dir, or hash prefix."""
    ranked = runs[runs["ranked"]]
    spec_path = str(Path(spec).resolve()) if spec else ""
    hit = (ranked["config"] == spec) | (ranked["run"].map(lambda r: Path(r).name) == spec)
    hit |= ranked["run"] == spec_path
    if len(spec) >= 4:  # a hash prefix; shorter ones would match by accident
        hit |= ranked["config_key"].str.startswith(spec) | ranked["config_hash"].str.startswith(spec)
    return set(ranked.loc[hit, "config"])


def scatter_pair(order: list[str], per_track: pd.DataFrame, runs: pd.DataFrame,
                 scatter: tuple[str, str] | None) -> tuple[str, str] | None:
    """The two configurations (A, B) of a leaderboard's per-track scatter: the ``scatter``
    the user named (the best-ranked match of each), else the best (B) against the next
    configuration whose per-track vocals SDR differ (A); None when there is no such pair.
    ``order``: the leaderboard's configurations, best first."""
    if scatter:
        a, b = (select_configs(s, runs) & set(order) for s in scatter)
        return (min(a, key=order.index), min(b, key=order.index)) if a and b else None
    best = track_scores(per_track, order[0], "vocals") if order else None
    other = next((c for c in order[1:]
                  if not track_scores(per_track, c, "vocals").equals(best)), None)
    return (other, order[0]) if other else None


@dataclass
class Report:
    """What ``build_report`` produced.

    Attributes
    ----------
    runs : DataFrame
        One row per run dir found (``collect``'s runs table).
    leaderboard : DataFrame
        Every ranked configuration, all groups, plus SiSEC rows (``source`` column); what
        leaderboard.csv holds.
    reference_comparison : DataFrame
        Paired per-track comparisons with SiSEC 2018 entries (may be empty).
    sections : list of Section
        The report body; append and call ``write`` again to extend the page.
    """

    out_dir: Path
    runs: pd.DataFrame
    per_track: pd.DataFrame
    groups: dict
    leaderboard: pd.DataFrame
    reference_comparison: pd.DataFrame
    sections: list
    figures: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    files: list = field(default_factory=list)
    title: str = "repet_bench leaderboard"

    def write(self) -> list[Path]:
        """Write leaderboard.md/.csv/.html into ``out_dir`` (each atomically)."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        md, csv, page = (self.out_dir / f"leaderboard.{ext}" for ext in ("md", "csv", "html"))
        atomic_write_text(md, render_markdown(self.title, self.sections))
        atomic_write(csv, lambda tmp: self.leaderboard.to_csv(tmp, index=False, float_format="%.6g"))
        atomic_write_text(page, render_html(self.title, self.sections))
        self.files = [md, csv, page, *self.figures]
        # Plots of an earlier report into this folder that this one did not draw.
        for stale in set((self.out_dir / "plots").glob("*.png")) - set(map(Path, self.figures)):
            stale.unlink(missing_ok=True)
        return self.files

    def summary(self) -> str:
        """A few lines for the terminal: each group's ranking, what was not ranked, files."""
        ranked = self.runs["ranked"].sum() if len(self.runs) else 0
        lines = [f"{len(self.runs)} run dir(s): {ranked} ranked in {len(self.groups)} "
                 f"group(s), {len(self.runs) - ranked} not ranked"]
        board = self.leaderboard[self.leaderboard["source"] == "run"]
        for gid, rows in board.groupby("group", sort=False):
            lines.append(f"[{gid}] {rows['dataset'].iloc[0]}")
            for _, r in rows.iterrows():
                versus = "(best)" if r["rank"] == 1 else f"p vs best {format_p(r)}"
                lines.append(f"  {int(r['rank']):>2}. {r['config']:<45} vocals SDR "
                             f"{format_number(r['vocals_SDR']):>6}  accompaniment SDR "
                             f"{format_number(r['accompaniment_SDR']):>6}  {versus}")
        for _, r in self.runs[~self.runs["ranked"]].iterrows():
            lines.append(f"not ranked: {r['run']} ({r['status']}: {r['reason']})")
        lines += self.notes
        lines.append(f"report: {self.out_dir} ({', '.join(p.name for p in self.files[:3])}, "
                     f"{len(self.figures)} plot(s))")
        return "\n".join(lines)


def build_report(paths: Sequence[Path], out: Path | None = None,
                 scatter: tuple[str, str] | None = None, reference_dir: Path | None = None,
                 extra_sections: Sequence[Section] = (), seed: int = stats.SEED,
                 write: bool = True, listen_tracks: Sequence[str] | None = None,
                 analyse: Sequence[str] = (), entries: dict | None = None,
                 export: Path | None = None, standalone: bool = False) -> Report:
    """Find the runs under ``paths``, rank them and write the report.

    Parameters
    ----------
    paths : sequence of Path
        Results dirs, sweep dirs or run dirs (searched recursively for run.json).
    out : Path, optional
        Report folder (default ``<first path>/report``).
    scatter : (str, str), optional
        Two configurations for the per-track scatter (label, run dir name or config hash
        prefix); default: the runner-up against the best of each leaderboard.
    reference_dir : Path, optional
        Folder of the SiSEC 2018 CSVs (default: the package's ``repet_bench/reference``,
        shipped in the wheel).
    extra_sections : sequence of Section
        Appended to the page.
    listen_tracks : sequence of str, optional
        Tracks (names or shell patterns, as ``dataset.tracks``) to show audio players for,
        from runs made with ``save_estimates=true``; none by default.
    entries : dict of str to Path, optional
        Name → folder of museval JSON files (another method's published results, e.g. a
        SiSEC 2018 submission's ``test/``), ranked with the runs on the same tracks.
    analyse : sequence of str
        Tracks to draw a track analysis (beat spectrum, models) and framewise SDR for.
    export : Path, optional
        Also write each ranked configuration's museval JSON there, one folder per
        configuration named by its label, as museval's ``MethodStore`` and a SiSEC 2018
        submission lay them out (:mod:`repet_bench.export`).
    standalone : bool
        Copy what the page plays into the report folder (``audio/``; the figures are
        there already), so the folder can be moved or sent as it is.
    write : bool
        Write the files (False: only compute).

    Returns
    -------
    Report

    Raises
    ------
    FileNotFoundError
        A path does not exist or holds no run dir.
    ValueError
        A ``scatter`` configuration matches no ranked run, or another report is being
        written into ``out``.
    """
    paths = [Path(p) for p in paths]
    out_dir = Path(out) if out is not None else paths[0] / "report"
    runs = results.find_runs(paths)
    if not runs:
        raise FileNotFoundError(f"no run dir (folder with a run.json) under {', '.join(map(str, paths))}")
    with ExitStack() as held:
        if write:  # one report at a time into a folder: never plots of one, a page of another
            try:
                held.enter_context(exclusive_lock(out_dir, "report",
                                                  "choose another folder with --out"))
            except LockedError as exc:
                raise ValueError(str(exc)) from None
        runs_table, per_track, groups = results.collect(runs)
        _whose_code(runs_table, runs)
        exported = (export_mod.export(runs_table, {str(r.path): r for r in runs}, groups, export)
                    if export is not None else [])
        if entries:
            runs_table, per_track = entries_mod.add_entries(runs_table, per_track, groups, entries)
            published = runs_table["algo_name"] == entries_mod.ENTRY
            # The folder's last two parts (a SiSEC submission's NAME/test): the full path,
            # in the csv's run column, would crowd the table's scores out.
            runs_table.loc[published, "implementation"] = [
                "museval JSON: " + "/".join(Path(run).parts[-2:])
                for run in runs_table.loc[published, "run"]]
        if scatter:
            for spec in scatter:
                if not select_configs(spec, runs_table):
                    known = "; ".join(sorted(set(runs_table.loc[runs_table["ranked"], "config"])))
                    raise ValueError(f"--scatter {spec!r} matches no ranked configuration "
                                     f"(known: {known or 'none'})")
        reference = sisec18.load_reference(reference_dir or sisec18.find_reference_dir())
        labels = {gid: f"g{i}" for i, gid in enumerate(groups, 1)}
        implementation_of = (runs_table[runs_table["ranked"]].drop_duplicates("config")
                             .set_index("config")["implementation"]) if len(runs_table) else {}
        sections = [Section("method", "How to read this", METHOD_NOTE,
                            f'<p class="note">{html.escape(METHOD_NOTE)}</p>')]
        boards, comparisons, figures, notes = [], [], [], []
        for gid, group in groups.items():
            rows = per_track[per_track["group"] == gid]
            table = stats.leaderboard(rows, seed)
            table.insert(2, "implementation", table["config"].map(implementation_of))
            boards.append(table.assign(group_id=gid, group=labels[gid], dataset=group.describe(),
                                       source="run"))
            if write:
                pair = scatter_pair(table["config"].tolist(), rows, runs_table, scatter)
                sections.append(group_section(group, labels[gid], table, rows, runs_table,
                                               reference, out_dir, pair, figures))
            if sisec18.covers_reference(group, reference):
                comparisons.append(sisec18.reference_comparison(rows, runs_table, reference)
                                   .assign(group=gid))
        for row in runs_table[runs_table["crosscheck_db"] > CROSSCHECK_TOLERANCE_DB].itertuples():
            check = {"max_abs_diff_db": {row.crosscheck_metric: row.crosscheck_db}}
            notes.append(f"WARNING: {row.config}: {crosscheck_warning(check)}")
        if len(groups) > 1:
            notes.append(f"{len(groups)} leaderboards: runs on different tracks or excerpts are "
                         "never ranked together.")
        ref_sections, ref_table = reference_sections(reference, seed)
        if reference is None:
            notes.append("SiSEC 2018 reference CSVs not found: published rows skipped.")
        sections += ref_sections
        if reference is not None and reference.field is not None:
            best = _best(boards, groups, reference, runs_table)
            sections.append(field_section(sisec18.field_table(reference, best)))
        comparison = pd.concat(comparisons, ignore_index=True) if comparisons else pd.DataFrame(
            columns=["group", "config", "reference", "target", "n", "median_diff", "p", "significant"])
        if len(comparison):
            sections.append(comparison_section(comparison, labels))
        sections.append(not_ranked_section(runs_table, out_dir))
        if listen_tracks:
            players, heard = listen.section_html(runs_table, out_dir, list(listen_tracks),
                                                 standalone)
            sections.append(Section("listen", "Listen", "Audio players: see leaderboard.html.", players))
            notes.append(f"audio players for {len(heard)} track(s): {', '.join(heard)}")
        if analyse:
            analysed, analysis_figures = track_sections(runs, runs_table, analyse, out_dir)
            sections += analysed
            figures += analysis_figures
        sections += list(extra_sections)
        if exported:
            notes.append(f"exported {len(exported)} configuration(s) to {export} (museval "
                         "MethodStore / SiSEC 2018 submission layout; methods.csv)")
        board = _csv_table(boards, ref_table, runs_table)
        report = Report(out_dir, runs_table, per_track, groups, board, comparison, sections,
                        figures, notes)
        if write:
            report.write()
        return report


FIELD_PLACED = 3  # the best methods of each leaderboard placed in the SiSEC field


def _best(boards: list[pd.DataFrame], groups: dict, reference,
          runs_table: pd.DataFrame) -> pd.DataFrame:
    """The best :data:`FIELD_PLACED` separation methods (not oracles or the mixture) of
    each leaderboard, with where they were measured (``field_table``'s ``placed``)."""
    ranked = runs_table[runs_table["ranked"]] if len(runs_table) else runs_table
    bounds = set(ranked.loc[ranked["algo_name"].map(is_bound), "config"]) if len(ranked) else set()
    rows = []
    for board in boards:
        group = groups[board["group_id"].iloc[0]] if len(board) else None
        methods = board[~board["config"].isin(bounds)]
        for r in methods.nsmallest(FIELD_PLACED, "rank").itertuples():
            full = sisec18.covers_reference(group, reference)
            where = f"this report, {r.group}: {group.describe()}" + (
                "" if full else " (other tracks than SiSEC's 50)")
            rows.append({"config": f"{r.config} [{r.group}]", "vocals_SDR": r.vocals_SDR,
                         "accompaniment_SDR": r.accompaniment_SDR, "n_tracks": r.n_tracks,
                         "where": where})
    return pd.DataFrame(rows, columns=["config", "vocals_SDR", "accompaniment_SDR",
                                       "n_tracks", "where"])


def _whose_code(runs_table: pd.DataFrame, runs: Sequence[results.Run]) -> None:
    """Add ``implementation`` and ``sisec18_entry`` (:mod:`sisec18`) to the runs table."""
    config_of = {str(r.path): r.config for r in runs}
    configs = [config_of.get(run) for run in runs_table["run"]] if len(runs_table) else []
    runs_table["implementation"] = [sisec18.implementation(c) if c else "" for c in configs]
    runs_table["sisec18_entry"] = [sisec18.sisec18_entry(c) if c else None for c in configs]


def _csv_table(boards: list[pd.DataFrame], ref_table: pd.DataFrame,
               runs: pd.DataFrame) -> pd.DataFrame:
    """All leaderboards in one long table; SiSEC rows marked by ``source``."""
    meta = runs[runs["ranked"]][["group", "config", "algo", "mask", "phase", "config_hash", "run"]]
    meta = meta.rename(columns={"group": "group_id"})
    parts = [board.merge(meta, on=["group_id", "config"], how="left") for board in boards]
    if len(ref_table):
        parts.append(ref_table.assign(group="sisec18", source="SiSEC 2018 (published)",
                                      dataset="musdb18 · test · 50 tracks · full length",
                                      algo=ref_table["config"]))
    columns = (["source", "group", "dataset", "rank", "config", "implementation", "algo",
                "mask", "phase", "n_tracks", "n_undefined"] + results.BOARD_COLUMNS
               + [f"{t}_SDR_ci_{e}" for t in TARGETS for e in ("low", "high")]
               + ["n_paired", "median_diff", "p_vs_best", "significant", "config_hash", "run"])
    if not parts:
        return pd.DataFrame(columns=columns)
    table = pd.concat(parts, ignore_index=True).reindex(columns=columns)
    return table.astype({"rank": "Int64", "n_tracks": "Int64", "n_paired": "Int64"})


def _entry(spec: str) -> tuple[str, Path]:
    name, sep, folder = spec.partition("=")
    if not sep or not name or not folder:
        raise ValueError(f"--entry {spec!r}: use NAME=DIR, e.g. --entry UMX=submissions/UMX/test")
    if not Path(folder).is_dir():
        raise FileNotFoundError(f"--entry {spec!r}: {folder} is not a folder")
    return name, Path(folder)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m repet_bench.report``: exit 0, or 2 when nothing can be reported."""
    parser = argparse.ArgumentParser(
        prog="python -m repet_bench.report",
        description="Leaderboards (md/csv/html) and plots from repet_bench run dirs.")
    parser.add_argument("dirs", nargs="+", type=Path,
                        help="results dirs, sweep dirs or run dirs (searched recursively)")
    parser.add_argument("--out", type=Path, help="report folder (default <first dir>/report)")
    parser.add_argument("--scatter", nargs=2, metavar=("CONFIG_A", "CONFIG_B"),
                        help="two configurations (label, run dir name or config hash prefix) "
                             "for the per-track scatter")
    parser.add_argument("--reference", type=Path,
                        help="folder of the SiSEC 2018 CSVs (default: repet_bench/reference/)")
    parser.add_argument("--listen", nargs="+", metavar="TRACK",
                        help="tracks to embed audio players for (runs with save_estimates=true): "
                             "names or shell patterns as dataset.tracks, e.g. '*Falcon*'")
    parser.add_argument("--entry", action="append", default=[], metavar="NAME=DIR",
                        help="another method's museval JSON files (one per track, e.g. a "
                             "SiSEC 2018 submission's test/ folder), ranked with the runs "
                             "that scored the same tracks; repeatable")
    parser.add_argument("--export", type=Path, metavar="DIR",
                        help="also write each configuration's museval JSON to DIR/<label>/"
                             "test/, as museval's MethodStore.add_eval_dir and a SiSEC 2018 "
                             "submission read them (DIR/methods.csv maps folders to labels)")
    parser.add_argument("--standalone", action="store_true",
                        help="copy the audio the page plays into the report folder, so the "
                             "folder can be moved or sent (figures are in it already)")
    parser.add_argument("--analyse", nargs="+", metavar="TRACK", default=(),
                        help="tracks to plot the beat spectrum, period and spectrograms of "
                             "(read from the dataset of the first run that scored them)")
    args = parser.parse_args(argv)
    try:
        entries = dict(_entry(spec) for spec in args.entry)
        if len(entries) < len(args.entry):
            names = [_entry(spec)[0] for spec in args.entry]
            twice = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"--entry {', '.join(twice)} given more than once: each entry "
                             "needs a name of its own (NAME=DIR)")
        report = build_report(args.dirs, args.out, args.scatter, args.reference,
                              listen_tracks=args.listen, analyse=args.analyse, entries=entries,
                              export=args.export, standalone=args.standalone)
    except (FileNotFoundError, ValueError) as exc:
        print(f"repet_bench.report: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0


def console() -> None:
    """The ``repet-bench-report`` command (same as ``python -m repet_bench.report``)."""
    sys.exit(main())


if __name__ == "__main__":
    console()
