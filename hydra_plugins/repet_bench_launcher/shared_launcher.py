"""A Hydra launcher that gives repet_bench every point of a sweep at once.

Hydra's basic launcher runs the points one after another, each from scratch. This one
runs all of them in one :func:`repet_bench.runner.run_points` (one decode per track, one
separation per algorithm and STFT, the points' files written as their own runs would),
then launches each point as the basic launcher does (same run dirs, ``.hydra/`` files,
logs and exit codes) with a task that reports the outcome the pass returned for it
(:func:`repet_bench.cli.report`). ``hydra/launcher=basic`` is the point-by-point sweep.
Selected by ``conf/hydra/launcher/shared.yaml``.

It lives in ``hydra_plugins`` because Hydra instantiates launchers only from there;
:func:`repet_bench.config.register_configs` registers it explicitly too, since Hydra's
scan of ``hydra_plugins`` does not see packages of an editable install.
"""

from __future__ import annotations

import copy
import errno
import logging
from pathlib import Path
from typing import Sequence

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

log = logging.getLogger(__name__)


class SharedLauncher(Launcher):
    def __init__(self) -> None:
        super().__init__()
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction,
              config: DictConfig) -> None:
        self.config, self.hydra_context, self.task_function = config, hydra_context, task_function

    def launch(self, job_overrides: Sequence[Sequence[str]],
               initial_job_idx: int) -> Sequence[JobReturn]:
        from repet_bench.cli import EXIT_USAGE, fail, report
        from repet_bench.runner import run_points

        setup_globals()
        assert self.config is not None and self.hydra_context is not None
        assert self.task_function is not None
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        configs = []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            sweep_config = self.hydra_context.config_loader.load_sweep_config(
                self.config, list(overrides))
            with open_dict(sweep_config):
                sweep_config.hydra.job.id = sweep_config.hydra.job.num = idx
            configs.append(sweep_config)
        # The pass logs as the points' runs do (their console handler; the run dirs' log
        # files belong to the points' launches).
        configure_log(_console_only(self.config.hydra.job_logging), self.config.hydra.verbose)
        outcomes = run_points([_task_config_and_dir(c) for c in configs])
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        log.info(f"Launching {len(configs)} jobs locally")
        runs = []
        for idx, (overrides, sweep_config, outcome) in enumerate(
                zip(job_overrides, configs, outcomes), start=initial_job_idx):
            log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
            # Hydra's task for this point is app (run, then report); its run is done.
            task = _reporter(report, outcome)
            try:
                runs.append(run_job(hydra_context=self.hydra_context,
                                    task_function=task, config=sweep_config,
                                    job_dir_key="hydra.sweep.dir",
                                    job_subdir_key="hydra.sweep.subdir"))
            except OSError as exc:  # Hydra writing the point's .hydra/ files
                if exc.errno != errno.ENOSPC:
                    raise
                fail(f"no space left on the device while Hydra wrote the files of point #{idx} "
                     f"({exc.filename or 'its .hydra/ folder'}); free some space and rerun the "
                     "same command (finished tracks are kept)", EXIT_USAGE)
            configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        return runs


def _reporter(report, outcome) -> TaskFunction:
    """A point's task: report its ``outcome`` of the shared pass."""
    def report_point(cfg: DictConfig) -> None:
        report(cfg, outcome)

    return report_point


def _task_config_and_dir(config: DictConfig) -> tuple[DictConfig, Path]:
    """A point's task config (without ``hydra``) and its run dir, as ``run_job`` makes them."""
    HydraConfig.instance().set_config(config)
    out_dir = Path(str(OmegaConf.select(config, "hydra.sweep.dir")))
    out_dir = out_dir / str(OmegaConf.select(config, "hydra.sweep.subdir"))
    task = copy.deepcopy(config)
    with read_write(task), open_dict(task):
        del task["hydra"]
    return task, out_dir.absolute()


def _console_only(job_logging: DictConfig) -> DictConfig:
    """The job logging config without its file handler (whose path is a point's dir)."""
    cfg = OmegaConf.to_container(job_logging, resolve=False)
    cfg.get("handlers", {}).pop("file", None)
    root = cfg.get("root", {})
    root["handlers"] = [h for h in root.get("handlers", []) if h != "file"]
    return OmegaConf.create(cfg)
