"""Configs as the command line composes them, for tests that run in-process."""

from __future__ import annotations

from hydra import compose, initialize_config_module
from omegaconf import DictConfig, OmegaConf

from repet_bench.config import register_configs


def compose_cfg(*overrides: str, hydra: bool = False) -> DictConfig:
    """The config ``python -m repet_bench *overrides`` composes (``hydra``: with its
    ``hydra`` node)."""
    register_configs()
    with initialize_config_module("repet_bench.conf", version_base="1.3"):
        return compose("config", overrides=list(overrides), return_hydra_config=hydra)


def composed(*overrides: str) -> dict:
    """:func:`compose_cfg`, resolved into a plain dict."""
    return OmegaConf.to_container(compose_cfg(*overrides), resolve=True)
