"""Shared fixtures: an isolated cache (sample root, synthetic tracks) for the whole session."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from repet_bench import data


@pytest.fixture(scope="session")
def cache(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cache")
    os.environ["REPET_BENCH_CACHE"] = str(path)  # subprocesses (the CLI) use it too
    return path


def dataset_cfg(**overrides) -> SimpleNamespace:
    """A ``dataset`` config as the runner sees it (attribute access)."""
    base = dict(name="sample", root=None, is_wav=False, subsets=["test"], split=None, tracks=[],
                max_tracks=None, offset=0.0, duration=None, n_tracks=4, seed=0)
    base.update(overrides)
    return SimpleNamespace(**base)


@pytest.fixture(scope="session")
def sample_track(cache):
    return data.load_track(data.list_tracks(dataset_cfg(), cache)[0])


@pytest.fixture(scope="session")
def synthetic_tracks(cache):
    refs = data.list_tracks(dataset_cfg(name="synthetic", is_wav=True), cache)
    return [data.load_track(r) for r in refs]
