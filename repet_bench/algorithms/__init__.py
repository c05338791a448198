"""Separation algorithms; importing this package registers all of them."""

from .registry import ALGORITHMS, Algorithm, Context, Models, get_algorithm, register
from . import repet  # noqa: F401  (registers "repet")

__all__ = ["ALGORITHMS", "Algorithm", "Context", "Models", "get_algorithm", "register"]
