"""Config schemas: dataclasses registered in Hydra's ConfigStore so types are checked.

The yaml files under ``conf/`` hold the values and the documentation; these classes hold
the types. Groups whose options take different parameters (algo, mask, phase) have one
schema per option, pulled in by the option's yaml (``defaults: [base_<name>, _self_]``);
the others share one schema.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from .algorithms.registry import FLAVOURS
from .stft import CONVENTIONS, Stft


@dataclass
class StftConfig:
    window_length: int = 2048
    hop: int = 512
    window: str = "sqrt_hann"
    # nussl (1.1.9's frame grid and least-squares inverse) | nussl2018 (0.1.6a0's, SiSEC 2018)
    convention: str = "nussl"


@dataclass
class DatasetConfig:
    name: str = "sample"
    # Dataset root (MUSDB18 layout: <root>/{train,test}/...); null: $MUSDB_PATH.
    root: Optional[str] = None
    is_wav: bool = False
    # "train", "test" or a list of both (Any: a bare string on the command line is allowed).
    subsets: Any = field(default_factory=lambda: ["test"])
    split: Optional[str] = None
    tracks: list[str] = field(default_factory=list)
    max_tracks: Optional[int] = None
    offset: float = 0.0
    duration: Optional[float] = None
    # Keep decoded audio in <paths.cache>/decoded so a sweep's points (and reruns) decode
    # each track once; costs ~105 MB of disk per minute of stereo audio (5 stems, float32).
    decode_cache: bool = False
    # synthetic only
    n_tracks: int = 4
    seed: int = 0


@dataclass
class AlgoConfig:
    name: str = MISSING
    # Bins below this frequency (Hz) go to the background; 0 disables.
    high_pass_cutoff: float = 100.0


@dataclass
class RepetConfig(AlgoConfig):
    name: str = "repet"
    min_period: float = 0.8
    max_period: float = 8.0
    period: Optional[float] = None
    # nussl (1.1.9) | sisec18 (nussl 0.1.6a0, the SiSEC 2018 entries): shared ALGORITHMS.md
    flavour: str = "nussl"


@dataclass
class RepetSimConfig(AlgoConfig):
    name: str = "repet_sim"
    similarity_threshold: float = 0.0
    min_distance_between_frames: float = 1.0
    max_repeating_frames: int = 100
    flavour: str = "nussl"


@dataclass
class Ft2dConfig(AlgoConfig):
    name: str = "ft2d"
    # null: the flavour's own (nussl: local_std, sisec18: original)
    peak_method: Optional[str] = None
    neighborhood_size: list[int] = field(default_factory=lambda: [1, 25])
    quadrants: list[int] = field(default_factory=lambda: [0, 1, 2, 3])
    nussl_quirks: bool = True
    flavour: str = "nussl"


@dataclass
class RepetExtendedConfig(AlgoConfig):
    """REPET per window; also the base of adaptive REPET (same windowing, Rafii's defaults)."""

    name: str = "repet_extended"
    min_period: float = 1.0
    max_period: float = 10.0
    segment_length: float = 10.0
    segment_step: float = 5.0


@dataclass
class AdaptiveRepetConfig(RepetExtendedConfig):
    name: str = "adaptive_repet"
    filter_order: int = 5


# Oracles and the mixture anchor: no parameters, and no high-pass (the oracle masks are
# exact; the mixture bypasses masking).
@dataclass
class IbmConfig(AlgoConfig):
    name: str = "ibm"
    high_pass_cutoff: float = 0.0


@dataclass
class IrmConfig(AlgoConfig):
    name: str = "irm"
    high_pass_cutoff: float = 0.0


@dataclass
class MixConfig(AlgoConfig):
    name: str = "mix"
    high_pass_cutoff: float = 0.0
    # The mixture is the same in every flavour; the key lets a preset set one flavour for
    # all its algorithms.
    flavour: str = "nussl"


@dataclass
class MaskConfig:
    name: str = MISSING


@dataclass
class BinaryMaskConfig(MaskConfig):
    name: str = "binary"
    threshold: float = 0.5


@dataclass
class WienerMaskConfig(MaskConfig):
    name: str = "wiener"
    power: float = 2.0


@dataclass
class MwfMaskConfig(MaskConfig):
    name: str = "mwf"
    iterations: int = 1


@dataclass
class PhaseConfig:
    name: str = MISSING


@dataclass
class GriffinLimPhaseConfig(PhaseConfig):
    name: str = "griffin_lim"
    iterations: int = 32


@dataclass
class EvalConfig:
    backend: str = "museval"
    # BSS Eval v4 frame length and hop in seconds (SiSEC: 1 s, 1 s).
    win: float = 1.0
    hop: float = 1.0


@dataclass
class RunnerConfig:
    name: str = "local"
    # joblib workers: a count, -1 = all cores, or "auto" (cores and available memory).
    n_jobs: Any = -1
    backend: str = "loky"
    progress: bool = True
    # List the tracks that would be processed and those already scored; run nothing.
    dry_run: bool = False
    # runner=dask: scheduler address (tcp://host:8786); null starts a LocalCluster.
    address: Optional[str] = None
    # LocalCluster worker processes (one thread each) when no address is given.
    n_workers: int = 2


@dataclass
class PathsConfig:
    results: str = "results"
    # Decoded/generated datasets (the sample root, synthetic tracks).
    cache: str = MISSING


@dataclass
class Config:
    algo: Any = None
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    stft: StftConfig = field(default_factory=StftConfig)
    mask: Any = MISSING
    phase: Any = MISSING
    eval: EvalConfig = field(default_factory=EvalConfig)
    runner: RunnerConfig = field(default_factory=RunnerConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    # Keep each track's estimates (and mixture/true sources) as wav for listening; with
    # estimates_seconds, only the first N seconds.
    save_estimates: bool = False
    estimates_seconds: Optional[float] = None


# Keys that change how a run executes, not what it computes: they may differ between a
# run and its resumption.
RUNTIME_KEYS = ("runner", "paths", "dataset.root", "dataset.decode_cache", "save_estimates",
                "estimates_seconds")


def available(group: str) -> list[str]:
    """Options of a config group, from the yaml files shipped in ``repet_bench.conf``
    (the schemas registered in code, ``base_*``, are not options)."""
    folder = importlib.resources.files("repet_bench.conf").joinpath(group)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def register_configs() -> None:
    cs = ConfigStore.instance()
    cs.store(name="base_config", node=Config)
    cs.store(group="dataset", name="base_dataset", node=DatasetConfig)
    cs.store(group="stft", name="base_stft", node=StftConfig)
    cs.store(group="eval", name="base_eval", node=EvalConfig)
    cs.store(group="runner", name="base_runner", node=RunnerConfig)
    cs.store(group="algo", name="base_repet", node=RepetConfig)
    cs.store(group="algo", name="base_repet_sim", node=RepetSimConfig)
    cs.store(group="algo", name="base_ft2d", node=Ft2dConfig)
    cs.store(group="algo", name="base_adaptive_repet", node=AdaptiveRepetConfig)
    cs.store(group="algo", name="base_repet_extended", node=RepetExtendedConfig)
    cs.store(group="algo", name="base_ibm", node=IbmConfig)
    cs.store(group="algo", name="base_irm", node=IrmConfig)
    cs.store(group="algo", name="base_mix", node=MixConfig)
    cs.store(group="mask", name="base_mask", node=MaskConfig)
    cs.store(group="mask", name="base_binary", node=BinaryMaskConfig)
    cs.store(group="mask", name="base_wiener", node=WienerMaskConfig)
    cs.store(group="mask", name="base_mwf", node=MwfMaskConfig)
    cs.store(group="phase", name="base_phase", node=PhaseConfig)
    cs.store(group="phase", name="base_griffin_lim", node=GriffinLimPhaseConfig)


# Range checks Hydra's type checks cannot express: (dotted key, predicate, what is allowed).
# A key absent from the config (e.g. another algorithm's parameter) is skipped.
def _positive(v):
    return v is not None and v > 0


def _int_at_least(low):
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low


RULES = [
    ("runner.n_jobs", lambda v: v == "auto" or (isinstance(v, int) and v != 0),
     "a worker count, -1 (all cores) or auto"),
    ("runner.n_workers", _positive, "a positive number of dask worker processes"),
    ("stft.window_length", _positive, "a positive number of samples"),
    ("stft.hop", _positive, "a positive number of samples, at most stft.window_length"),
    ("stft.convention", lambda v: v in CONVENTIONS, " or ".join(CONVENTIONS)),
    ("algo.flavour", lambda v: v in FLAVOURS, " or ".join(FLAVOURS)),
    ("eval.backend", lambda v: v in ("museval", "fast"), "museval or fast"),
    ("eval.win", _positive, "a positive number of seconds"),
    ("eval.hop", _positive, "a positive number of seconds"),
    ("estimates_seconds", lambda v: v is None or v > 0, "null or a positive number of seconds"),
    ("dataset.offset", lambda v: v >= 0, "0 or more seconds"),
    ("dataset.duration", lambda v: v is None or v > 0, "null or a positive number of seconds"),
    ("dataset.max_tracks", lambda v: v is None or v > 0, "null or a positive count"),
    ("algo.min_period", _positive, "a positive number of seconds"),
    ("algo.max_period", _positive, "a positive number of seconds, at least algo.min_period"),
    ("algo.period", lambda v: v is None or v > 0, "null or a positive number of seconds"),
    ("algo.high_pass_cutoff", lambda v: v >= 0, "0 (off) or a frequency in Hz"),
    ("algo.similarity_threshold", lambda v: 0 <= v <= 1, "a similarity in [0, 1]"),
    ("algo.min_distance_between_frames", lambda v: v >= 0, "0 or more seconds"),
    ("algo.max_repeating_frames", _int_at_least(1), "a count of at least 1 (the frame itself)"),
    ("algo.peak_method", lambda v: v in (None, "local_std", "original"),
     "local_std, original or null (the flavour's own)"),
    ("algo.neighborhood_size", lambda v: len(v) == 2 and all(_int_at_least(1)(n) for n in v),
     "two positive sizes in 2DFT bins, [freq, time]"),
    ("algo.quadrants", lambda v: set(v) <= {0, 1, 2, 3}, "a list of quadrants among 0, 1, 2, 3"),
    ("algo.segment_length", _positive, "a positive number of seconds"),
    ("algo.segment_step", _positive, "a positive number of seconds"),
    ("algo.filter_order", _int_at_least(1), "a number of frames of at least 1"),
    ("mask.threshold", lambda v: 0 <= v <= 1, "a number in [0, 1]"),
    ("mask.power", _positive, "a positive exponent"),
    ("mask.iterations", _int_at_least(0), "0 or more EM iterations"),
    ("phase.iterations", _int_at_least(0), "0 or more Griffin-Lim iterations"),
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
    lo, hi = get("algo.min_period"), get("algo.max_period")
    if _ABSENT not in (lo, hi) and lo is not None and hi is not None and lo > hi:
        errors.append(f"algo.min_period={lo} exceeds algo.max_period={hi}")
    length, step = get("algo.segment_length"), get("algo.segment_step")
    if get("algo.name") == "repet_extended" and _ABSENT not in (length, step) and step > length:
        errors.append(f"algo.segment_step={step} exceeds algo.segment_length={length}: "
                      "windows would leave frames uncovered")
    stft = cfg.get("stft")
    if isinstance(stft, dict) and not any(e.startswith("stft.") for e in errors):
        try:  # the transform's own checks (window name, nussl2018's frame grid)
            Stft.from_config(stft, rate=44100)
        except (ValueError, KeyError) as exc:
            errors.append(str(exc))
    if errors:
        raise ValueError("invalid configuration:\n  " + "\n  ".join(errors))


_ABSENT = object()


def unknown_keys(cfg) -> list[str]:
    """Keys of a composed config that its schemas do not declare.

    Hydra's ``+key=value`` appends a key even to a typed node; a misspelled parameter
    would then reach the code and fail per track, so runs check for it first.
    """
    import dataclasses

    from omegaconf import DictConfig, OmegaConf

    found = []
    for group, node in cfg.items():
        if not isinstance(node, DictConfig):
            continue
        schema = OmegaConf.get_type(node)
        if dataclasses.is_dataclass(schema):
            declared = {f.name for f in dataclasses.fields(schema)}
            found += [f"{group}.{k}" for k in node if k not in declared]
    return found
