"""The Examples sections of the documented modules run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["repet_bench.stft", "repet_bench.cache", "repet_bench.masks", "repet_bench.preflight",
           "repet_bench.algorithms.repet", "repet_bench.algorithms.repet_sim",
           "repet_bench.algorithms.ft2d", "repet_bench.algorithms.rpca",
           "repet_bench.algorithms.hpss", "repet_bench.algorithms.hplp",
           "repet_bench.algorithms.sigsep_oracles", "repet_bench.algorithms.oracles",
           "repet_bench.api", "repet_bench.config",
           "repet_bench.results", "repet_bench.metrics", "repet_bench.commands"]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name, cache):  # cache: the API examples build the sample root there
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, result
