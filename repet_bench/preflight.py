"""The command line checked before Hydra runs it: each mistake one line and exit code 2.

Hydra reports a bad override (a misspelled key, a value of the wrong type, an option that
does not exist) and a run dir it cannot create with several lines of its own and exit code
1, the code that means "some tracks failed" here; its hint for a misspelled key (append it
with ``+``) is the wrong fix. So the command line is composed here first, with Hydra's own
parser and composer, every value of a sweep included, and the results dir is created and
written to; the first problem is turned into one line that names the key and the fix.

Examples
--------
>>> check(["+algo=repet", "algo.max_perod=4"])
'algo.max_perod is not a parameter here (did you mean algo.max_period?)'
>>> check(["+algo=repet"]) is None
True
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from .commands import HYDRA_INFO_FLAGS, overrides_of
from .config import available, register_configs
from .io import writable_problem
from .validation import validate


def check(argv: list[str]) -> str | None:
    """The first problem with command line ``argv`` (``sys.argv[1:]``), or None.

    None as well for commands that show information rather than run (``--help``...) or
    load another config tree: Hydra handles those itself.
    """
    if HYDRA_INFO_FLAGS & set(argv):
        return None
    overrides = overrides_of(argv)
    from hydra import compose, initialize_config_module
    from hydra.core.override_parser.overrides_parser import OverridesParser

    register_configs()
    parser, parsed = OverridesParser.create(), []
    for override in overrides:  # one at a time, to name the one Hydra's grammar rejects
        try:
            parsed += parser.parse_overrides([override])
        except Exception:  # OverrideParseException
            key, _, value = override.partition("=")
            return (f"{override!r} cannot be parsed by Hydra: quote a value with spaces, "
                    f", = [ ] {{ }} or non-ASCII characters inside the shell's quotes, "
                    f"e.g. '{key}=\"{value}\"'")
    trials = _trials(parsed)
    from omegaconf import OmegaConf

    with initialize_config_module("repet_bench.conf", version_base="1.3"):
        for trial in trials:
            try:
                cfg = compose("config", overrides=trial)
            except Exception as exc:  # Hydra and OmegaConf raise many types
                return _explain(exc, trial, compose)
            if cfg.get("algo") is not None:  # ranges, as each point's run checks them
                problem = _range_problem(cfg, trial, len(trials) > 1)
                if problem:
                    return problem
    from .runner import cache_problem

    return (writable_problem(Path(cfg.paths.results).expanduser())
            or (cache_problem(OmegaConf.to_container(cfg, resolve=True))
                if cfg.get("algo") is not None else None))


def _range_problem(cfg, trial: list[str], sweep: bool) -> str | None:
    """What :func:`repet_bench.validation.validate` finds wrong with a composed config, on one
    line; in a sweep, naming the point (its overrides)."""
    from omegaconf import OmegaConf

    try:
        validate(OmegaConf.to_container(cfg, resolve=True))
    except ValueError as exc:
        problems = "; ".join(line.strip() for line in str(exc).splitlines()[1:])
        point = [t for t in trial if not t.startswith("hydra.")]
        where = f" (in the sweep point {' '.join(point)})" if sweep else ""
        return problems + where
    return None


def _trials(parsed) -> list[list[str]]:
    """Override lists that try every value of every sweep (one sweep varied at a time)."""
    first = [o.input_line if not o.is_sweep_override()
             else f"{o.get_key_element()}={next(iter(o.sweep_string_iterator()))}"
             for o in parsed]
    trials = [first]
    for i, o in enumerate(parsed):
        if o.is_sweep_override():
            for value in list(o.sweep_string_iterator())[1:]:
                trials.append(first[:i] + [f"{o.get_key_element()}={value}"] + first[i + 1:])
    return trials


def _explain(exc: Exception, trial: list[str], compose) -> str:
    """One line for a composition error: the key, what is wrong, the fix."""
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError

    cause = exc.__cause__ or exc
    key = getattr(cause, "full_key", None)
    if key and isinstance(cause, (ConfigKeyError, ConfigAttributeError)):
        return f"{key} is not a parameter here{_suggestion(key, trial, compose)}"
    if key:  # a value of the wrong type, or out of an enum
        value = next((t.split("=", 1)[1] for t in trial if _key(t) == key), "?")
        why = _first_line(cause.msg if hasattr(cause, 'msg') else cause)
        return f"{key}={value} is invalid: {why}{_expected(key, why, trial, compose)}"
    text = _first_line(exc)
    not_added = re.search(r"Could not override '([\w-]+)'\. No match in the defaults list", text)
    if not_added:  # algo=... where +algo=... is meant: the group has no default
        group = not_added.group(1)
        value = next((t.split("=", 1)[1] for t in trial if t.split("=")[0] == group), "<name>")
        return (f"{group}={value}: {group} has no default to override; add it with "
                f"+{group}={value} (options: {', '.join(available(group))})")
    missing = re.search(r"Could not find '([\w-]+)/([^']*)'", text)
    if missing:  # an option that does not exist
        group, option = missing.groups()
        try:
            options = ", ".join(available(group))
        except (FileNotFoundError, NotADirectoryError):  # not a group at all
            return text
        return f"{group}={option} does not exist; available: {options}"
    return text


def _suggestion(key: str, trial: list[str], compose) -> str:
    """" (did you mean <close key>?)" from the keys of the node ``key`` belongs to."""
    parent, _, leaf = key.rpartition(".")
    groups = [t for t in trial if "." not in _key(t) and _key(t) != key]
    try:
        node = compose("config", overrides=groups)
        for part in parent.split(".") if parent else []:
            node = node[part]
        close = difflib.get_close_matches(leaf, [str(k) for k in node.keys()], n=1)
    except Exception:
        close = []
    return f" (did you mean {parent + '.' if parent else ''}{close[0]}?)" if close else ""


# OmegaConf's names of the types a value could not be converted to, as a user writes them.
_TYPE_NAMES = {"converted to Integer": "a whole number", "converted to Float": "a number",
               "not a valid bool": "true or false"}


def _expected(key: str, why: str, trial: list[str], compose) -> str:
    """"; write <what the type takes>, e.g. key=<its default>" for a value of the wrong
    type; "" when the type or the default cannot be told."""
    kind = next((name for t, name in _TYPE_NAMES.items() if t in why), None)
    if kind is None:
        return ""
    others = [t for t in trial if _key(t) != key]
    try:
        node = compose("config", overrides=others)
        for part in key.split("."):
            node = node[part]
    except Exception:
        return f"; write {kind}"
    default = "true" if node is True else "false" if node is False else node
    return f"; write {kind}, e.g. {key}={default} (the default)"


def _key(override: str) -> str:
    """The key an override sets: ``+algo=repet`` → ``algo``, ``~stft.hop`` → ``stft.hop``."""
    return override.lstrip("+~").split("=")[0]


def _first_line(exc) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
