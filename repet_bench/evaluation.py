"""BSS Eval v4 on the (vocals, accompaniment) pair, whole-track metrics, the cross-check.

museval (or :mod:`repet_bench.bsseval_fast`, checked against it) computes the framewise
metrics and museval's ``TrackStore`` writes its JSON document, so ``museval.EvalStore`` /
``MethodStore.add_eval_dir`` read our results; :mod:`repet_bench.rundir` stores that
document and reads the tidy table back from it, so both always agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import bsseval_fast, cache
from .data import TARGETS, ensure_ffmpeg

METRICS = ("SDR", "SIR", "SAR", "ISR")
# Whole-track scale-invariant metrics (Le Roux et al., ICASSP 2019), as nussl's
# BSSEvalScale computes them in the open-source separation tutorial.
SI_METRICS = ("SI-SDR", "SI-SIR", "SI-SAR")
# Song-level SDR: the "SDR" of the Music Demixing challenges (MDX 2021, SDX 2023), demucs'
# ``new_sdr`` (called nSDR in its papers). One value per track and target.
SONG_METRICS = ("nSDR",)
# Every metric with one value per track (stored as frame 0 of the scores table).
WHOLE_TRACK_METRICS = SONG_METRICS + SI_METRICS
# Improvement over the mixture, as asteroid and many papers report it: per track, a score
# minus the score of the mixture itself taken as both estimates (improvement -> the
# metric it improves). SDRi is of the per-track medians over frames of BSS Eval v4's SDR
# (museval's quantised frames for both), SI-SDRi of the whole-track SI-SDR. The mixture is
# scored once per track (:func:`mixture_scores`), so no MIX run is needed; a MIX run
# itself (the mixture as estimates) has SDRi = SI-SDRi = 0.
IMPROVEMENTS = {"SDRi": "SDR", "SI-SDRi": "SI-SDR"}
# Every metric with one value per track in the scores table.
PER_TRACK_METRICS = WHOLE_TRACK_METRICS + tuple(IMPROVEMENTS)
# demucs' / MDX's regulariser: a silent reference or a perfect estimate stays finite.
NSDR_DELTA = 1e-7
# The tidy rows of one track (the scores table adds run and configuration columns).
ROW_COLUMNS = ["track", "subset", "target", "metric", "frame", "time", "score"]


@dataclass
class TrackScores:
    """Framewise scores of one track.

    Attributes
    ----------
    json : str
        museval's JSON document for the track (NaN frames where museval gives none).
    error : str or None
        Why the scores are all NaN (museval refuses a silent reference or estimate),
        else None.
    """

    json: str
    error: str | None = None


BACKENDS = ("museval", "fast")


def _bss_eval(references: list, estimates: list, win: int, hop: int, backend: str,
              stats_path: Path | None):
    """(SDR, ISR, SIR, SAR), each ``(nsrc, nframes)``, from the chosen backend."""
    if backend == "museval":
        import museval

        return museval.evaluate(references, estimates, win=win, hop=hop, mode="v4")
    refs = np.stack(references)
    stats = None
    if stats_path is not None:
        # Without the references' spectra the file holds the filter system's LU factors
        # only (~50 MB per track, whatever its length); the spectra are cheap to recompute
        # next to what the cache saves. Verified on read; written atomically, so
        # concurrent workers are safe.
        stats = bsseval_fast.ReferenceStats.from_arrays(cache.fetch_or_compute(
            Path(stats_path),
            lambda: bsseval_fast.reference_stats(refs, keep_spectra=False).to_arrays(),
            "reference statistics"))
    return bsseval_fast.bss_eval_v4(refs, np.stack(estimates), win=win, hop=hop, ref_stats=stats)


def evaluate_track(
    track_name: str, references: dict, estimates: dict, rate: int, win: float = 1.0,
    hop: float = 1.0, backend: str = "museval", stats_path: Path | None = None,
) -> TrackScores:
    """Score the vocals/accompaniment estimates of one track with BSS Eval v4.

    Parameters
    ----------
    references, estimates : dict of str to ndarray (samples, channels)
        ``vocals`` and ``accompaniment``; estimates are padded/truncated to the
        reference length, as museval does.
    rate : int
        Sample rate in Hz.
    win, hop : float
        Frame length and hop in seconds (SiSEC: 1 s and 1 s).
    backend : str
        ``museval`` (the reference implementation) or ``fast`` (``bsseval_fast``: the
        same definition, computed without museval's redundant work).
    stats_path : Path, optional
        ``fast`` only: where the references' statistics of this track are cached (an
        ``.npz``), so every configuration of a sweep computes them once.
    """
    ensure_ffmpeg()
    import museval

    if backend not in BACKENDS:
        raise ValueError(f"eval.backend={backend!r} is unknown; use one of {BACKENDS}")
    win_n, hop_n = int(win * rate), int(hop * rate)
    store = museval.TrackStore(track_name=track_name, win=win, hop=hop)
    error = None
    try:
        sdr, isr, sir, sar = _bss_eval([references[t] for t in TARGETS],
                                       [estimates[t] for t in TARGETS], win_n, hop_n, backend,
                                       stats_path)
    except ValueError as exc:  # a whole reference or estimate is silent: undefined
        error = str(exc)
        # museval's framing, restated once in bsseval_fast
        n_frames = len(bsseval_fast.frame_bounds(len(references[TARGETS[0]]), win_n, hop_n)[0])
        nan = np.full((len(TARGETS), n_frames), np.nan)
        sdr = isr = sir = sar = nan
    for i, target in enumerate(TARGETS):
        store.add_target(target, {"SDR": sdr[i].tolist(), "SIR": sir[i].tolist(),
                                  "ISR": isr[i].tolist(), "SAR": sar[i].tolist()})
    store.validate()
    return TrackScores(store.json, error)


def sdr_medians(document: str) -> dict:
    """``{target: median over frames of SDR}`` of a museval JSON document (NaN frames
    skipped; all NaN: NaN), from its quantised values as the scores table reads them."""
    import json

    out = {}
    for target in json.loads(document)["targets"]:
        values = [f["metrics"]["SDR"] for f in target["frames"]]
        finite = [float(v) for v in values if v is not None and not math.isnan(float(v))]
        out[target["name"]] = float(np.median(finite)) if finite else math.nan
    return out


def mixture_scores(references: dict, mixture: np.ndarray, rate: int, win: float = 1.0,
                   hop: float = 1.0, backend: str = "museval",
                   stats_path: Path | None = None) -> dict:
    """What :data:`IMPROVEMENTS` subtract: the scores of the mixture ``(samples,
    channels)`` taken as both estimates, ``{target: {"SDR": median over frames,
    "SI-SDR": whole track}}`` (dB; NaN where museval refuses the track). ``win``, ``hop``,
    ``backend``, ``stats_path``: as :func:`evaluate_track` (the run's own)."""
    estimates = {target: mixture for target in TARGETS}
    medians = sdr_medians(evaluate_track("mixture", references, estimates, rate, win, hop,
                                         backend, stats_path).json)
    whole = whole_track(references, estimates)
    return {t: {"SDR": medians[t], "SI-SDR": whole[t]["SI-SDR"]} for t in TARGETS}


def improvement_rows(rows: pd.DataFrame, whole: dict, mixture: dict, track: str,
                     subset: str) -> pd.DataFrame:
    """Tidy rows of :data:`IMPROVEMENTS` for one track: from its museval ``rows``
    (:data:`ROW_COLUMNS`), its whole-track metrics and :func:`mixture_scores`."""
    sdr = rows[rows["metric"] == "SDR"].groupby("target")["score"].median()
    values = {t: {"SDRi": sdr.get(t, math.nan) - mixture[t]["SDR"],
                  "SI-SDRi": whole[t]["SI-SDR"] - mixture[t]["SI-SDR"]} for t in TARGETS}
    return whole_track_rows(values, track, subset)


def _fitted(estimate, reference) -> np.ndarray:
    """``estimate`` zero-padded or cut to ``reference``'s length (as museval does), float64."""
    reference = np.asarray(reference)
    out = np.zeros(reference.shape)
    given = np.asarray(estimate, dtype=np.float64)[: len(reference)]
    out[: len(given)] = given
    return out


def _db(num: float, den: float) -> float:
    if num == 0:
        return math.nan
    return math.inf if den == 0 else 10 * math.log10(num / den)


def any_source_silent(sources: np.ndarray, channel_axis: int = 2) -> bool:
    """museval's rule for a silent source: every sample, summed over channels, is 0.

    ``sources`` is ``(nsrc, samples, channels)``, or ``(channels, nsrc, samples)`` with
    ``channel_axis=0``. museval keeps this private
    (``museval.metrics._any_source_silent``), so the rule is restated here to apply it to the
    whole-track metrics too.
    """
    return bool(np.any(np.all(sources.sum(axis=channel_axis) == 0, axis=1)))


def scale_invariant(references: dict, estimates: dict) -> dict:
    """SI-SDR, SI-SIR and SI-SAR of each target over the whole track.

    Per channel (as nussl): the target part is the estimate's projection on its own
    reference, ``s_t = (ŝ·s / |s|²) s``; the projection on all references splits the rest
    into interference (``P ŝ - s_t``) and artifacts (``ŝ - P ŝ``). Channel values (dB) are
    averaged. All NaN when a reference is silent, as museval refuses such a pair (an a
    cappella track's silent accompaniment would otherwise give vocals an SI-SIR of
    ~300 dB: nothing to interfere).

    Parameters
    ----------
    references, estimates : dict of str to ndarray (samples, channels)
        ``vocals`` and ``accompaniment``; estimates are padded/truncated to the
        reference length.

    Returns
    -------
    dict of str to dict of str to float
        ``{target: {"SI-SDR": ..., "SI-SIR": ..., "SI-SAR": ...}}``.
    """
    # One channel's references as contiguous rows, so the products below stream memory
    # (np.stack of the transposes would keep their strides).
    n, n_channels = np.shape(references[TARGETS[0]])
    by_channel = np.empty((n_channels, len(TARGETS), n))
    for j, target in enumerate(TARGETS):
        by_channel[:, j] = np.asarray(references[target]).T
    if any_source_silent(by_channel, channel_axis=0):
        return {target: dict.fromkeys(SI_METRICS, math.nan) for target in TARGETS}
    grams = by_channel @ by_channel.transpose(0, 2, 1)  # (ch, nsrc, nsrc): R R^T
    out = {}
    for j, target in enumerate(TARGETS):
        est = np.ascontiguousarray(_fitted(estimates[target], by_channel[:, j].T).T)  # (ch, n)
        per_channel = [_si_terms(by_channel[c], grams[c], j, est[c])
                       for c in range(len(by_channel))]
        values = np.mean(per_channel, axis=0)
        out[target] = dict(zip(SI_METRICS, map(float, values)))
    return out


def _si_terms(R: np.ndarray, gram: np.ndarray, j: int, y: np.ndarray) -> tuple:
    """(SI-SDR, SI-SIR, SI-SAR) in dB of estimate ``y`` (n,) of reference ``R[j]`` among
    the references ``R`` (nsrc, n), whose Gram matrix ``R R^T`` is ``gram``.

    The projection of ``y`` on the references solves the normal equations
    ``(R R^T) c = R y``: a 2×2 system, where a least-squares solver on the (n, 2) matrix
    (``np.linalg.lstsq``, an SVD) spends seconds on a full-length track. Squaring the
    condition number is harmless for music sources, which are nearly orthogonal; a
    rank-deficient Gram (identical references) still gets the minimum-norm solution, whose
    projection is the same.
    """
    s = R[j]
    energy = gram[j, j]
    target_part = (s @ y / energy) * s if energy else np.zeros_like(y)
    coeffs, *_ = np.linalg.lstsq(gram, R @ y, rcond=None)
    projection = coeffs @ R
    t2 = target_part @ target_part
    rest, interference, artifacts = y - target_part, projection - target_part, y - projection
    return (_db(t2, rest @ rest), _db(t2, interference @ interference),
            _db(t2, artifacts @ artifacts))


def song_sdr(references: dict, estimates: dict) -> dict:
    """Song-level SDR (nSDR) of each target, in dB.

    ``10 log10((Σ s² + δ) / (Σ (s − ŝ)² + δ))`` with sums over every sample and channel of
    the whole track and δ = 1e-7: the MDX 2021 / SDX 2023 challenges' SDR, demucs'
    ``new_sdr``. No projection, so no distortion is forgiven (BSS Eval v4's SDR allows a
    512-tap filter). Estimates are padded/truncated to the reference length.

    Examples
    --------
    >>> import numpy as np
    >>> s = np.ones((100, 2))
    >>> round(song_sdr({"vocals": s, "accompaniment": s},
    ...                {"vocals": 0.9 * s, "accompaniment": s})["vocals"], 3)  # 10 log10(1/0.01)
    20.0
    """
    out = {}
    for target in TARGETS:
        ref = np.asarray(references[target], dtype=np.float64)
        est = _fitted(estimates[target], ref)
        num = np.sum(ref ** 2) + NSDR_DELTA
        den = np.sum((ref - est) ** 2) + NSDR_DELTA
        out[target] = float(10 * np.log10(num / den))
    return out


def whole_track(references: dict, estimates: dict) -> dict:
    """Every whole-track metric (:data:`WHOLE_TRACK_METRICS`): ``{target: {metric: dB}}``.

    One rule for every metric: where museval refuses a track (a silent reference or
    estimate, :func:`any_source_silent`), all are NaN, so an instrumental track leaves the
    vocals medians of nSDR as it leaves those of SDR (demucs' regulariser would give it a
    finite nSDR of about -80 dB, which would pull a median down).
    """
    n = len(references[TARGETS[0]])
    # museval's rule (any_source_silent) per signal, on the estimates as fitted to the
    # references (zero padding adds no sound): no full-size copies of the track.
    if any(bool(np.all(np.asarray(signals[t])[:n].sum(axis=1) == 0))
           for signals in (references, estimates) for t in TARGETS):
        return {target: dict.fromkeys(WHOLE_TRACK_METRICS, math.nan) for target in TARGETS}
    si = scale_invariant(references, estimates)
    song = song_sdr(references, estimates)
    return {target: {"nSDR": song[target], **si[target]} for target in TARGETS}


def whole_track_rows(values: dict, track: str, subset: str) -> pd.DataFrame:
    """Tidy rows of the whole-track metrics: one "frame" (0) per track, so the SiSEC
    aggregation (median over frames, then over tracks) applies unchanged."""
    rows = [(track, subset, target, metric, 0, 0.0, value)
            for target, by_metric in values.items() for metric, value in by_metric.items()]
    return pd.DataFrame(rows, columns=ROW_COLUMNS)


# The fast backend is checked against museval on this much of one track of every run
# (its middle: intros and outros are often silent, and a silent frame compares nothing).
CROSSCHECK_SECONDS = 10.0
# Beyond this the run warns loudly: scores that differ by more are not museval's numbers.
CROSSCHECK_TOLERANCE_DB = bsseval_fast.ILL_CONDITIONED_AGREEMENT_DB


def crosscheck(references: dict, estimates: dict, rate: int, win: float, hop: float,
               seconds: float = CROSSCHECK_SECONDS) -> dict:
    """BSS Eval v4 of an excerpt by both backends: the largest difference per metric.

    Parameters
    ----------
    references, estimates : dict of str to ndarray (samples, channels)
        One track's ``vocals`` and ``accompaniment``.
    rate : int
        Sample rate in Hz.
    win, hop : float
        Frame length and hop in seconds, as the run evaluates.
    seconds : float
        Length of the excerpt (the middle of the track), in seconds.

    Returns
    -------
    dict
        ``start``, ``seconds`` (the excerpt, s), ``frames`` compared and
        ``max_abs_diff_db``: metric → max |fast − museval| over targets and frames (dB;
        inf where one backend gives NaN and the other a number). ``skipped`` (the reason)
        instead when a source is silent in the excerpt.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> refs = {t: rng.standard_normal((3 * 44100, 2)) for t in ("vocals", "accompaniment")}
    >>> est = {t: v + 0.3 * rng.standard_normal(v.shape) for t, v in refs.items()}
    >>> check = crosscheck(refs, est, 44100, 1.0, 1.0, seconds=2.0)
    >>> check["frames"], max(check["max_abs_diff_db"].values()) < 1e-3
    (2, True)
    """
    n = len(references[TARGETS[0]])
    length = min(n, int(round(seconds * rate)))
    start = (n - length) // 2
    refs = [np.asarray(references[t])[start:start + length] for t in TARGETS]
    ests = [_fitted(estimates[t], references[t])[start:start + length] for t in TARGETS]
    win_n, hop_n = int(win * rate), int(hop * rate)
    out = {"start": start / rate, "seconds": length / rate}
    try:
        museval_scores = np.stack(_bss_eval(refs, ests, win_n, hop_n, "museval", None))
        fast_scores = np.stack(_bss_eval(refs, ests, win_n, hop_n, "fast", None))
    except ValueError as exc:  # a source silent in the excerpt: nothing to compare
        return {**out, "skipped": str(exc).splitlines()[0]}
    diffs = {}
    for i, metric in enumerate(("SDR", "ISR", "SIR", "SAR")):  # _bss_eval's order
        a, b = museval_scores[i], fast_scores[i]
        if not np.array_equal(np.isnan(a), np.isnan(b)):
            diffs[metric] = math.inf
        else:
            both = ~np.isnan(a)
            diffs[metric] = float(np.max(np.abs(a[both] - b[both]), initial=0.0))
    return {**out, "frames": int(museval_scores.shape[-1]), "max_abs_diff_db": diffs}


def largest_difference(check: dict | None) -> tuple[str, float] | None:
    """The metric and value (dB) of a cross-check's largest |fast − museval|; None when
    nothing was compared (no check, or skipped).

    >>> largest_difference({"max_abs_diff_db": {"SDR": 1e-8, "SIR": 3e-7}})
    ('SIR', 3e-07)
    """
    diffs = (check or {}).get("max_abs_diff_db")
    if not diffs:
        return None
    worst = max(diffs, key=diffs.get)
    return worst, diffs[worst]


def crosscheck_warning(check: dict | None) -> str | None:
    """What the run's log, its summary and the report say when a cross-check
    (:func:`crosscheck`) differs by more than :data:`CROSSCHECK_TOLERANCE_DB`; else None.

    >>> crosscheck_warning({"max_abs_diff_db": {"SDR": 0.05}})[:46]
    'eval=fast differs from museval by 0.05 dB (SDR'
    """
    worst = largest_difference(check)
    if not worst or worst[1] <= CROSSCHECK_TOLERANCE_DB:
        return None
    return (f"eval=fast differs from museval by {worst[1]:.2g} dB ({worst[0]}) on its "
            f"cross-check, above {CROSSCHECK_TOLERANCE_DB} dB: these scores are not "
            "museval's; rerun with eval=museval and report it")
