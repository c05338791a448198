"""Every config option composes and validates; bad values fail with clear errors."""

import pytest
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ValidationError

from repet_bench.config import available
from repet_bench.algorithms import FLAVOURS
from repet_bench.config import register_configs, unknown_keys
from repet_bench.validation import validate

GROUPS = ("algo", "dataset", "stft", "mask", "phase", "eval", "runner")


@pytest.fixture(scope="module", autouse=True)
def hydra_ctx():
    register_configs()
    with initialize_config_module("repet_bench.conf", version_base="1.3"):
        yield


def test_defaults_compose_without_an_algorithm():
    cfg = compose("config")
    assert cfg.algo is None
    assert (cfg.dataset.name, cfg.mask.name, cfg.phase.name) == ("sample", "soft", "mixture")
    assert (cfg.stft.window_length, cfg.stft.hop, cfg.stft.window) == (2048, 512, "sqrt_hann")


@pytest.mark.parametrize("group", GROUPS)
def test_every_option_of_every_group_composes_and_validates(group):
    options = available(group)
    assert options, group
    # The options that stand for another (ibm, irm: the oracle with a mask) and those that
    # need a value from the user (estimates: algo.root).
    aliases = {"ibm": "oracle", "irm": "oracle",
               **{f"sigsep_{m}": "sigsep_oracle" for m in ("ibm1", "ibm2", "irm1", "irm2", "mwf")}}
    required = {"estimates": ["algo.root=."]}
    for option in options:
        prefix = "+" if group == "algo" else ""
        cfg = compose("config", overrides=[f"{prefix}{group}={option}", "+algo=repet"]
                      if group != "algo" else [f"+algo={option}", *required.get(option, [])])
        node = cfg[group]
        if "name" in node:
            assert (node.name == aliases.get(option, option) or group in ("stft", "eval")), \
                (group, option)
        validate(OmegaConf.to_container(cfg, resolve=True))


@pytest.mark.parametrize("override", ["stft.hop=abc", "algo.min_period=fast", "mask=binary mask.threshold=x"])
def test_wrong_types_fail_composition(override):
    with pytest.raises((ValidationError, ConfigCompositionException)):
        compose("config", overrides=["+algo=repet", *override.split()])


@pytest.mark.parametrize("override", ["algo.unknown=1", "stft.fft_size=4096", "dataset.rooot=/x"])
def test_unknown_keys_fail_composition(override):
    with pytest.raises(ConfigCompositionException, match="Could not override"):
        compose("config", overrides=["+algo=repet", override])


@pytest.mark.parametrize("override", ["+algo.unknown=1", "+stft.fft_size=4096"])
def test_appended_unknown_keys_are_caught_before_a_run(override):
    # "+" makes Hydra append even to a typed node; the runner checks the schemas first
    cfg = compose("config", overrides=["+algo=repet", override])
    assert unknown_keys(cfg) == [override[1:].split("=")[0]]
    assert unknown_keys(compose("config", overrides=["+algo=repet"])) == []


@pytest.mark.parametrize("override,message", [
    ("stft.hop=-512", "stft.hop"),
    ("stft.hop=4096", "must not exceed"),
    ("algo.min_period=10", "exceeds algo.max_period"),
    ("algo.period=-1", "algo.period"),
    ("eval.win=0", "eval.win"),
    ("mask=binary mask.threshold=1.5", "mask.threshold"),
    ("dataset.duration=0", "dataset.duration"),
    ("stft.window=boxcar", "stft.window='boxcar' is unknown"),
    ("stft=nussl2018 stft.hop=768", "nussl 0.1.6's frames do not fall on this hop grid"),
    ("algo.flavour=nussl2018", "algo.flavour"),
    ("stft.convention=sisec18", "stft.convention"),
])
def test_out_of_range_values_are_named(override, message):
    cfg = compose("config", overrides=["+algo=repet", *override.split()])
    with pytest.raises(ValueError, match=message):
        validate(OmegaConf.to_container(cfg, resolve=True))


@pytest.mark.parametrize("experiment", available("experiment"))
def test_experiment_presets_compose_into_sweeps_of_known_options(experiment):
    cfg = compose("config", overrides=[f"+experiment={experiment}"], return_hydra_config=True)
    params = cfg.hydra.sweeper.params
    assert params["+algo"]
    for key, values in params.items():
        known = FLAVOURS if key == "algo.flavour" else set(available(key.lstrip("+")))
        assert set(values.split(",")) <= set(known), (key, values)
    assert cfg.dataset.decode_cache is True


@pytest.mark.parametrize("overrides,mask", [(["+algo=ibm"], "binary"), (["+algo=irm"], "soft"),
                                            (["+algo=ibm", "mask=soft"], "soft"),
                                            (["mask=wiener", "+algo=ibm"], "wiener")])
def test_ibm_brings_its_binary_mask_unless_the_command_line_names_one(overrides, mask):
    assert compose("config", overrides=overrides).mask.name == mask


def _hydra(*overrides: str) -> dict:
    """Hydra's composition (this module's fixture has initialised Hydra)."""
    return OmegaConf.to_container(compose("config", overrides=list(overrides)), resolve=True)


@pytest.mark.parametrize("group", ["algo", "mask", "phase", "stft", "eval", "dataset", "runner"])
def test_option_values_are_what_hydra_composes(group):
    """config.option (the API's and the report's defaults) is Hydra's composition."""
    from repet_bench.config import option, selected_options

    for name in available(group):
        cfg = _hydra(f"+algo={name}" if group == "algo" else f"{group}={name}")
        assert option(group, name) == cfg[group], (group, name)
        for other, chosen in selected_options(group, name).items():
            assert cfg[other]["name"] == chosen


def test_run_dir_names_leave_out_exactly_the_runtime_keys():
    """A key that does not change the scores (config hash) must not rename the run dir
    (save_estimates too: rerunning for the audio resumes the same run)."""
    import dataclasses

    from repet_bench.config import RUNTIME_KEYS, Config, packaged_yaml

    excluded = set(packaged_yaml("config.yaml")["hydra"]["job"]["config"]["override_dirname"]
                   ["exclude_keys"]) - {"experiment", "+experiment"}
    fields = {f.name: f for f in dataclasses.fields(Config)}
    for key in RUNTIME_KEYS:
        schema = fields[key].default_factory if key in fields else None
        if dataclasses.is_dataclass(schema):  # a node: each of its keys (runner=... too)
            assert {f"{key}.{f.name}" for f in dataclasses.fields(schema)} - {"runner.name"} <= excluded
        else:
            assert key in excluded
    for key in excluded:  # and nothing that changes the scores
        assert any(key == k or key.startswith(k + ".") for k in RUNTIME_KEYS), key


def test_the_stft_class_defaults_are_the_default_stft_option():
    from repet_bench.config import option
    from repet_bench.stft import Stft

    assert Stft() == Stft.from_config(option("stft"), 44100)
