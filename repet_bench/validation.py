"""Range checks of a composed config that Hydra's type checks cannot express.

:func:`validate` runs before any track is read (the run, the Python API, the sweep's
preflight); each rule names the key, and the error says what is allowed::

    >>> validate({"mask": {"name": "binary", "threshold": 1.5}})
    Traceback (most recent call last):
    ...
    ValueError: invalid configuration:
      mask.threshold=1.5 is invalid: use a number in [0, 1]

Kept apart from :mod:`repet_bench.config` (the schemas and the packaged options), which
the algorithm registry reads for its defaults: these checks need the registry's facts
(flavours, REPET's period range, the STFT's conventions), so that import goes one way.
"""

from __future__ import annotations

from pathlib import Path

from .algorithms.registry import ALGORITHMS, FLAVOURS
from .algorithms.repet import PERIOD_RANGE, period_range
from .algorithms.sigsep_oracles import METHODS as SIGSEP_METHODS
from .data import RATE
from .stft import CONVENTIONS, Stft


# The rules: (dotted key, predicate, what is allowed). A key absent from the config (e.g.
# another algorithm's parameter) is skipped.
def _positive(v):
    return v is not None and v > 0


def _int_at_least(low):
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low


RULES = [
    ("runner.n_jobs", lambda v: v == "auto" or (isinstance(v, int) and v != 0),
     "a worker count, -1 (all cores) or auto"),
    ("runner.n_workers", lambda v: v is None or _positive(v),
     "a positive number of dask worker processes"),
    ("stft.window_length", _positive, "a positive number of samples"),
    ("stft.hop", _positive, "a positive number of samples, at most stft.window_length"),
    ("stft.convention", lambda v: v in CONVENTIONS, " or ".join(CONVENTIONS)),
    ("algo.flavour", lambda v: v in FLAVOURS, " or ".join(FLAVOURS)),
    ("algo.method", lambda v: v in SIGSEP_METHODS, " or ".join(SIGSEP_METHODS)),
    ("eval.backend", lambda v: v in ("museval", "fast"), "museval or fast"),
    ("eval.win", _positive, "a positive number of seconds"),
    ("eval.hop", _positive, "a positive number of seconds"),
    ("estimates_seconds", lambda v: v is None or v > 0, "null or a positive number of seconds"),
    ("dataset.offset", lambda v: v >= 0, "0 or more seconds"),
    ("dataset.duration", lambda v: v is None or v > 0, "null or a positive number of seconds"),
    ("dataset.max_tracks", lambda v: v is None or v > 0, "null or a positive count"),
    ("algo.min_period", lambda v: v is None or v > 0,
     "null (the flavour's) or a positive number of seconds"),
    ("algo.max_period", lambda v: v is None or v > 0,
     "null (the flavour's) or a positive number of seconds, at least algo.min_period"),
    ("algo.period", lambda v: v is None or v > 0, "null or a positive number of seconds"),
    ("algo.root", lambda v: v != "???" and Path(str(v)).expanduser().is_dir(),
     "an existing folder of estimates, <root>/<subset>/<track>/vocals.wav and accompaniment.wav"),
    ("algo.high_pass_cutoff", lambda v: v >= 0, "0 (off) or a frequency in Hz"),
    ("algo.similarity_threshold", lambda v: 0 <= v <= 1, "a similarity in [0, 1]"),
    ("algo.min_distance_between_frames", lambda v: v >= 0, "0 or more seconds"),
    ("algo.max_repeating_frames", _int_at_least(1), "a count of at least 1 (the frame itself)"),
    ("algo.peak_method", lambda v: v in (None, "local_std", "original"),
     "local_std, original or null (the flavour's own)"),
    ("algo.neighborhood_size", lambda v: len(v) == 2 and all(_int_at_least(1)(n) for n in v),
     "two positive sizes in 2DFT bins, [freq, time]"),
    ("algo.quadrants", lambda v: set(v) <= {0, 1, 2, 3}, "a list of quadrants among 0, 1, 2, 3"),
    ("algo.buffer_length", _positive, "a positive number of seconds"),
    ("algo.segment_length", _positive, "a positive number of seconds"),
    ("algo.segment_step", _positive, "a positive number of seconds"),
    ("algo.filter_order", _int_at_least(1), "a number of frames of at least 1"),
    ("algo.num_iterations", _int_at_least(1), "a count of at least 1"),
    ("algo.epsilon", _positive, "a positive relative error"),
    ("algo.kernel_size", _int_at_least(1), "a median filter length of at least 1"),
    ("algo.cutoff", _positive, "a positive frequency in Hz"),
    ("mask.threshold", lambda v: 0 <= v <= 1, "a number in [0, 1]"),
    ("mask.power", _positive, "a positive exponent"),
    ("mask.iterations", _int_at_least(0), "0 or more EM iterations"),
    ("phase.iterations", _int_at_least(0), "0 or more Griffin-Lim iterations"),
    ("phase.momentum", lambda v: 0 <= v <= 1, "a momentum in [0, 1] (librosa's default 0.99)"),
]


def validate(cfg: dict) -> None:
    """Check value ranges of a resolved config (a plain dict); raise ``ValueError``."""

    def get(key):
        node = cfg
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return _ABSENT
            node = node[part]
        return node

    errors = []
    for key, ok, allowed in RULES:
        value = get(key)
        if value is not _ABSENT and not ok(value):
            errors.append(f"{key}={value!r} is invalid: use {allowed}")
    if get("stft.hop") is not _ABSENT and get("stft.hop") > get("stft.window_length"):
        errors.append("stft.hop must not exceed stft.window_length")
    name, flavour = get("algo.name"), get("algo.flavour")
    if isinstance(name, str) and name in ALGORITHMS and flavour is not _ABSENT \
            and flavour in FLAVOURS and flavour not in ALGORITHMS[name].all_flavours:
        errors.append(f"algo.flavour={flavour!r} is invalid for {name}: use "
                      + " or ".join(ALGORITHMS[name].all_flavours))
    lo, hi = get("algo.min_period"), get("algo.max_period")
    if name == "repet" and _ABSENT not in (lo, hi) and flavour in PERIOD_RANGE:
        lo, hi = period_range(flavour, lo, hi)  # null: the flavour's (REPET only)
    elif None in (lo, hi):
        errors.append(f"algo.min_period and algo.max_period of {name} must be numbers "
                      "(null, the flavour's range, is REPET's only)")
    if name == "repet" and flavour == "rafii" and get("algo.period") not in (None, _ABSENT):
        errors.append("algo.period is not a parameter of REPET-Python's original (it always "
                      "searches the beat spectrum): leave it null in the rafii flavour")
    if _ABSENT not in (lo, hi) and lo is not None and hi is not None and lo > hi:
        errors.append(f"algo.min_period={lo} exceeds algo.max_period={hi}")
    length, step = get("algo.segment_length"), get("algo.segment_step")
    if get("algo.name") == "repet_extended" and _ABSENT not in (length, step) and step > length:
        errors.append(f"algo.segment_step={step} exceeds algo.segment_length={length}: "
                      "windows would leave frames uncovered")
    stft = cfg.get("stft")
    if isinstance(stft, dict) and not any(e.startswith("stft.") for e in errors):
        try:  # the transform's own checks (window name, nussl2018's frame grid)
            Stft.from_config(stft, rate=RATE)
        except (ValueError, KeyError) as exc:
            errors.append(str(exc))
    if errors:
        raise ValueError("invalid configuration:\n  " + "\n  ".join(errors))


_ABSENT = object()
