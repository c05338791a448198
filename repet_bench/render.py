"""Tables and figures → report sections, in markdown and HTML.

A report is a list of :class:`Section` objects (each in both formats), so later work can
append sections (audio players, track figures). The section builders here take the tables
of :mod:`results`, :mod:`stats` and :mod:`sisec18` and the figures of :mod:`plots`.
"""

from __future__ import annotations

import html
import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from . import plots
from .data import TARGETS
from .evaluation import IMPROVEMENTS, METRICS, SI_METRICS
from .results import Group
from .sisec18 import REFERENCE_TITLE, Reference, covers_reference, reference_table
from .stats import (ALPHA, MIN_CI_TRACKS, MIN_WILCOXON_PAIRS, P_ADJUST, SEED, friedman,
                    wilcoxon_floor)


def format_number(v, digits: int = 2) -> str:
    return "" if pd.isna(v) else f"{v:.{digits}f}"


def _ci(low, high) -> str:
    return "n/a" if pd.isna(low) else f"[{low:.2f}, {high:.2f}]"


def format_p(row) -> str:
    if row["rank"] == 1:
        return "best"
    if pd.isna(row["p_vs_best"]):
        return "n/a"
    return f"{row['p_vs_best']:.3g}" + (" *" if row["significant"] else "")


# The columns a paper reports first (the page shows these, the rest behind a toggle):
# per target, SDR with its CI and the improvement over the mixture.
PAPER_METRICS = ("SDR", "95% CI", "SDRi")
# The column group of a target's improvements over the mixture: "<target> over the mixture".
OVER_THE_MIXTURE = " over the mixture"


def display_table(table: pd.DataFrame, with_tests: bool = True,
                  paper: bool = False) -> pd.DataFrame:
    """Formatted leaderboard (strings) with (target, metric) column pairs; ``paper``: only
    the configuration, its implementation, n, :data:`PAPER_METRICS` per target and the
    test against the best (fits a 1400 px page)."""
    out = {("", "#"): table["rank"].astype(str)} if "rank" in table else {}
    out[("", "configuration")] = table["config"]
    if "implementation" in table:
        out[("", "implementation")] = table["implementation"]
    undefined = table["n_undefined"] if "n_undefined" in table else pd.Series(0, table.index)
    out[("", "n")] = [f"{n} ({u} NaN)" if u else str(n)
                      for n, u in zip(table["n_tracks"].astype(int), undefined.fillna(0).astype(int))]
    for target in TARGETS:
        out[(target, "SDR")] = table[f"{target}_SDR"].map(format_number)
        out[(target, "95% CI")] = [_ci(lo, hi) for lo, hi in
                                   zip(table[f"{target}_SDR_ci_low"], table[f"{target}_SDR_ci_high"])]
        for metric in METRICS[1:]:
            out[(target, metric)] = table[f"{target}_{metric}"].map(format_number)
    for target in TARGETS:  # song-level SDR: the MDX/SDX challenges' mean, and our median
        column = f"{target}_nSDR"
        if column in table and table[column].notna().any():
            out[(f"{target} song-level nSDR", "median")] = table[column].map(format_number)
            out[(f"{target} song-level nSDR", "mean")] = table[f"{column}_mean"].map(format_number)
    for target in TARGETS:  # the tutorial's whole-track metrics, in their own columns
        for metric in SI_METRICS:
            column = f"{target}_{metric}"
            if column in table and table[column].notna().any():
                out[(f"{target} (scale-invariant)", metric)] = table[column].map(format_number)
    for target in TARGETS:  # improvement over the mixture, as asteroid and papers report it
        for metric in IMPROVEMENTS:
            column = f"{target}_{metric}"
            if column in table and table[column].notna().any():
                out[(f"{target}{OVER_THE_MIXTURE}", metric)] = table[column].map(format_number)
    if paper:  # each target's SDR, CI and SDRi side by side, in the targets' order
        groups = ("", *TARGETS)
        kept = {(group.removesuffix(OVER_THE_MIXTURE), metric): value
                for (group, metric), value in out.items()
                if group.removesuffix(OVER_THE_MIXTURE) in TARGETS and metric in PAPER_METRICS
                or not group}
        out = dict(sorted(kept.items(), key=lambda item: groups.index(item[0][0])))
    if with_tests:
        out[("vocals SDR vs best", "Δ median")] = [
            "" if r["rank"] == 1 or pd.isna(r["median_diff"]) else f"{r['median_diff']:+.2f}"
            for _, r in table.iterrows()]
        out[("vocals SDR vs best", "p")] = [format_p(r) for _, r in table.iterrows()]
    frame = pd.DataFrame(out)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    return frame


# What a markdown viewer acts on in a name (a track's, a run dir's, an entry's): HTML and
# entities, link brackets, a table cell's end, a line's end.
_MD_LITERAL = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "[": "\\[", "]": "\\]",
                             "|": "\\|", "\n": " ", "\r": " "})


def md_text(text) -> str:
    r"""``text`` as literal markdown on one line: its HTML inert, no link, no table break.

    >>> print(md_text("<script>x</script> [a](b) | c\nd"))
    &lt;script&gt;x&lt;/script&gt; \[a\](b) \| c d
    """
    return str(text).translate(_MD_LITERAL)


def _markdown(frame: pd.DataFrame) -> str:
    flat = frame.copy()
    if isinstance(flat.columns, pd.MultiIndex):
        flat.columns = [" ".join(p for p in c if p) for c in flat.columns]
    flat.columns = [md_text(c) for c in flat.columns]
    flat = flat.astype(str).apply(lambda col: col.map(md_text))
    return flat.to_markdown(index=False, disable_numparse=True)


def _html_table(frame: pd.DataFrame, css: str = "table") -> str:
    return frame.to_html(index=False, escape=True, border=0, classes=css, na_rep="")


@dataclass
class Section:
    """One block of the report, in both output formats.

    Attributes
    ----------
    id : str
        HTML anchor.
    title : str
        Heading text.
    markdown, html : str
        The body in each format (HTML already escaped).
    """

    id: str
    title: str
    markdown: str
    html: str


def render_markdown(title: str, sections: Sequence[Section]) -> str:
    parts = [f"# {md_text(title)}"]
    for s in sections:
        parts += [f"## {md_text(s.title)}", s.markdown.strip()]
    return "\n\n".join(parts) + "\n"


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 110em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1em; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #ddd; text-align: right; }
td:nth-child(2), th:nth-child(2) { text-align: left; }
thead th { background: #f3f3f3; }
section { margin-bottom: 2.5em; }
section.reference { background: #f7f7f7; padding: 0.2em 1em 1em; border-left: 4px solid #aaa; }
figure { margin: 1em 0; } figure img { max-width: 100%; }
.note { color: #555; font-size: 0.9em; }
.scroll { overflow-x: auto; }
table.leaderboard td:nth-child(2) { white-space: nowrap; }
table.leaderboard td:nth-child(3) { text-align: left; font-size: 0.8em; min-width: 10em;
                                    max-width: 22em; }
thead tr:first-child th { text-align: center; }  /* a target's name over its columns */
table.leaderboard thead tr:last-child th:nth-child(3) { text-align: left; }
details > summary { cursor: pointer; color: #333; margin: 0.3em 0; }
"""


def render_html(title: str, sections: Sequence[Section]) -> str:
    """A standalone page: title, table of contents, one ``<section>`` per Section."""
    toc = "".join(f'<li><a href="#{html.escape(s.id)}">{html.escape(s.title)}</a></li>'
                  for s in sections)
    body = "".join(f'<section id="{html.escape(s.id)}"><h2>{html.escape(s.title)}</h2>'
                   f"{s.html}</section>\n" for s in sections)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n"
            f"<body><h1>{html.escape(title)}</h1><nav><ul>{toc}</ul></nav>\n{body}</body></html>\n")


def figure_markup(path: Path, out_dir: Path, caption: str) -> tuple[str, str]:
    rel = path.relative_to(out_dir).as_posix()
    return (f"![{md_text(caption)}]({urllib.parse.quote(rel)})",
            f'<figure><img src="{html.escape(rel)}" alt="{html.escape(caption)}">'
            f"<figcaption class=\"note\">{html.escape(caption)}</figcaption></figure>")


METHOD_NOTE = (
    "Scores: BSS Eval v4 on 1 s frames, in dB (museval, or eval=fast: museval's "
    "definition, checked against museval in every run, see the run list); median over frames (NaN frames "
    "skipped) per track, then median over tracks, as SiSEC 2018. Sorted by vocals SDR. "
    f"95% CI: percentile bootstrap of the median over tracks (9999 resamples, seed {SEED}); "
    f"n/a below {MIN_CI_TRACKS} tracks. p: two-sided paired Wilcoxon signed-rank test over "
    "tracks of per-track vocals SDR against the best configuration of the same leaderboard "
    f"(* p < {ALPHA}, no correction for multiple comparisons); n/a with fewer than "
    f"{MIN_WILCOXON_PAIRS} tracks that differ. Each leaderboard holds runs on the same "
    "audio only: same dataset, excerpt and tracks. n: tracks scored; (k NaN): tracks BSS "
    "Eval leaves undefined (a silent source), left out of the medians. Implementation: whose code made the "
    "numbers. Only runs made as the SiSEC 2018 entries were (+experiment=sisec18: nussl "
    "0.1.6a0's flavour and STFT) are compared track by track with the published entries; "
    "the other rows are different implementations of the same methods. Song-level nSDR: "
    "10 log10((Σ s² + 1e-7) / (Σ (s − ŝ)² + 1e-7)) over the whole track (all samples and "
    "channels), the SDR of the MDX 2021 / SDX 2023 challenges (demucs' new_sdr); mean over "
    "tracks as the challenges report it, beside the median. SiSEC 2018 published no nSDR. "
    "SI-SDR/SIR/SAR: whole-track scale-invariant metrics (Le Roux et al. 2019), per channel "
    "then averaged. SDRi / SI-SDRi: improvement over the mixture, per track the score minus "
    "that of the mixture itself as the estimate (SDRi: of the medians over frames), then the "
    "median over tracks; the mixture is scored in every run, no MIX run needed (a MIX row "
    "has 0).")


def group_section(group: Group, label: str, table: pd.DataFrame, per_track: pd.DataFrame,
                   runs: pd.DataFrame, reference: Reference | None, out_dir: Path,
                   pair: tuple[str, str] | None, figures: list) -> Section:
    """A leaderboard of one group, its track list and its plots (``pair``: the two
    configurations of the per-track scatter, A then B; None: no scatter)."""
    shown = display_table(table)
    run_of = runs[runs["ranked"] & (runs["group"] == group.id)].set_index("config")["run"]
    names = sorted(group.track_names)
    md = [f"Tracks ({len(names)}): {md_text(', '.join(names))}" if len(names) <= 10
          else f"{len(names)} tracks (listed in the HTML report).", _markdown(shown)]
    paper = display_table(table, paper=True)
    floor = wilcoxon_floor(int(table["n_tracks"].max()))
    page = [f'<details><summary>{len(names)} track(s)</summary><p class="note">'
            f"{html.escape('; '.join(names))}</p></details>",
            f'<div class="scroll">{_html_table(paper, "leaderboard")}</div>',
            f"<details><summary>Every metric (SIR, SAR, ISR, song-level nSDR, "
            f"scale-invariant, improvements)</summary>"
            f'<div class="scroll">{_html_table(shown, "leaderboard")}</div></details>',
            f'<p class="note">{html.escape(floor)}</p>']
    if floor:
        md.append(floor)
    if covers_reference(group, reference):
        same = ("These are SiSEC 2018's 50 MUSDB18 test tracks at full length: the "
                "published entries below are comparable, per track.")
        md.insert(0, same)
        page.insert(0, f'<p class="note">{html.escape(same)}</p>')
    run_list = pd.DataFrame({"configuration": table["config"],
                             "run dir": [os.path.relpath(run_of[c], out_dir)
                                         for c in table["config"]]})
    checks = runs[runs["ranked"] & (runs["group"] == group.id)].set_index("config")["crosscheck_db"]
    if checks.notna().any():  # eval=fast runs: their check against museval
        run_list["eval=fast vs museval, max |Δ| dB"] = [
            "" if pd.isna(checks.get(c)) else f"{checks[c]:.1g}" for c in table["config"]]
    md.append(f"Runs ({len(run_list)}):\n\n" + _markdown(run_list))
    page.append(f"<details><summary>Runs ({len(run_list)})</summary>"
                f"{_html_table(run_list, 'runs')}</details>")
    for path, caption in _group_plots(group, label, table, per_track, runs, reference,
                                      out_dir, pair):
        figures.append(path)
        fig_md, fig_html = figure_markup(path, out_dir, caption)
        md.append(fig_md)
        page.append(fig_html)
    friedman_md, friedman_html = _friedman_block(per_track, label, out_dir, figures,
                                                 table["config"].tolist())
    md.append(friedman_md)
    page.append(friedman_html)
    return Section(f"group-{label}", f"Leaderboard {label}: {group.describe()}",
                   "\n\n".join(md), "\n".join(page))


def _group_plots(group: Group, label: str, table: pd.DataFrame, per_track: pd.DataFrame,
                 runs: pd.DataFrame, reference: Reference | None, out_dir: Path,
                 pair: tuple[str, str] | None) -> list[tuple[Path, str]]:
    folder = out_dir / "plots"
    order = table["config"].tolist()
    ref = reference.per_track if covers_reference(group, reference) else None
    made = [(plots.boxplot(per_track, folder / f"{label}_boxplot.png", order, ref),
             f"Per-track SDR by configuration ({group.describe()})"
             + ("; grey: published SiSEC 2018 entries" if ref is not None else ""))]
    meta = runs[runs["ranked"] & (runs["group"] == group.id)].set_index("config")
    cells = (table.set_index("config")[["vocals_SDR"]].join(meta[["variant", "mask", "phase"]])
             .dropna(subset=["mask", "phase"]))  # entries (museval JSON) have neither
    if cells["mask"].nunique() > 1 or cells["phase"].nunique() > 1:
        made.append((plots.heatmap(cells.reset_index(), folder / f"{label}_heatmap.png"),
                     "Median vocals SDR over tracks by mask and phase, per algorithm"))
    if pair:
        made.append((plots.scatter(per_track, *pair, folder / f"{label}_scatter.png"),
                     f"Per-track SDR: A = {pair[0]}, B = {pair[1]}"))
    return made


def _friedman_block(per_track: pd.DataFrame, label: str, out_dir: Path, figures: list,
                    order: Sequence[str] = ()) -> tuple[str, str]:
    """Friedman test and Conover-Iman post-hoc over the group's configurations (vocals
    SDR, tracks as blocks): a sentence, a "significantly better than" table and the
    p-value map; below the minimum sample sizes, the sentence says why there is none."""
    result = friedman(per_track, order=order)
    head = "Ranking test (vocals SDR, tracks as blocks, as SiSEC 2018)"
    if result.reason:
        text = f"Not run: {result.reason}."
        return text, f'<h3>{html.escape(head)}</h3><p class="note">{html.escape(text)}</p>'
    verdict = ("the configurations differ" if result.p < ALPHA else
               "no difference detected, so no pair is called different")
    text = (f"{head}: Friedman χ² = {result.statistic:.2f}, p = {result.p:.3g} over "
            f"{result.n_tracks} tracks and {result.n_configs} configurations: {verdict}. "
            f"Post-hoc: Conover-Iman, {P_ADJUST}-adjusted, α = {ALPHA}"
            + (f": not run, {result.posthoc_note}." if result.posthoc_note else "."))
    beats = result.better_than()
    shown = pd.DataFrame({
        "configuration": result.mean_ranks.index,
        "mean rank": result.mean_ranks.map(lambda v: f"{v:.2f}").to_numpy(),
        "significantly better than": [
            "; ".join(beats[c]) if beats[c] else "—" for c in result.mean_ranks.index]})
    fig_md = fig_html = ""
    if not result.posthoc_note:
        path = plots.pvalue_heatmap(result.pvalues, out_dir / "plots" / f"{label}_posthoc.png")
        figures.append(path)
        fig_md, fig_html = figure_markup(path, out_dir,
                                         "Conover-Iman post-hoc p-values (vocals SDR)")
    return ("\n\n".join(p for p in [text, _markdown(shown), fig_md] if p),
            f'<h3>{html.escape(head)}</h3><p class="note">{html.escape(text)}</p>'
            f"{_html_table(shown)}{fig_html}")


def reference_sections(reference: Reference | None, seed: int) -> tuple[list[Section], pd.DataFrame]:
    if reference is None:
        note = ("SiSEC 2018 reference figures not found (the package's reference/ folder, "
                "repet_bench/reference/, is missing); published rows skipped.")
        return [Section("sisec18", "Published: SiSEC 2018", note,
                        f'<p class="note">{html.escape(note)}</p>')], pd.DataFrame()
    table = reference_table(reference, seed)
    shown = display_table(table, with_tests=False)
    shown.insert(2, ("", "run here"), table["counterpart"].to_numpy())
    note = ("Medians from sisec18_summary.csv; CIs bootstrapped from sisec18_pertrack.csv. "
            "REP1 = REPET, REP2 = REPET-SIM, 2DFT = 2D Fourier transform, RPCA = robust PCA, "
            "HPSS = harmonic/percussive separation, HPLP = high/low-pass mask, MELO = Melodia "
            "pitch mask (nussl 0.1.6a0); IBM/IRM = ideal binary/ratio masks (1: magnitude, "
            "2: power), MWF = multichannel Wiener filter (sigsep-mus-oracle: four-source "
            "masks, Hann 2048 / hop 1024; +algo=oracle's two-target masks are another, "
            "higher bound); MIX = the mixture as every estimate. 'run here': the "
            "configuration that reproduces the row (+experiment=sisec18 runs them all).")
    body_html = (f'<div class="reference">{_html_table(shown, "reference")}'
                 f'<p class="note">{html.escape(note)}</p></div>')
    section = Section("sisec18", REFERENCE_TITLE, _markdown(shown) + "\n\n" + note, body_html)
    return [section], table


def field_section(field: pd.DataFrame) -> Section:
    """The SiSEC 2018 field (:func:`sisec18.field_table`) as a report section."""
    shown = pd.DataFrame({
        "#": field["place"].astype(str), "entry": field["entry"], "kind": field["kind"],
        "vocals SDR": field["vocals_SDR"].map(format_number),
        "accompaniment SDR": field["accompaniment_SDR"].map(format_number),
        "n": field["n_tracks"].astype(str), "figures": field["source"], "note": field["note"]})
    note = ("Every SiSEC 2018 MUS entry by its published median vocals SDR over the 50 "
            "MUSDB18 test tracks (sisec18_field_summary.csv; blind = no training data, as "
            "sigsep-mus-2018 marks it), with this report's best configurations placed by "
            "their own medians. A configuration not measured on all 50 test tracks is placed "
            "by figures of other tracks: its place is a rough position, not a ranking.")
    return Section("sisec18-field", "SiSEC 2018 field", _markdown(shown) + "\n\n" + note,
                   _html_table(shown) + f'<p class="note">{html.escape(note)}</p>')


def comparison_section(comparison: pd.DataFrame, labels: dict) -> Section:
    shown = pd.DataFrame({
        "leaderboard": comparison["group"].map(labels), "configuration": comparison["config"],
        "SiSEC entry": comparison["reference"], "target": comparison["target"],
        "n": comparison["n"], "median Δ SDR (ours − published)": comparison["median_diff"].map(
            lambda v: "" if pd.isna(v) else f"{v:+.2f}"),
        "p": [("n/a" if pd.isna(p) else f"{p:.3g}" + (" *" if p < ALPHA else ""))
              for p in comparison["p"]]})
    note = ("Paired over the 50 tracks: per-track SDR (median over frames) of the run minus "
            "the published entry's; two-sided Wilcoxon signed-rank test, * p < 0.05.")
    return Section("sisec18-paired", "Per-track comparison with SiSEC 2018",
                   _markdown(shown) + "\n\n" + note,
                   _html_table(shown) + f'<p class="note">{html.escape(note)}</p>')


def not_ranked_section(runs: pd.DataFrame, out_dir: Path) -> Section:
    rest = runs[~runs["ranked"]]
    if rest.empty:
        text = "Every run dir found was complete and ranked."
        return Section("not-ranked", "Not ranked", text, f'<p class="note">{text}</p>')
    shown = pd.DataFrame({
        "run": rest["run"].map(lambda r: os.path.relpath(r, out_dir)),
        "status": rest["status"], "configuration": rest["config"],
        "scored": [f"{s}/{n}" for s, n in zip(rest["n_scored"], rest["n_tracks"])],
        "why not ranked": rest["reason"]})
    note = "Runs that are partial, running, interrupted, unreadable or duplicates: listed, not ranked."
    return Section("not-ranked", "Not ranked", note + "\n\n" + _markdown(shown),
                   f'<p class="note">{note}</p>' + _html_table(shown))
