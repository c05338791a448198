"""What the command line says of a run's outcome, and the exit code it leaves.

Both launchers report through :func:`report`: Hydra's basic (and submitit) launcher
calls :func:`repet_bench.__main__.app` per point, which runs the point and reports it;
the shared launcher runs every point at once and hands each its outcome.

The package is imported for ``--help`` too: what a run needs is imported when it reports.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from .algorithms import uses_strategies
from .config import available

# Exit codes: some tracks failed / the run could not start (bad config or dataset).
EXIT_FAILED_TRACKS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# The worst outcome reported so far in this process: a sweep exits with it.
_exit_code = 0


def exit_code() -> int:
    return _exit_code


def fail(message: str, code: int) -> None:
    global _exit_code
    print(f"repet_bench: {message}", file=sys.stderr)
    _exit_code = max(_exit_code, code)


def crosscheck_lines(check: dict | None) -> list[str]:
    """What the run's cross-check of eval=fast against museval found (none: no line)."""
    from .evaluation import crosscheck_warning, largest_difference

    if not check:
        return []
    where = f"{check['seconds']:.0f} s of {check['track']}"
    if "skipped" in check:
        return [f"eval=fast not checked against museval on {where}: {check['skipped']}"]
    warning = crosscheck_warning(check)
    if warning:
        return [f"WARNING: {where}: {warning}"]
    worst, value = largest_difference(check)
    return [f"eval=fast checked against museval on {where} ({check['frames']} frames): "
            f"largest difference {value:.1g} dB ({worst})"]


def format_summary(result, cfg: DictConfig, compact: bool = False) -> str:
    """What a run prints: its tracks, the SiSEC aggregate, the cross-check, failures and
    where the results are. ``compact`` (a sweep's point): the SDR medians on one line, the
    sweep's ranking follows its last point (:class:`SweepRanking`)."""
    what = cfg.algo.name + (f" method={cfg.algo.method}" if "method" in cfg.algo else "")
    if uses_strategies(cfg.algo):  # the others make (or are) their own estimates
        what += f" | mask={cfg.mask.name} | phase={cfg.phase.name}"
    head = (f"{what} | dataset={cfg.dataset.name}: {result.n_scored}/{result.n_tracks} tracks scored"
            f" ({result.n_resumed} resumed), {len(result.failures)} failed")
    lines = [head]
    if result.summary is not None and compact:
        sdr = ", ".join(f"{target} SDR {result.summary.loc[target, 'SDR']:.2f}"
                        for target in result.summary.index)
        lines.append(f"  {sdr} dB (median over frames, then over tracks)")
    elif result.summary is not None:
        lines += ["median over frames, then over tracks (dB):",
                  result.summary.to_string(float_format=lambda v: f"{v:7.2f}")]
    if result.undefined:
        key, reason = next(iter(result.undefined.items()))
        lines.append(f"{len(result.undefined)} of {result.n_scored} scored track(s) have no "
                     f"defined scores (NaN, left out of the medians), e.g. {key}: "
                     f"{reason.splitlines()[0][:120]}")
    lines += crosscheck_lines(result.crosscheck)
    for key, error in result.failures.items():
        lines.append(f"FAILED {key}: {error}")
    lines.append(f"results: {result.out_dir}")
    return "\n".join(lines)


def report(cfg: DictConfig, outcome) -> None:
    """Print one point's outcome (:func:`repet_bench.runner.run_points`) and raise the
    exit code to match; an unexpected exception is re-raised (a bug, with its traceback).
    ``outcome`` None: no algorithm was chosen."""
    from .data import DatasetError
    from .runner import RunError  # the run's modules: not imported for --help

    if cfg.get("algo") is None:
        fail("no algorithm chosen. Add one with +algo=<name>, e.g.\n"
             "  python -m repet_bench +algo=repet\n"
             f"available algorithms: {', '.join(available('algo'))}", EXIT_USAGE)
        return
    out_dir = HydraConfig.get().runtime.output_dir
    if isinstance(outcome, (DatasetError, RunError, ValueError)):
        fail(str(outcome), EXIT_USAGE)
    elif isinstance(outcome, KeyboardInterrupt):
        fail(f"interrupted; finished tracks are kept in {out_dir}. Rerun the same command "
             "to resume.", EXIT_INTERRUPTED)
    elif isinstance(outcome, BaseException):
        raise outcome
    elif isinstance(outcome, str):  # a dry run's plan
        print(outcome)
    else:
        print(format_summary(outcome, cfg, compact=HydraConfig.get().mode == RunMode.MULTIRUN))
        if not outcome.ok:
            fail(f"{len(outcome.failures)} track(s) failed; their errors are in "
                 f"{out_dir}/tracks/. Rerun the same command to retry them.", EXIT_FAILED_TRACKS)


def sweep_ranking(sweep_dir: Path, top: int = 10) -> str:
    """The closing lines of a sweep: its complete points ranked as the report ranks them
    (median vocals SDR over tracks) and the command that makes the full report."""
    from .results import load_scores
    from .api import leaderboard

    command = f"python -m repet_bench.report {shlex.quote(str(sweep_dir))}"
    scores = load_scores(sweep_dir, frames=False)
    if scores.empty:
        return f"no point of the sweep is complete yet; once they are: {command}"
    board = leaderboard(scores)
    width = min(60, int(board["config"].str.len().max()))
    lines = []
    for group, rows in board.groupby("group", sort=False):
        title = "" if board["group"].nunique() == 1 else f" (group {group})"
        lines.append(f"sweep ranking{title}, median over tracks (dB):")
        lines.append(f"  {'rank':>4}  {'configuration':<{width}}  {'vocals SDR':>10}  "
                     f"{'accompaniment SDR':>17}")
        for _, row in rows.head(top).iterrows():
            lines.append(f"  {row['rank']:>4}  {row['config'][:width]:<{width}}  "
                         f"{row['vocals_SDR']:>10.2f}  {row['accompaniment_SDR']:>17.2f}")
        if len(rows) > top:
            lines.append(f"  ... {len(rows) - top} more")
    lines.append(f"leaderboards with statistics, plots and per-track figures: {command}")
    return "\n".join(lines)


class SweepRanking(Callback):
    """Hydra callback (``hydra.callbacks`` in conf/config.yaml): after a sweep's last
    point, under any launcher, :func:`sweep_ranking` of its dir (not after a dry run)."""

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        if config.runner.get("dry_run"):
            return
        print(sweep_ranking(Path(str(config.hydra.sweep.dir))))
