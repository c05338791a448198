"""What the command line says of a run's outcome, and the exit code it leaves.

Both launchers report through :func:`report`: Hydra's basic (and submitit) launcher
calls :func:`repet_bench.__main__.app` per point, which runs the point and reports it;
the shared launcher runs every point at once and hands each its outcome.

The package is imported for ``--help`` too: what a run needs is imported when it reports.
"""

from __future__ import annotations

import sys

from hydra.core.hydra_config import HydraConfig
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


def format_summary(result, cfg: DictConfig) -> str:
    what = cfg.algo.name + (f" method={cfg.algo.method}" if "method" in cfg.algo else "")
    if uses_strategies(cfg.algo):  # the others make (or are) their own estimates
        what += f" | mask={cfg.mask.name} | phase={cfg.phase.name}"
    head = (f"{what} | dataset={cfg.dataset.name}: {result.n_scored}/{result.n_tracks} tracks scored"
            f" ({result.n_resumed} resumed), {len(result.failures)} failed")
    lines = [head]
    if result.summary is not None:
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
        print(format_summary(outcome, cfg))
        if not outcome.ok:
            fail(f"{len(outcome.failures)} track(s) failed; their errors are in "
                 f"{out_dir}/tracks/. Rerun the same command to retry them.", EXIT_FAILED_TRACKS)
