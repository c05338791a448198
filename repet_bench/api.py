"""The Python API: one defaulted call per step of the tutorial, the CLI's defaults behind it.

Every default comes from the packaged config tree (``conf/``), through
:func:`repet_bench.config.option`: ``separate(mix)`` is exactly ``+algo=repet`` with the
default STFT, soft mask and mixture phase (the 100 Hz high-pass included), and
``evaluate`` uses the ``eval`` defaults.

>>> import repet_bench as rb
>>> track = rb.load_track()                                     # the embedded sample
>>> result = rb.separate(track.mixture, track.rate)             # REPET, as +algo=repet
>>> round(result.info["period_seconds"], 2)
2.03
>>> scores = rb.evaluate(track.references, result.estimates, track.rate)
>>> table = rb.aggregate(scores)                                # median over frames
>>> round(float(table.loc["vocals", "SDR"]), 2)
0.85
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from . import data, evaluation, results, rundir, stats
from .config import complete, default_options, option, packaged_yaml, selected_options
from .separation import Separation, separate as _separate
from .validation import validate


def _node(group: str, spec, overrides: dict | None = None) -> dict:
    """A group's config from an option name, a dict (``name`` picks the option, other keys
    override it) or None (the default option), with ``overrides`` on top."""
    spec = {} if spec is None else {"name": spec} if isinstance(spec, str) else dict(spec)
    named = spec.pop("name", None)  # the option (ibm: the oracle's values, named "oracle")
    return complete(group, named, {**spec, **(overrides or {})})


def separate(audio: np.ndarray, rate: int = data.RATE, algo="repet", mask=None,
             phase=None, stft=None, *, masks: bool = False,
             references: dict | None = None, sources: dict | None = None,
             **params) -> Separation:
    """Separate a mixture into vocals and accompaniment.

    Parameters
    ----------
    audio : ndarray, shape (samples, channels) or (samples,)
        The mixture, any sample rate (the STFT and the algorithms work in seconds).
    rate : int
        Sample rate in Hz.
    algo, mask, phase : str or dict
        An option of ``conf/algo``, ``conf/mask``, ``conf/phase`` (``"repet"``,
        ``"repet_sim"``, ``"ft2d"``, ``"adaptive_repet"``, ``"repet_extended"``,
        ``"rpca"``, ``"hpss"``, ``"hplp"`` (nussl 0.1.6a0's SiSEC 2018 baselines),
        ``"repet_sim_online"`` (REPET-Python's only; ``flavour="rafii"`` runs Rafii's own
        code for the REPET family, with his STFT and masks),
        ``"oracle"`` (true sources; ``"ibm"``/``"irm"`` choose its mask), SiSEC 2018's
        oracles ``"sigsep_ibm1"``, ``"sigsep_ibm2"``, ``"sigsep_irm1"``, ``"sigsep_irm2"``,
        ``"sigsep_mwf"`` and ``"mix"``; ``"soft"``, ``"binary"``, ``"wiener"``,
        ``"mwf"``; ``"mixture"``, ``"none"``, ``"griffin_lim"``, ``"fast_griffin_lim"``), or a dict such as a
        run's ``config["algo"]`` (its ``name`` picks the option, the rest overrides it).
        ``mask`` and ``phase`` default to the command line's choice: the soft mask and the
        mixture phase, or the algorithm's own (``ibm`` selects the binary mask).
    stft : str or dict, optional
        ``None``: the default STFT (nussl 1.1.9's); ``"nussl2018"``: SiSEC 2018's; a dict
        overrides keys of the default (``{"hop": 1024}``).
    masks : bool
        Also return the masks applied to the mixture STFT.
    references : dict, optional
        ``vocals`` / ``accompaniment`` ``(samples, channels)``: needed by ``oracle`` only.
    sources : dict, optional
        ``drums`` / ``bass`` / ``other`` / ``vocals`` ``(samples, channels)`` (a track's
        ``.sources``): needed by the ``sigsep_*`` oracles only, which use their own STFT
        and masks (``mask``, ``phase`` and ``stft`` do not apply to them).
    **params
        Algorithm parameters (``period=2.0``, ``flavour="sisec18"``...), over ``algo``.

    Returns
    -------
    Separation
        ``.estimates``: ``{"vocals", "accompaniment"}``, each ``(samples, channels)``
        float; ``.info``: the algorithm's diagnostics (REPET: ``period_seconds``...);
        ``.masks``: ``{"vocals", "accompaniment"}`` ``(freq, frames, channels)`` if asked.

    Raises
    ------
    TypeError
        A parameter the option does not have (the message lists those it has).
    ValueError
        A value out of range (as the command line reports it).

    Examples
    --------
    >>> import numpy as np
    >>> loop = np.tile(np.random.default_rng(0).standard_normal(66150), 6)  # 1.5 s, 6 times
    >>> result = separate(loop, 44100, "repet", masks=True)
    >>> result.estimates["vocals"].shape, round(result.info["period_seconds"], 1)
    ((396900, 1), 1.5)
    >>> sorted(result.masks)
    ['accompaniment', 'vocals']
    """
    audio = np.asarray(audio)
    if audio.ndim == 1:
        audio = audio[:, None]
    if audio.ndim != 2 or audio.shape[0] < audio.shape[1]:
        raise ValueError(f"audio has shape {audio.shape}; pass (samples, channels), e.g. "
                         "audio.T for a (channels, samples) array")
    config = configure(algo, mask, phase, stft, **params)
    return _separate(audio, int(rate), config["algo"], config["stft"], config["mask"],
                     config["phase"], references, keep_masks=masks, sources=sources)


def configure(algo="repet", mask=None, phase=None, stft=None, **params) -> dict:
    """The ``algo``, ``stft``, ``mask`` and ``phase`` configs :func:`separate` runs with
    these arguments (same meaning), whole and validated: a way to check options before
    any audio is read.

    Raises
    ------
    TypeError, ValueError
        As :func:`separate`.

    >>> configure("ibm")["mask"]  # +algo=ibm's own mask
    {'name': 'binary', 'threshold': 0.5}
    """
    asked = algo if isinstance(algo, str) else algo.get("name")  # ibm: the oracle + binary
    chosen = {**default_options(), **selected_options("algo", asked)}
    config = {"algo": _node("algo", algo, params), "stft": _node("stft", stft),
              "mask": _node("mask", chosen["mask"] if mask is None else mask),
              "phase": _node("phase", chosen["phase"] if phase is None else phase)}
    validate(config)
    return config


def evaluate(references: dict, estimates: dict, rate: int = data.RATE,
             backend: str | None = None, win: float | None = None,
             hop: float | None = None) -> pd.DataFrame:
    """BSS Eval v4 and the whole-track scale-invariant metrics of one track.

    Parameters
    ----------
    references, estimates : dict of str to ndarray (samples, channels)
        ``vocals`` and ``accompaniment``.
    rate : int
        Sample rate in Hz.
    backend : {"museval", "fast"}, optional
        Default: ``conf/eval``'s default option. ``fast`` gives museval's numbers
        (within ``bsseval_fast.AGREEMENT_DB``) several times faster.
    win, hop : float, optional
        Frame length and hop in seconds (default 1 s and 1 s, as SiSEC 2018).

    Returns
    -------
    DataFrame
        Tidy rows ``target, metric, frame, time, score`` (dB): SDR/SIR/SAR/ISR per frame,
        and the song-level nSDR and SI-SDR/SI-SIR/SI-SAR once per track (``frame`` 0). ``attrs["error"]`` says
        why the scores are NaN when a source is silent. :func:`aggregate` medians them.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> refs = {"vocals": rng.standard_normal((88200, 2)),
    ...         "accompaniment": rng.standard_normal((88200, 2))}
    >>> noisy = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in refs.items()}
    >>> scores = evaluate(refs, noisy, backend="fast")
    >>> sorted(scores["metric"].unique())
    ['ISR', 'SAR', 'SDR', 'SI-SAR', 'SI-SDR', 'SI-SIR', 'SIR', 'nSDR']
    >>> bool(scores.query("metric == 'SDR'")["score"].between(15, 25).all())
    True
    """
    cfg = _node("eval", None, {k: v for k, v in
                               {"backend": backend, "win": win, "hop": hop}.items()
                               if v is not None})
    validate({"eval": cfg})
    track = evaluation.evaluate_track("track", references, estimates, int(rate), cfg["win"],
                                     cfg["hop"], cfg["backend"])
    rows = pd.concat([rundir.tidy_rows(track.json, "track", ""),
                      evaluation.whole_track_rows(evaluation.whole_track(references, estimates),
                                               "track", "")], ignore_index=True)
    rows = rows.drop(columns=["track", "subset"])
    rows.attrs["error"] = track.error
    return rows


def aggregate(scores: pd.DataFrame) -> pd.DataFrame:
    """Median over frames, then over tracks (SiSEC 2018): target × metric, in dB.

    ``scores`` is :func:`evaluate`'s table or any tidy scores table (``track`` and
    ``subset`` columns optional: without them, one track).

    Examples
    --------
    >>> frames = pd.DataFrame({"target": "vocals", "metric": "SDR", "frame": [0, 1, 2],
    ...                        "time": [0.0, 1.0, 2.0], "score": [1.0, 4.0, float("nan")]})
    >>> float(aggregate(frames).loc["vocals", "SDR"])  # NaN frames are skipped
    2.5
    """
    scores = scores.assign(**{k: scores[k] if k in scores else "" for k in ("track", "subset")})
    return results.aggregate(scores)


def cache_dir() -> Path:
    """Where the sample root and generated tracks are built: ``paths.cache`` of the
    packaged config.yaml (``$REPET_BENCH_CACHE`` or ``~/.cache/repet_bench``)."""
    default = packaged_yaml("config.yaml")["paths"]["cache"]
    return Path(OmegaConf.create({"cache": default}).cache).expanduser()


def load_track(track: str | os.PathLike | None = None, root: str | os.PathLike | None = None,
               subset: str = "test", offset: float = 0.0,
               duration: float | None = None) -> data.TrackAudio:
    """Decode a track: its mixture and the vocals/accompaniment references.

    Parameters
    ----------
    track : str or path, optional
        ``None``: the embedded MUSDB18 sample (the 6.08 s excerpt that stempeg ships); a
        MUSDB18/HQ track name (exact) under ``root``; or the path of a track's
        ``.stem.mp4`` file or MUSDB18-HQ track folder (``mixture.wav``, ``vocals.wav``...).
    root : str or path, optional
        MUSDB18 or MUSDB18-HQ root (``<root>/{train,test}/``); default ``$MUSDB_PATH``.
    subset : {"test", "train"}
        Where to look for a track name.
    offset, duration : float
        An excerpt, in seconds (``duration=None``: to the end).

    Returns
    -------
    TrackAudio
        ``.mixture`` ``(samples, channels)``, ``.references`` ``{"vocals",
        "accompaniment"}`` (accompaniment = drums + bass + other, as musdb), ``.rate``,
        ``.sources`` ``{"drums", "bass", "other", "vocals"}``.

    Examples
    --------
    >>> track = load_track()
    >>> track.mixture.shape, track.rate, sorted(track.references)
    ((268288, 2), 44100, ['accompaniment', 'vocals'])
    """
    if track is None:
        ref = data.list_tracks(OmegaConf.create(option("dataset", "sample")), cache_dir())[0]
    elif Path(track).exists():
        path = Path(track)
        name = path.name.removesuffix(".stem.mp4")
        ref = data.TrackRef(name, subset, str(path), path.is_dir())
    else:
        base = Path(root or os.environ.get("MUSDB_PATH", "")).expanduser()
        is_wav = next(base.glob(f"{subset}/*/mixture.wav"), None) is not None
        cfg = {**option("dataset", "musdb18hq" if is_wav else "musdb18"),
               "root": str(root) if root else None, "subsets": [subset], "tracks": [str(track)]}
        found = [r for r in data.list_tracks(OmegaConf.create(cfg), cache_dir())
                 if r.name == str(track)]
        if not found:
            raise data.DatasetError(f"no track named {str(track)!r} in {base / subset}")
        ref = found[0]
    if offset or duration is not None:
        ref = data.TrackRef(ref.name, ref.subset, ref.path, ref.is_wav, offset, duration)
    return data.load_track(ref)


def load_scores(*dirs: str | os.PathLike, frames: bool = True) -> pd.DataFrame:
    """Every complete run's scores under ``dirs`` (results, sweep or run dirs) as one tidy
    table with a ``config`` label per configuration: :func:`results.load_scores` (columns,
    ``frames``). Example: :func:`leaderboard`."""
    return results.load_scores(*map(Path, dirs), frames=frames)


def leaderboard(scores: pd.DataFrame) -> pd.DataFrame:
    """The SiSEC 2018 aggregate of :func:`load_scores`'s table: one row per configuration
    and group (runs on the same audio), ranked by median vocals SDR over tracks.

    Returns
    -------
    DataFrame
        ``group, rank, config, n_tracks, n_undefined``, the median over tracks of each
        ``<target>_<metric>`` (dB), bootstrap 95 % CIs of the SDR medians and the paired
        Wilcoxon test of vocals SDR against the best of the group (see the report's
        "How to read this").

    Examples
    --------
    Usually ``leaderboard(load_scores("results"))``; here a table of that shape, two
    configurations on three tracks (two 1 s frames each):

    >>> import pandas as pd
    >>> rows = [{"group": "sample", "config": config, "track": f"t{i}", "subset": "test",
    ...          "target": target, "metric": metric, "frame": f, "time": float(f),
    ...          "score": base + i + 0.1 * f}
    ...         for config, base in (("repet / soft / mixture", 1.0), ("mix", -5.0))
    ...         for i in range(3) for target in ("vocals", "accompaniment")
    ...         for metric in ("SDR", "SIR", "SAR", "ISR") for f in range(2)]
    >>> board = leaderboard(pd.DataFrame(rows))
    >>> board[["rank", "config", "vocals_SDR"]].values.tolist()
    [[1, 'repet / soft / mixture', 2.05], [2, 'mix', -3.95]]
    """
    per_track = (scores if "frame" not in scores else
                 results.per_track_medians(scores, by=["group", "config"]))
    boards = [stats.leaderboard(rows).assign(group=group)
              for group, rows in per_track.groupby("group", sort=False)]
    board = pd.concat(boards, ignore_index=True)
    return board[["group", *board.columns.drop("group")]]
