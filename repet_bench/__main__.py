"""Hydra entry point: ``python -m repet_bench +algo=repet [group=option ...] [key=value ...]``.

Also ``--help``, ``params group=option ...`` and ``separate FILE...`` (:mod:`commands`,
:mod:`separate_cli`), answered before Hydra starts.
"""

from __future__ import annotations

import logging
import signal
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from .algorithms import uses_strategies
from .config import available, register_configs

log = logging.getLogger("repet_bench")

# Exit codes: some tracks failed / the run could not start (bad config or dataset).
EXIT_FAILED_TRACKS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_exit_code = 0


def _fail(message: str, code: int) -> None:
    global _exit_code
    print(f"repet_bench: {message}", file=sys.stderr)
    _exit_code = max(_exit_code, code)


def crosscheck_lines(check: dict | None) -> list[str]:
    """What the run's cross-check of eval=fast against museval found (none: no line)."""
    from .metrics import CROSSCHECK_TOLERANCE_DB, largest_difference

    if not check:
        return []
    where = f"{check['seconds']:.0f} s of {check['track']}"
    if "skipped" in check:
        return [f"eval=fast not checked against museval on {where}: {check['skipped']}"]
    worst, value = largest_difference(check)
    line = (f"eval=fast checked against museval on {where} ({check['frames']} frames): largest "
            f"difference {value:.1g} dB ({worst})")
    if value > CROSSCHECK_TOLERANCE_DB:
        return [f"WARNING: {line}, above {CROSSCHECK_TOLERANCE_DB} dB: these scores are not "
                "museval's; rerun with eval=museval and report it"]
    return [line]


def format_summary(result, cfg: DictConfig) -> str:
    what = cfg.algo.name + (f" method={cfg.algo.method}" if "method" in cfg.algo else "")
    if uses_strategies(cfg.algo.name):  # the others make (or are) their own estimates
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


@hydra.main(config_path="pkg://repet_bench.conf", config_name="config", version_base="1.3")
def app(cfg: DictConfig) -> None:
    if cfg.get("algo") is None:
        _fail("no algorithm chosen. Add one with +algo=<name>, e.g.\n"
              "  python -m repet_bench +algo=repet\n"
              f"available algorithms: {', '.join(available('algo'))}", EXIT_USAGE)
        return
    from .data import DatasetError
    from .runner import RunError, run
    from .sweep import take_session

    out_dir = HydraConfig.get().runtime.output_dir
    try:
        result = run(cfg, out_dir, take_session(out_dir))
    except (DatasetError, RunError, ValueError) as exc:
        _fail(str(exc), EXIT_USAGE)
        return
    except KeyboardInterrupt:
        _fail(f"interrupted; finished tracks are kept in {out_dir}. Rerun the same command "
              "to resume.", EXIT_INTERRUPTED)
        return
    if result is None:  # dry run
        return
    print(format_summary(result, cfg))
    if not result.ok:
        _fail(f"{len(result.failures)} track(s) failed; their errors are in "
              f"{out_dir}/tracks/. Rerun the same command to retry them.", EXIT_FAILED_TRACKS)


def _terminate(signum, frame):
    raise KeyboardInterrupt  # SIGTERM (e.g. a scheduler's kill) ends a run like Ctrl-C


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    register_configs()
    from . import commands
    from .preflight import check

    args = sys.argv[1:]
    if args[:1] in (["--help"], ["-h"]):
        print(commands.help_text(), end="")
        sys.exit(0)
    if args[:1] == ["params"]:
        try:
            print(commands.params_text(args[1:]), end="")
        except ValueError as exc:
            print(f"repet_bench: {exc}", file=sys.stderr)
            sys.exit(EXIT_USAGE)
        sys.exit(0)
    if args[:1] == ["separate"]:
        from .separate_cli import main as separate_files

        sys.exit(separate_files(args[1:]))
    # A sweep's dir is named by its command, so the same command resumes it.
    sys.argv[1:] = commands.with_sweep_dir(args)
    problem = check(sys.argv[1:])  # config errors and an unwritable results dir: one line
    if problem:
        print(f"repet_bench: {problem}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    try:
        app()
    except KeyboardInterrupt:  # in a shared sweep's pass (a point's run reports its own)
        print("repet_bench: interrupted; finished tracks are kept in the sweep's run dirs. "
              "Rerun the same command to resume.", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(_exit_code)


if __name__ == "__main__":
    main()
