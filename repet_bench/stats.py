"""Statistics over per-track scores: bootstrap CIs of the median, paired tests, ranking.

Every function takes the tidy per-track medians of :func:`results.per_track_medians`
(``config, subset, track, target, metric, score``): tracks are the unit of replication,
as in SiSEC 2018's analysis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

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
    from scipy import stats  # here: ~0.9 s to import, and a run never needs it

    ci = stats.bootstrap((x,), np.median, confidence_level=CONFIDENCE, method="percentile",
                         random_state=np.random.default_rng(seed)).confidence_interval
    return float(ci.low), float(ci.high)


def wilcoxon_floor(n: int) -> str:
    """What the smallest p of the leaderboard's Wilcoxon test is on ``n`` tracks: scipy's
    exact signed-rank test (n ≤ 50, no ties) gives at least 2 / 2ⁿ, when every track
    differs the same way.

    >>> wilcoxon_floor(6).split(":")[0]
    'With 6 tracks the smallest p a paired Wilcoxon test can give is 0.0312 (every track better)'
    """
    if n < MIN_WILCOXON_PAIRS:
        return (f"With {n} track(s) no Wilcoxon test is run (it needs at least "
                f"{MIN_WILCOXON_PAIRS} tracks that differ).")
    if n > 50:  # scipy's normal approximation: no floor worth stating
        return ""
    floor = f"{2.0 ** (1 - n):.3g}"
    return (f"With {n} tracks the smallest p a paired Wilcoxon test can give is {floor} "
            f"(every track better): p = {floor} is the strongest evidence possible here, "
            "not a weak result.")


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
    from scipy import stats

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


# Friedman's chi-square approximation and a post-hoc test need a few blocks (tracks) and
# at least three groups; below these the page says so instead of printing a p-value.
MIN_FRIEDMAN_CONFIGS = 3
MIN_FRIEDMAN_TRACKS = MIN_WILCOXON_PAIRS
# Conover-Iman p-values are adjusted for the k(k-1)/2 comparisons (Holm: controls the
# family-wise error, uniformly more powerful than Bonferroni).
P_ADJUST = "holm"


@dataclass
class Friedman:
    """Friedman test over the configurations of one leaderboard and Conover-Iman post-hoc.

    Attributes
    ----------
    n_tracks, n_configs : int
        Blocks (tracks scored by every configuration, NaN-free) and groups.
    statistic, p : float
        Friedman's chi-square and its p-value (NaN when ``reason`` is set).
    mean_ranks : Series
        Mean rank per configuration over tracks, 1 = best (highest score), best first.
    pvalues : DataFrame
        Conover-Iman p-values (Holm-adjusted), configurations × configurations, in the
        order of ``mean_ranks``; empty when ``reason`` is set.
    reason : str
        Why no test was run (too few tracks or configurations), else "".
    posthoc_note : str
        Why the post-hoc p-values are NaN although the Friedman test ran, else "".
    """

    n_tracks: int
    n_configs: int
    statistic: float = np.nan
    p: float = np.nan
    mean_ranks: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    pvalues: pd.DataFrame = field(default_factory=pd.DataFrame)
    reason: str = ""
    posthoc_note: str = ""

    def better_than(self, alpha: float = ALPHA) -> dict[str, list[str]]:
        """Configuration → those it beats: a better mean rank and a post-hoc p < alpha,
        after a significant Friedman test (otherwise none)."""
        if self.reason or not self.p < alpha:
            return {c: [] for c in self.mean_ranks.index}
        ranks = self.mean_ranks
        return {a: [b for b in ranks.index if ranks[a] < ranks[b] and self.pvalues.loc[a, b] < alpha]
                for a in ranks.index}


def friedman(per_track: pd.DataFrame, target: str = "vocals", metric: str = "SDR",
             order: Sequence[str] = ()) -> Friedman:
    """Friedman test and Conover-Iman post-hoc p-values over the configurations of one
    group (tracks are the blocks), as SiSEC 2018's analysis ranked its entries.

    Tracks not scored by every configuration (or NaN in one) are left out. ``order``: the
    leaderboard's order of the configurations, which breaks ties of mean rank (so the
    p-value map lists them as the leaderboard does).

    Examples
    --------
    Three configurations 2 dB apart on 12 tracks, with per-track noise of 1 dB:

    >>> noise = np.random.default_rng(0).normal(size=(12, 3))
    >>> rows = [{"config": c, "subset": "test", "track": f"t{i}", "target": "vocals",
    ...          "metric": "SDR", "score": base + noise[i, j]}
    ...         for i in range(12) for j, (c, base) in enumerate(
    ...             [("good", 5.0), ("mid", 3.0), ("bad", 1.0)])]
    >>> result = friedman(pd.DataFrame(rows))
    >>> list(result.mean_ranks.index), bool(result.p < 0.001)
    (['good', 'mid', 'bad'], True)
    >>> result.better_than()["good"]
    ['mid', 'bad']
    """
    import scikit_posthocs as sp

    rows = per_track[(per_track["target"] == target) & (per_track["metric"] == metric)]
    table = rows.pivot_table(index=["subset", "track"], columns="config", values="score",
                             aggfunc="first").dropna()
    n, k = table.shape
    if k < MIN_FRIEDMAN_CONFIGS:
        return Friedman(n, k, reason=f"a Friedman test needs at least {MIN_FRIEDMAN_CONFIGS} "
                                     f"configurations (this leaderboard has {k})")
    if n < MIN_FRIEDMAN_TRACKS:
        return Friedman(n, k, reason=f"a Friedman test needs at least {MIN_FRIEDMAN_TRACKS} "
                                     f"tracks scored by every configuration (this leaderboard "
                                     f"has {n}); run more tracks for a ranking test")
    position = {c: i for i, c in enumerate(order)}
    ranks = table.rank(axis=1, ascending=False).mean()
    ranks = ranks.iloc[sorted(range(len(ranks)), key=lambda i: (
        ranks.iloc[i], position.get(ranks.index[i], len(position))))]
    from scipy import stats

    statistic, p = stats.friedmanchisquare(*(table[c].to_numpy() for c in table.columns))
    order = list(ranks.index)
    if (table.rank(axis=1).nunique() == 1).all():
        # Every track ranks the configurations alike: Conover-Iman's residual variance is
        # 0 and its statistic divides by it (scikit-posthocs returns p = 0, with a
        # RuntimeWarning): undefined, not "infinitely significant".
        nan = pd.DataFrame(np.nan, index=order, columns=order)
        return Friedman(n, k, float(statistic), float(p), ranks, nan, posthoc_note=(
            "every track ranks the configurations in the same order, so Conover-Iman's "
            "residual variance is 0 and its p-values are undefined; the Friedman test stands"))
    pvalues = sp.posthoc_conover_friedman(table.to_numpy(), p_adjust=P_ADJUST)
    pvalues.index = pvalues.columns = table.columns
    return Friedman(n, k, float(statistic), float(p), ranks, pvalues.loc[order, order])
