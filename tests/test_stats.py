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


def test_configurations_tied_in_mean_rank_keep_the_leaderboards_order():
    scores = np.array([[3.0, 1.0, 2.0, 0.0], [1.0, 3.0, 2.0, 0.0]] * 4)  # c0 and c1 tie
    for order in (["c1", "c0", "c2", "c3"], ["c0", "c1", "c2", "c3"]):
        result = friedman(_rows(scores), order=order)
        assert list(result.mean_ranks.index) == order
        assert list(result.pvalues.index) == order


def test_the_framewise_plot_gives_every_line_its_own_look(tmp_path, monkeypatch):
    from repet_bench import plots

    kept = {}
    monkeypatch.setattr(plots, "_save", lambda fig, path: kept.setdefault("fig", fig) and path)
    frames = pd.DataFrame([{"config": f"config {i}", "time": float(t), "score": i + t}
                           for i in range(13) for t in range(5)])
    plots.framewise(frames, tmp_path / "f.png")
    lines = kept["fig"].axes[0].get_lines()
    assert len(lines) == 13
    assert len({(line.get_color(), line.get_linestyle()) for line in lines}) == 13


def test_p_value_levels_differ_in_lightness():
    """p < 0.001, < 0.01, < 0.05 and n.s. are told apart without telling hues apart."""
    from matplotlib.colors import to_rgb

    from repet_bench import plots

    colours = plots.PVALUE_COLOURS
    lightness = [0.2126 * r + 0.7152 * g + 0.0722 * b for r, g, b in map(to_rgb, colours)]
    assert lightness == sorted(lightness)
    assert min(np.diff(lightness)) > 0.1
