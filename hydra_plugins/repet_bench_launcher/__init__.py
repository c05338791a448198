"""repet_bench's Hydra launcher (``hydra/launcher=shared``): see :func:`repet_bench.runner.run_points`."""

from .shared_launcher import SharedLauncher

__all__ = ["SharedLauncher"]
