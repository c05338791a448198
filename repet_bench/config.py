"""Config schemas: dataclasses registered in Hydra's ConfigStore so types are checked.

The yaml files under ``conf/`` hold the values and the documentation; these classes hold
the types (a value here is ``MISSING`` wherever a yaml sets it: each default is written
once, and :func:`option` reads it for the Python API and the report). Groups whose options
take different parameters (algo, mask, phase) have one
schema per option, pulled in by the option's yaml (``defaults: [base_<name>, _self_]``);
the others share one schema.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from .io import safe_filename


@dataclass
class StftConfig:
    window_length: int = MISSING
    hop: int = MISSING
    window: str = MISSING
    convention: str = MISSING


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
    # MUSDB18-7 (musdb's 7 s preview of every track) downloaded by musdb into
    # <paths.cache>/MUSDB18-7 and read from there (repet_bench.preview); download_url: a
    # mirror instead of musdb's URL.
    download: bool = False
    download_url: Optional[str] = None
    # Keep decoded audio in <paths.cache>/decoded so a sweep's points (and reruns) decode
    # each track once; costs ~105 MB of disk per minute of stereo audio (5 stems, float32).
    decode_cache: bool = False


@dataclass
class SyntheticDatasetConfig(DatasetConfig):
    """``dataset=synthetic``: only it has a generator (values in conf/dataset/synthetic.yaml)."""

    n_tracks: int = MISSING
    seed: int = MISSING


@dataclass
class AlgoConfig:
    name: str = MISSING
    high_pass_cutoff: float = MISSING


@dataclass
class FlavouredConfig(AlgoConfig):
    """An algorithm in several versions (algorithms.registry.FLAVOURS)."""

    flavour: str = MISSING


@dataclass
class RepetConfig(FlavouredConfig):
    name: str = "repet"
    min_period: Optional[float] = MISSING  # None: the flavour's (algorithms.repet.PERIOD_RANGE)
    max_period: Optional[float] = MISSING
    period: Optional[float] = MISSING


@dataclass
class RepetSimConfig(FlavouredConfig):
    name: str = "repet_sim"
    similarity_threshold: float = MISSING
    min_distance_between_frames: float = MISSING
    max_repeating_frames: int = MISSING


@dataclass
class Ft2dConfig(FlavouredConfig):
    name: str = "ft2d"
    peak_method: Optional[str] = MISSING
    neighborhood_size: list[int] = MISSING
    quadrants: list[int] = MISSING
    nussl_quirks: bool = MISSING


@dataclass
class RepetSimOnlineConfig(RepetSimConfig):
    name: str = "repet_sim_online"
    buffer_length: float = MISSING


@dataclass
class RepetExtendedConfig(FlavouredConfig):
    """REPET per window; also the base of adaptive REPET (same windowing, Rafii's defaults)."""

    name: str = "repet_extended"
    min_period: float = MISSING
    max_period: float = MISSING
    segment_length: float = MISSING
    segment_step: float = MISSING


@dataclass
class AdaptiveRepetConfig(RepetExtendedConfig):
    name: str = "adaptive_repet"
    filter_order: int = MISSING


@dataclass
class OracleConfig(AlgoConfig):
    name: str = "oracle"


@dataclass
class RpcaConfig(FlavouredConfig):
    name: str = "rpca"
    num_iterations: int = MISSING
    epsilon: float = MISSING


@dataclass
class HpssConfig(FlavouredConfig):
    name: str = "hpss"
    kernel_size: int = MISSING


@dataclass
class HplpConfig(FlavouredConfig):
    name: str = "hplp"
    cutoff: float = MISSING


@dataclass
class SigsepOracleConfig(FlavouredConfig):
    name: str = "sigsep_oracle"
    method: str = MISSING


@dataclass
class MixConfig(FlavouredConfig):
    name: str = "mix"


@dataclass
class EstimatesConfig(AlgoConfig):
    name: str = "estimates"
    root: str = MISSING


@dataclass
class MaskConfig:
    name: str = MISSING


@dataclass
class BinaryMaskConfig(MaskConfig):
    name: str = "binary"
    threshold: float = MISSING


@dataclass
class WienerMaskConfig(MaskConfig):
    name: str = "wiener"
    power: float = MISSING


@dataclass
class MwfMaskConfig(MaskConfig):
    name: str = "mwf"
    iterations: int = MISSING


@dataclass
class PhaseConfig:
    name: str = MISSING


@dataclass
class GriffinLimPhaseConfig(PhaseConfig):
    name: str = "griffin_lim"
    iterations: int = MISSING


@dataclass
class FastGriffinLimPhaseConfig(PhaseConfig):
    name: str = "fast_griffin_lim"
    iterations: int = MISSING
    momentum: float = MISSING


@dataclass
class EvalConfig:
    backend: str = MISSING
    win: float = MISSING
    hop: float = MISSING


@dataclass
class RunnerConfig:
    # The values are in conf/runner/*.yaml (each option's own defaults), not here.
    name: str = MISSING
    # joblib workers: a count, -1 = all cores, or "auto" (cores and available memory).
    n_jobs: Any = MISSING
    backend: str = MISSING
    progress: bool = MISSING
    # List the tracks that would be processed and those already scored; run nothing.
    dry_run: bool = MISSING
    # runner=dask only (None elsewhere): scheduler address (tcp://host:8786), null starts a
    # LocalCluster of n_workers processes (one thread each).
    address: Optional[str] = None
    n_workers: Optional[int] = None


@dataclass
class PathsConfig:
    results: str = MISSING  # conf/config.yaml
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


# Keys that change how a run executes or what it keeps, not the scores it computes: they
# may differ between a run and its resumption, the config hash leaves them out, and they
# do not name run dirs (conf/config.yaml's hydra.job.config.override_dirname.exclude_keys,
# tested to be exactly these): rerunning with save_estimates=true adds the audio to the
# same run, without scoring again.
RUNTIME_KEYS = ("runner", "paths", "dataset.root", "dataset.download_url",
                "dataset.decode_cache", "save_estimates", "estimates_seconds")


# Keys added after runs were made, at the value that means what those runs did: left out
# of the scored config at that value, so those runs keep their config hash and their
# leaderboard group (dataset.download=true is another dataset, false the one they read).
ADDED_KEYS = {"dataset.download": False}


def scored_config(cfg: dict) -> dict:
    """The part of a resolved config (plain dict) that determines the scores: a deep copy
    without :data:`RUNTIME_KEYS` (and :data:`ADDED_KEYS` at their old meaning)."""
    cfg = json.loads(json.dumps(cfg))
    for key in RUNTIME_KEYS:
        node, *rest = key.split(".")
        if rest:
            cfg.get(node, {}).pop(rest[0], None)
        else:
            cfg.pop(node, None)
    for key, old in ADDED_KEYS.items():
        node, leaf = key.split(".")
        if isinstance(cfg.get(node), dict) and cfg[node].get(leaf, old) == old:
            cfg[node].pop(leaf, None)
    return cfg


def config_hash(cfg: dict) -> str:
    """12 hex digits of SHA-256 over :func:`scored_config`: equal hashes, equal scores.

    >>> a = {"algo": {"name": "repet"}, "runner": {"n_jobs": 1}}
    >>> config_hash(a) == config_hash({**a, "runner": {"n_jobs": 8}})
    True
    """
    blob = json.dumps(scored_config(cfg), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def available(group: str) -> list[str]:
    """Options of a config group, from the yaml files shipped in ``repet_bench.conf``
    (the schemas registered in code, ``base_*``, are not options)."""
    folder = importlib.resources.files("repet_bench.conf").joinpath(group)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def packaged_yaml(*parts: str) -> dict | None:
    """A yaml file of the packaged config tree (``repet_bench.conf``), unresolved; None if
    absent."""
    try:
        text = importlib.resources.files("repet_bench.conf").joinpath(*parts).read_text()
    except (OSError, ModuleNotFoundError):
        return None
    return OmegaConf.to_container(OmegaConf.create(text), resolve=False) or {}


@functools.lru_cache(maxsize=None)
def default_options() -> dict:
    """Group → default option, from the ``defaults`` list of the packaged config.yaml.

    >>> default_options()["mask"], default_options()["stft"]
    ('soft', 'default')
    """
    entries = (packaged_yaml("config.yaml") or {}).get("defaults", [])
    return {k: v for e in entries if isinstance(e, dict) for k, v in e.items()}


@functools.lru_cache(maxsize=None)
def _option(group: str, name: str) -> tuple[str, str]:
    values = packaged_yaml(group, f"{name}.yaml")
    if values is None:
        raise ValueError(f"{group}={name} does not exist; available: {', '.join(available(group))}")
    register_configs()
    node, selects = OmegaConf.create(), {}
    for entry in values.pop("defaults", []):  # [base_<schema>, _self_], as Hydra reads it
        if isinstance(entry, dict):  # "override /mask: binary": an option of another group
            # "override /mask@_global_.mask: binary" (the package is where it lands)
            selects.update({k.split()[-1].strip("/").split("@")[0]: v for k, v in entry.items()})
        elif packaged_yaml(group, f"{entry}.yaml") is not None:  # a shorthand's option
            values_of, selects_of = _option(group, entry)
            node = OmegaConf.merge(node, json.loads(values_of))
            selects.update(json.loads(selects_of))
        elif entry != "_self_":  # a schema (base_<name>)
            node = OmegaConf.merge(node, ConfigStore.instance().load(f"{group}/{entry}.yaml").node)
    node = OmegaConf.merge(node, values)
    return json.dumps(OmegaConf.to_container(node, resolve=True)), json.dumps(selects)


def option(group: str, name: str | None = None) -> dict:
    """The values of option ``name`` of a config group (its default option if None), as
    Hydra composes them for ``group=name``: the option's schema, then its yaml.

    This is how the Python API and the report know a default without writing it again;
    ``tests/test_config.py`` checks it against Hydra's own composition for every option.

    >>> option("stft")
    {'window_length': 2048, 'hop': 512, 'window': 'sqrt_hann', 'convention': 'nussl'}
    >>> option("algo", "repet")["high_pass_cutoff"]
    100.0
    """
    return json.loads(_option(group, name if name is not None else default_options()[group])[0])


def complete(group: str, name: str | None, values: dict) -> dict:
    """``values`` over the packaged defaults of option ``name`` of ``group`` (its default
    option if None): a partial config made whole, as the command line would compose it.

    Raises
    ------
    TypeError
        A key the option does not have (the message lists those it has).

    >>> complete("mask", "binary", {"threshold": 0.3})
    {'name': 'binary', 'threshold': 0.3}
    """
    base = option(group, name)
    unknown = sorted(set(values) - set(base))
    if unknown:
        raise TypeError(f"{group} option {name or default_options()[group]!r} has no parameter "
                        f"{', '.join(unknown)}; its parameters: "
                        f"{', '.join(k for k in base if k != 'name')}")
    return {**base, **values}


def selected_options(group: str, name: str) -> dict:
    """Options of other groups that option ``name`` selects in its defaults list.

    >>> selected_options("algo", "ibm")  # +algo=ibm picks the binary mask
    {'mask': 'binary'}
    """
    return json.loads(_option(group, name)[1])


def path_safe(name: str) -> str:
    """A run dir name from Hydra's ``override_dirname``: a value holding a path
    (``algo.root=/data/umx``) would otherwise nest folders, and a name longer than a file
    system allows (255 bytes) is shortened with a hash of the whole (``io.safe_filename``).

    >>> path_safe("+algo=estimates,algo.root=/data/umx")
    '+algo=estimates,algo.root=_data_umx'
    """
    return safe_filename(name)


# At import: conf/config.yaml's run dirs use it, in every process that composes them
# (the command line, and the jobs a launcher such as submitit starts).
OmegaConf.register_new_resolver("path_safe", path_safe, replace=True)


def register_configs() -> None:
    """Store the schemas in Hydra's ConfigStore (idempotent)."""
    cs = ConfigStore.instance()
    cs.store(name="base_config", node=Config)
    cs.store(group="dataset", name="base_dataset", node=DatasetConfig)
    cs.store(group="dataset", name="base_synthetic", node=SyntheticDatasetConfig)
    cs.store(group="stft", name="base_stft", node=StftConfig)
    cs.store(group="eval", name="base_eval", node=EvalConfig)
    cs.store(group="runner", name="base_runner", node=RunnerConfig)
    cs.store(group="algo", name="base_repet", node=RepetConfig)
    cs.store(group="algo", name="base_repet_sim", node=RepetSimConfig)
    cs.store(group="algo", name="base_repet_sim_online", node=RepetSimOnlineConfig)
    cs.store(group="algo", name="base_ft2d", node=Ft2dConfig)
    cs.store(group="algo", name="base_adaptive_repet", node=AdaptiveRepetConfig)
    cs.store(group="algo", name="base_repet_extended", node=RepetExtendedConfig)
    cs.store(group="algo", name="base_oracle", node=OracleConfig)
    cs.store(group="algo", name="base_mix", node=MixConfig)
    cs.store(group="algo", name="base_sigsep_oracle", node=SigsepOracleConfig)
    cs.store(group="algo", name="base_rpca", node=RpcaConfig)
    cs.store(group="algo", name="base_hpss", node=HpssConfig)
    cs.store(group="algo", name="base_hplp", node=HplpConfig)
    cs.store(group="algo", name="base_estimates", node=EstimatesConfig)
    cs.store(group="mask", name="base_mask", node=MaskConfig)
    cs.store(group="mask", name="base_binary", node=BinaryMaskConfig)
    cs.store(group="mask", name="base_wiener", node=WienerMaskConfig)
    cs.store(group="mask", name="base_mwf", node=MwfMaskConfig)
    cs.store(group="phase", name="base_phase", node=PhaseConfig)
    cs.store(group="phase", name="base_griffin_lim", node=GriffinLimPhaseConfig)
    cs.store(group="phase", name="base_fast_griffin_lim", node=FastGriffinLimPhaseConfig)
    # The sweep launcher (hydra/launcher=shared): Hydra finds launchers by scanning the
    # hydra_plugins package, which misses an editable install's, so it is named here too.
    from hydra.core.plugins import Plugins
    from hydra_plugins.repet_bench_launcher import SharedLauncher

    Plugins.instance().register(SharedLauncher)


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
