"""repet_bench's Hydra launcher (``hydra/launcher=shared``): see :mod:`repet_bench.sweep`."""

from .shared_launcher import SharedLauncher

__all__ = ["SharedLauncher"]
