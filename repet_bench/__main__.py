"""Hydra entry point: ``python -m repet_bench +algo=repet [group=option ...] [key=value ...]``.

Also ``--help``, ``params group=option ...`` and ``separate FILE...`` (:mod:`commands`,
:mod:`separate_cli`), answered before Hydra starts.
"""

from __future__ import annotations

import signal
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from .cli import EXIT_INTERRUPTED, EXIT_USAGE, exit_code, report
from .config import register_configs


@hydra.main(config_path="pkg://repet_bench.conf", config_name="config", version_base="1.3")
def app(cfg: DictConfig) -> None:
    """One point: run it (:func:`repet_bench.runner.run_points` of one) and report it.
    The shared launcher runs a sweep's points together and reports each the same way."""
    from pathlib import Path

    from .runner import run_points  # imported when a run starts, not for --help

    if cfg.get("algo") is None:
        report(cfg, None)
        return
    try:
        (outcome,) = run_points([(cfg, Path(HydraConfig.get().runtime.output_dir))])
    except KeyboardInterrupt as exc:
        outcome = exc
    report(cfg, outcome)


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
    sys.argv[1:] = commands.with_sweep_dir(commands.flags_first(args))
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
    sys.exit(exit_code())


if __name__ == "__main__":
    main()
