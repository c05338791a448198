"""Shared fixtures: an isolated cache (sample root, synthetic tracks) for the whole session."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from repet_bench import data
from repet_bench.config import available, option


@pytest.fixture(scope="session")
def cache(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cache")
    os.environ["REPET_BENCH_CACHE"] = str(path)  # subprocesses (the CLI) use it too
    return path


def dataset_cfg(**overrides) -> SimpleNamespace:
    """A ``dataset`` config as the runner sees it (attribute access): the packaged option
    ``overrides["name"]`` (default ``sample``; musdb18's keys for a name of the test's own)
    with ``overrides`` on top."""
    name = overrides.get("name", "sample")
    base = option("dataset", name if name in available("dataset") else "musdb18")
    return SimpleNamespace(**{**base, **overrides})


@pytest.fixture(scope="session")
def sample_track(cache):
    return data.load_track(data.list_tracks(dataset_cfg(), cache)[0])


@pytest.fixture(scope="session")
def synthetic_tracks(cache):
    refs = data.list_tracks(dataset_cfg(name="synthetic", is_wav=True), cache)
    return [data.load_track(r) for r in refs]
