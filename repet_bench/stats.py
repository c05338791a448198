"""Statistics over per-track scores: bootstrap CIs of the median, paired tests, ranking.

Every function takes the tidy per-track medians of :func:`results.per_track_medians`
(``config, subset, track, target, metric, score``): tracks are the unit of replication,
as in SiSEC 2018's analysis.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .data import TARGETS
from .results import median_over_tracks


SEED = 0                 # bootstrap seed: the same runs always give the same report


CONFIDENCE = 0.95


MIN_CI_TRACKS = 3        # below this a bootstrap CI of the median is meaningless
# Fewest nonzero paired differences for which a two-sided exact Wilcoxon p can fall below
# 0.05 (its smallest p with n pairs is 2 / 2**n: 0.0625 at n=5, 0.031 at n=6).


MIN_WILCOXON_PAIRS = 6


ALPHA = 0.05


def median_ci(values, seed: int = SEED) -> tuple[float, float]:
    """Percentile-bootstrap CI of the median of per-track scores.

    The percentile method, not BCa: BCa's jackknife acceleration is unreliable for a
    non-smooth statistic such as the median. Returns (nan, nan) for fewer than
    ``MIN_CI_TRACKS`` scored tracks rather than a meaningless interval.
    """
    x = np.asarray(values, float)
    x = x[~np.isnan(x)]
    if x.size < MIN_CI_TRACKS:
        return np.nan, np.nan
    ci = stats.bootstrap((x,), np.median, confidence_level=CONFIDENCE, method="percentile",
                         random_state=np.random.default_rng(seed)).confidence_interval
    return float(ci.low), float(ci.high)


def paired_wilcoxon(a: pd.Series, b: pd.Series) -> tuple[int, float, float]:
    """Two-sided Wilcoxon signed-rank test of paired per-track scores.

    Parameters
    ----------
    a, b : Series
        Scores indexed by track; pairs are matched on the index, NaN pairs dropped.

    Returns
    -------
    n : int
        Paired tracks.
    median_diff : float
        Median of ``a - b`` over the pairs.
    p : float
        NaN when fewer than ``MIN_WILCOXON_PAIRS`` pairs differ (no p below 0.05 is
        possible) or the scores are identical.
    """
    both = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner").dropna()
    diff = both["a"] - both["b"]
    median = float(diff.median()) if len(diff) else np.nan
    if (diff != 0).sum() < MIN_WILCOXON_PAIRS:
        return len(both), median, np.nan
    return len(both), median, float(stats.wilcoxon(both["a"], both["b"]).pvalue)


def track_scores(per_track: pd.DataFrame, config: str, target: str,
                 metric: str = "SDR") -> pd.Series:
    """One configuration's per-track scores of one target and metric, indexed by
    ``(subset, track)``."""
    rows = per_track[(per_track["config"] == config) & (per_track["target"] == target)
                     & (per_track["metric"] == metric)]
    return rows.set_index(["subset", "track"])["score"]


def leaderboard(per_track: pd.DataFrame, seed: int = SEED) -> pd.DataFrame:
    """Rank the configurations of one group by median vocals SDR.

    Parameters
    ----------
    per_track : DataFrame
        Tidy per-track medians of one group (``config, subset, track, target, metric,
        score``).

    Returns
    -------
    DataFrame
        One row per configuration, best first: ``rank, config, n_tracks, n_undefined``
        (tracks whose scores are NaN: a silent source), the median over
        tracks of each ``<target>_<metric>`` (dB), ``<target>_SDR_ci_low/high`` (bootstrap
        CI, NaN below 3 tracks), and for vocals SDR against the best configuration
        ``n_paired, median_diff, p_vs_best, significant``.
    """
    table = median_over_tracks(per_track)
    table = table.reset_index().sort_values(["vocals_SDR", "config"], ascending=[False, True],
                                            na_position="last", ignore_index=True)
    for target in TARGETS:
        cis = [median_ci(track_scores(per_track, c, target), seed) for c in table["config"]]
        table[f"{target}_SDR_ci_low"], table[f"{target}_SDR_ci_high"] = zip(*cis) if cis else ((), ())
    best = track_scores(per_track, table["config"].iloc[0], "vocals")
    tests = [paired_wilcoxon(track_scores(per_track, c, "vocals"), best) if i else
             (np.nan, np.nan, np.nan) for i, c in enumerate(table["config"])]
    table["n_paired"], table["median_diff"], table["p_vs_best"] = zip(*tests)
    table["significant"] = table["p_vs_best"] < ALPHA
    table.insert(0, "rank", range(1, len(table) + 1))
    return table
