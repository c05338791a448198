"""Report figures: SiSEC-style boxplots, mask × phase heatmaps, per-track scatters,
post-hoc p-value maps and framewise SDR over time.

Every function takes tidy per-track scores (one row per configuration × track × target ×
metric: columns ``config, subset, track, target, metric, score``, the score being the
median over frames of one track) and writes one PNG, atomically.

Figures are built with ``matplotlib.figure.Figure`` and rendered by the Agg canvas, never
through ``pyplot``: no global backend switch or figure registry, so importing this module
from a notebook or a worker process changes nothing and leaks no figures.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .data import TARGETS
from .io import atomic_write

REFERENCE_COLOR = "0.85"  # published SiSEC boxes: grey, so local runs stand out
RUN_COLOR = "#9ecae1"


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    path = Path(path)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    return path


def _wrap(label: str, width: int = 40) -> str:
    return "\n".join(textwrap.wrap(label, width, break_on_hyphens=False)) or label


def _values(scores: pd.DataFrame, config: str, target: str, metric: str) -> np.ndarray:
    """Per-track scores of one configuration and target, NaN (unscorable tracks) dropped."""
    rows = scores[(scores["config"] == config) & (scores["target"] == target)
                  & (scores["metric"] == metric)]
    return rows["score"].dropna().to_numpy(float)


def _by_vocals(scores: pd.DataFrame, metric: str) -> list[str]:
    """Configurations by median vocals ``metric`` over tracks, best first."""
    vocals = scores[(scores["target"] == "vocals") & (scores["metric"] == metric)]
    return vocals.groupby("config")["score"].median().sort_values(ascending=False).index.tolist()


def _clip_left(data: list[np.ndarray]) -> float:
    """Left axis limit that keeps a few near-silent tracks (SDR of -60 dB happens) from
    squeezing every box into a corner; -inf when nothing is that far out."""
    values = np.concatenate([d for d in data if d.size] or [np.zeros(1)])
    floor = np.percentile(values, 2) - 5
    return floor if values.min() < floor - 10 else -np.inf


def boxplot(per_track: pd.DataFrame, path: Path, order: list[str] | None = None,
            reference: pd.DataFrame | None = None, metric: str = "SDR",
            title: str | None = None) -> Path:
    """Boxplots of per-track ``metric`` by configuration, one panel per target (SiSEC style).

    Parameters
    ----------
    per_track : DataFrame
        Tidy per-track scores (``config, subset, track, target, metric, score``).
    path : Path
        PNG to write.
    order : list of str, optional
        Configurations top to bottom (default: by median vocals ``metric``, best first).
    reference : DataFrame, optional
        Published per-track scores in the same tidy layout (``config`` = method name),
        drawn in grey below the runs.
    metric : str
        ``SDR``, ``SIR``, ``SAR`` or ``ISR``.

    Returns
    -------
    Path
        ``path``.
    """
    rows = [(c, per_track, RUN_COLOR) for c in order or _by_vocals(per_track, metric)]
    if reference is not None:
        rows += [(c, reference, REFERENCE_COLOR) for c in _by_vocals(reference, metric)]
    positions = np.arange(len(rows), 0, -1)  # first row on top
    fig = _figure(12, 1.4 + 0.45 * len(rows))
    axes = fig.subplots(1, len(TARGETS), sharey=True, squeeze=False)[0]
    jitter = np.random.default_rng(0)  # fixed: the same scores always give the same image
    for ax, target in zip(axes, TARGETS):
        data = [_values(table, config, target, metric) for config, table, _ in rows]
        boxes = ax.boxplot(data, positions=positions, orientation="horizontal", widths=0.6,
                           patch_artist=True, showfliers=False,
                           medianprops={"color": "black"})
        for patch, (_, _, color) in zip(boxes["boxes"], rows):
            patch.set_facecolor(color)
        left = _clip_left(data)
        for y, values in zip(positions, data):  # every track as a dot: few tracks are common
            shown = np.maximum(values, left)
            ax.scatter(shown, y + jitter.uniform(-0.15, 0.15, values.size), s=10, zorder=3,
                       color="black", alpha=0.6)
        xlabel = f"{metric} (dB), median over frames per track"
        if left > -np.inf:
            ax.set_xlim(left=left - 0.5)
            xlabel += f"\n(tracks below {left:.0f} dB drawn at the left edge)"
        ax.set_title(target)
        ax.set_xlabel(xlabel)
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(positions, [_wrap(config) for config, _, _ in rows])
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def heatmap(cells: pd.DataFrame, path: Path, value: str = "vocals_SDR",
            title: str | None = None) -> Path:
    """Mask × phase grid of a median score, one panel per algorithm variant.

    Parameters
    ----------
    cells : DataFrame
        One row per configuration: ``variant`` (algorithm and its parameters), ``mask``,
        ``phase`` and the ``value`` column (dB).
    path : Path
        PNG to write.
    value : str
        Column to show (default the median vocals SDR over tracks).

    Returns
    -------
    Path
        ``path``.
    """
    masks = sorted(cells["mask"].unique())
    phases = sorted(cells["phase"].unique())
    variants = list(dict.fromkeys(cells["variant"]))
    # Panels in rows of at most three, each with its own colour scale: one scale for all
    # would be set by the oracles (up to ~9 dB above the blind methods) and leave every
    # cell of a blind method the same colour.
    n_cols = min(3, len(variants))
    n_rows = -(-len(variants) // n_cols)
    fig = _figure(0.8 + (1.5 * len(phases) + 1.4) * n_cols, 0.6 + (1.0 + 0.55 * len(masks)) * n_rows)
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    for ax in axes[len(variants):]:
        ax.set_axis_off()
    for ax, variant in zip(axes, variants):
        grid = (cells[cells["variant"] == variant]
                .pivot_table(index="mask", columns="phase", values=value, aggfunc="first")
                .reindex(index=masks, columns=phases)).to_numpy(float)
        lo, hi = (np.nanmin(grid), np.nanmax(grid)) if np.isfinite(grid).any() else (0.0, 0.0)
        image = ax.imshow(grid, cmap="viridis", vmin=lo, vmax=hi if hi > lo else lo + 1e-9,
                          aspect="auto")
        for (i, j), v in np.ndenumerate(grid):
            ax.text(j, i, "—" if np.isnan(v) else f"{v:.2f}", ha="center", va="center",
                    fontsize="large", fontweight="bold" if v == hi else "normal",
                    color="white" if np.isnan(v) or v < (lo + hi) / 2 else "black")
        ax.set_xticks(range(len(phases)), [_wrap(p, 16) for p in phases])
        ax.set_yticks(range(len(masks)), [_wrap(m, 20) for m in masks])
        ax.set_xlabel("phase")
        ax.set_ylabel("mask")
        ax.set_title(_wrap(variant, 34), fontsize="medium")
        fig.colorbar(image, ax=ax, shrink=0.8, label="dB")
    fig.suptitle(title or f"{value.replace('_', ' ')} (median over tracks, dB); "
                 "each panel on its own scale, best cell in bold")
    return _save(fig, path)


# The p-value map's levels, < 0.001, < 0.01, < 0.05 and not significant, told apart in
# lightness, not only hue (ColorBrewer Blues).
PVALUE_COLOURS = ("#08519c", "#4292c6", "#c6dbef", "#f7f7f7")


def pvalue_heatmap(pvalues: pd.DataFrame, path: Path, title: str | None = None) -> Path:
    """Conover-Iman post-hoc p-values between configurations (best mean rank first).

    Cells are coloured by significance level (p < 0.001, < 0.01, < 0.05, not
    significant), as scikit-posthocs' sign plot, and carry the p-value.
    """
    from matplotlib.colors import BoundaryNorm, ListedColormap

    labels = [_wrap(c, 34) for c in pvalues.index]
    k = len(labels)
    values = pvalues.to_numpy(float).copy()
    np.fill_diagonal(values, np.nan)
    cmap = ListedColormap(PVALUE_COLOURS)
    norm = BoundaryNorm([0, 0.001, 0.01, 0.05, 1.0], cmap.N)
    fig = _figure(2.5 + 0.75 * k + 1.5, 1.5 + 0.55 * k)
    ax = fig.subplots()
    image = ax.imshow(values, cmap=cmap, norm=norm, aspect="auto")
    if k <= 16:
        for (i, j), v in np.ndenumerate(values):
            if not np.isnan(v):
                ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize="small",
                        color="white" if v < 0.01 else "black")
    ax.set_xticks(range(k), [str(i + 1) for i in range(k)])
    ax.set_yticks(range(k), [f"{i + 1}. {label}" for i, label in enumerate(labels)])
    ax.set_xlabel("configuration (number as on the left)")
    bar = fig.colorbar(image, ax=ax, ticks=[0.0005, 0.005, 0.03, 0.5], shrink=0.8)
    bar.ax.set_yticklabels(["p < 0.001", "p < 0.01", "p < 0.05", "n.s."])
    ax.set_title(title or "Conover-Iman post-hoc p-values (Holm-adjusted)", fontsize="medium")
    return _save(fig, path)


def scatter(per_track: pd.DataFrame, config_a: str, config_b: str, path: Path,
            metric: str = "SDR", title: str | None = None) -> Path:
    """Per-track ``metric`` of configuration B against A, one panel per target.

    Points above the diagonal are tracks where B scores higher; each panel counts them.

    Parameters
    ----------
    per_track : DataFrame
        Tidy per-track scores holding both configurations.
    config_a, config_b : str
        Configuration labels (x and y axes).
    path : Path
        PNG to write.

    Returns
    -------
    Path
        ``path``.
    """
    rows = per_track[per_track["metric"] == metric]
    wide = rows.pivot_table(index=["subset", "track", "target"], columns="config",
                            values="score", aggfunc="first")
    fig = _figure(11, 5.2)
    axes = fig.subplots(1, len(TARGETS), squeeze=False)[0]
    for ax, target in zip(axes, TARGETS):
        pairs = wide.xs(target, level="target")[[config_a, config_b]].dropna()
        x, y = pairs[config_a].to_numpy(float), pairs[config_b].to_numpy(float)
        ax.scatter(x, y, s=18, color="#3182bd", alpha=0.8)
        if len(pairs):
            lo, hi = min(x.min(), y.min()) - 1, max(x.max(), y.max()) + 1
            ax.plot([lo, hi], [lo, hi], color="0.5", lw=1, ls="--")
            ax.set_xlim(lo, hi)
            ax.set_ylim(lo, hi)
        ax.set_aspect("equal")
        ax.set_title(f"{target}: B higher on {int((y > x).sum())} of {len(pairs)} tracks",
                     fontsize="medium")
        ax.set_xlabel("A: " + _wrap(config_a) + f"\n{metric} (dB)")
        ax.set_ylabel("B: " + _wrap(config_b) + f"\n{metric} (dB)")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


_LINE_COLOURS = [f"C{i}" for i in range(10)]
_LINE_STYLES = ("-", "--", ":", "-.")


def framewise(frames: pd.DataFrame, path: Path, title: str = "") -> Path:
    """A score over time, one line per configuration (``frames``: ``config, time, score``;
    NaN frames, e.g. silent vocals, are gaps)."""
    n = frames["config"].nunique()
    n_cols = 3
    fig = _figure(12, 4.0 + 0.22 * -(-n // n_cols))  # room for the legend below
    ax = fig.subplots()
    for i, (config, rows) in enumerate(frames.groupby("config", sort=False)):
        rows = rows.sort_values("time")
        # tab10's colours, then again dashed, dotted...: no two lines look alike
        ax.plot(rows["time"], rows["score"], lw=1.2, marker=".", label=config,
                color=_LINE_COLOURS[i % len(_LINE_COLOURS)],
                linestyle=_LINE_STYLES[(i // len(_LINE_COLOURS)) % len(_LINE_STYLES)])
    ax.set(xlabel="time (s)", ylabel="SDR (dB)", title=title)
    ax.grid(alpha=0.3)
    fig.legend(loc="outside lower center", ncols=n_cols, fontsize="small", frameon=False)
    return _save(fig, path)


def track_analysis(mixture: np.ndarray, rate: int, separation, path: Path, title: str = "",
                   stft_cfg: dict | None = None) -> Path:
    """One track through REPET: its beat spectrum with the period picked, and the mixture,
    background and foreground magnitude spectrograms (dB, first channel).

    Parameters
    ----------
    mixture : ndarray, shape (samples, channels)
    rate : int
        Sample rate in Hz.
    separation : Separation
        REPET's result on ``mixture`` with its masks
        (``repet_bench.separate(mixture, rate, "repet", masks=True)``): the period and
        the masks shown come from it, so the figure shows what the run computed.
    stft_cfg : dict, optional
        The ``stft`` config the separation used (default: the default STFT).
    """
    from .algorithms.repet import beat_spectrum_of
    from .config import option
    from .stft import Stft

    stft = Stft.from_config({**option("stft"), **(stft_cfg or {})}, rate)
    magnitude = stft.magnitude(mixture)
    lags, beat = beat_spectrum_of(magnitude, stft.frame_seconds)
    period = separation.info["period_seconds"]
    background = separation.masks["accompaniment"] * magnitude
    foreground = separation.masks["vocals"] * magnitude

    fig = _figure(11, 10)
    axes = fig.subplots(4, 1)
    shown = lags <= min(lags[-1], 3 * max(period if np.isfinite(period) else 8.0, 1.0))
    axes[0].plot(lags[shown], beat[shown], color="0.2", lw=1)
    if np.isfinite(period):
        axes[0].axvline(period, color="C3", ls="--", label=f"period {period:.2f} s")
        axes[0].legend(loc="upper right")
    axes[0].set(xlabel="lag (s)", ylabel="beat spectrum", title=title or "REPET beat spectrum")
    extent = [0, magnitude.shape[1] * stft.frame_seconds, 0, rate / 2000]
    ref = 20 * np.log10(magnitude[..., 0].max() + 1e-12)
    for ax, (name, spec) in zip(axes[1:], (("mixture", magnitude), ("background (repeating model)",
                                             background), ("foreground", foreground))):
        db = 20 * np.log10(spec[..., 0] + 1e-12) - ref
        ax.imshow(db, origin="lower", aspect="auto", extent=extent, vmin=-80, vmax=0, cmap="magma")
        ax.set(ylabel="kHz", title=name, ylim=(0, 8))
    axes[-1].set_xlabel("time (s)")
    return _save(fig, path)
