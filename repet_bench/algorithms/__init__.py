"""Separation algorithms; importing this package registers all of them."""

from .registry import (FLAVOURS, ALGORITHMS, Algorithm, Context, Models, get_algorithm,
                       is_bound, register, uses_strategies)
from . import repet  # noqa: F401  (registers "repet")
from . import repet_sim  # noqa: F401  (registers "repet_sim")
from . import ft2d  # noqa: F401  (registers "ft2d")
from . import adaptive_repet  # noqa: F401  (registers "adaptive_repet")
from . import repet_extended  # noqa: F401  (registers "repet_extended")
from . import oracles  # noqa: F401  (registers "oracle", "mix")
from . import sigsep_oracles  # noqa: F401  (registers "sigsep_oracle")
from . import rpca  # noqa: F401  (registers "rpca")
from . import hpss  # noqa: F401  (registers "hpss")
from . import hplp  # noqa: F401  (registers "hplp")
from . import rafii  # noqa: F401  (the rafii flavours; registers "repet_sim_online")
from .. import estimates  # noqa: F401  (registers "estimates": another method's output)

__all__ = ["FLAVOURS", "ALGORITHMS", "Algorithm", "Context", "Models", "get_algorithm", "is_bound",
           "register", "uses_strategies"]
