"""The leaderboard's ranking test (Friedman, Conover-Iman post-hoc) on edge cases."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from repet_bench.stats import P_ADJUST, friedman


def _rows(scores: np.ndarray) -> pd.DataFrame:
    """Tidy per-track vocals SDR of configurations c0, c1, ... (columns of ``scores``)."""
    return pd.DataFrame([{"config": f"c{j}", "subset": "test", "track": f"t{i:02d}",
                          "target": "vocals", "metric": "SDR", "score": float(v)}
                         for (i, j), v in np.ndenumerate(scores)])


def test_post_hoc_p_values_are_scikit_posthocs_conover():
    import scikit_posthocs as sp

    scores = np.random.default_rng(1).normal(size=(8, 3)) + [2.0, 1.0, 0.0]
    result = friedman(_rows(scores))
    theirs = sp.posthoc_conover_friedman(scores, p_adjust=P_ADJUST)
    theirs.index = theirs.columns = ["c0", "c1", "c2"]
    order = list(result.mean_ranks.index)
    assert not result.posthoc_note
    pd.testing.assert_frame_equal(result.pvalues, theirs.loc[order, order], check_names=False)


def test_tracks_that_all_rank_alike_leave_the_post_hoc_undefined():
    """Perfect agreement: Conover-Iman divides by a zero residual variance (scikit-posthocs
    warns and gives p = 0); the test says it is undefined, and calls no pair different."""
    scores = np.arange(8)[:, None] + np.array([2.0, 1.0, 0.0])  # c0 > c1 > c2 on every track
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = friedman(_rows(scores))
    assert result.p < 0.01 and "same order" in result.posthoc_note
    assert result.pvalues.isna().all().all()
    assert result.better_than() == {"c0": [], "c1": [], "c2": []}
    assert list(result.mean_ranks.index) == ["c0", "c1", "c2"]
    assert result.mean_ranks.tolist() == pytest.approx([1.0, 2.0, 3.0])
