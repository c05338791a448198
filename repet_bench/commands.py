"""What the command line does before Hydra: ``--help``, ``params``, and the sweep dir.

Hydra's own help lists the config groups with the schemas registered in code
(``base_repet``...) and drops the yaml comments, which are the documentation of every
parameter. So ``--help`` and ``params`` are answered here from the packaged yaml files,
and a sweep (``-m``) is given a stable dir named by its command, so rerunning the same
command resumes it.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import re

from .config import RUNTIME_KEYS, available, default_options

GROUPS = ("algo", "dataset", "stft", "mask", "phase", "eval", "runner", "experiment")

HELP = """\
repet_bench: REPET-family music/voice separation benchmarked on MUSDB18 (BSS Eval v4).

usage:
  python -m repet_bench +algo=NAME [group=option ...] [key=value ...]   one run
  python -m repet_bench -m +algo=A,B mask=soft,binary ...              a sweep (one run per point)
  python -m repet_bench params algo=repet [mask=binary ...]            every parameter, documented
  python -m repet_bench separate FILE... [algo=NAME] [mask=..] [phase=..] [out=DIR]
  python -m repet_bench.report RESULTS_DIR                              leaderboards, plots
                                                                        (also: repet-bench-report)
examples:
  python -m repet_bench +algo=repet                                      the embedded sample
  python -m repet_bench +algo=repet_sim dataset=musdb18 dataset.root=/data/musdb18 runner.n_jobs=auto
  python -m repet_bench -m +experiment=sisec18 dataset=musdb18 dataset.root=/data/musdb18
  python -m repet_bench +algo=repet runner.dry_run=true                  what would run, nothing run

A run resumes when the same command is given again (finished tracks are skipped), a sweep
too (same command, same sweep dir). Config mistakes are one line and exit code 2.
Hydra's own help: --hydra-help. The composed config: --cfg job (without the comments:
`params` shows them).

options (`group=option`; algo is added with `+algo=`; default marked *):
"""


def _describe(group: str, option: str, width: int = 92) -> str:
    """The first sentence of the option's yaml comment (its description), at most
    ``width`` characters."""
    text = importlib.resources.files("repet_bench.conf").joinpath(group, f"{option}.yaml").read_text()
    lines = []
    for line in text.splitlines():
        if not line.startswith("#") or line.startswith("# @package"):
            if lines:
                break
            continue
        body = line[1:].strip()
        if lines and (not body or line.startswith("#  ")):  # a blank or indented comment line
            break
        lines.append(body)
    sentence = re.split(r"(?<=[.:;])\s", " ".join(lines), maxsplit=1)[0].rstrip(".:;")
    return sentence if len(sentence) <= width else sentence[: width - 1].rstrip() + "…"


def help_text() -> str:
    """``python -m repet_bench --help``: the tool, examples, each group's options."""
    defaults = default_options()
    out = [HELP]
    for group in GROUPS:
        out.append(f"  {group}:")
        for option in available(group):
            mark = "*" if defaults.get(group) == option else " "
            out.append(f"   {mark}{option:<19} {_describe(group, option)}")
    return "\n".join(out) + "\n"


def params_text(args: list[str]) -> str:
    """``python -m repet_bench params group=option ...``: each option's yaml, comments
    included (the documentation of every parameter and its default).

    Raises
    ------
    ValueError
        An argument that is not ``group=option`` or an option that does not exist.
    """
    if not args:
        args = [f"{g}={defaults}" for g, defaults in default_options().items()
                if g in ("stft", "mask", "phase", "eval")] + ["algo=repet"]
    out = []
    for arg in args:
        group, sep, option = arg.lstrip("+").partition("=")
        if not sep or group not in GROUPS:
            raise ValueError(f"params {arg!r}: use group=option with group one of "
                             f"{', '.join(GROUPS)} (e.g. params algo=repet)")
        if option not in available(group):
            raise ValueError(f"{group}={option} does not exist; available: "
                             f"{', '.join(available(group))}")
        text = importlib.resources.files("repet_bench.conf").joinpath(group, f"{option}.yaml").read_text()
        # The defaults list is Hydra's wiring (schema names), not a parameter.
        text = re.sub(r"^defaults:\n(?:\s+- .*\n)+", "", text, flags=re.M)
        out.append(f"### {group}={option}   (conf/{group}/{option}.yaml)\n{text.rstrip()}\n")
    return "\n".join(out)


# Hydra's flags that take a value (the next argument).
HYDRA_FLAGS_WITH_VALUE = {"--cfg", "-c", "--package", "-p", "--config-path", "-cp",
                          "--config-name", "-cn", "--config-dir", "-cd", "--experimental-rerun",
                          "--shell-completion", "-sc"}
# Hydra's flags with which a command runs nothing of ours (it shows information) or loads
# another config tree: all of those with a value but --package, and the help flags.
HYDRA_INFO_FLAGS = (HYDRA_FLAGS_WITH_VALUE - {"--package", "-p"}) | {
    "--help", "-h", "--hydra-help", "--info", "-i", "--version"}
MAX_NAME = 150


def overrides_of(argv: list[str]) -> list[str]:
    """The overrides of a command line (flags and their values left out)."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in HYDRA_FLAGS_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            out.append(arg)
    return out


def sweep_name(argv: list[str]) -> str:
    """A sweep dir name from its command: the overrides that change results, sorted.

    The same command gives the same name (so it resumes), a changed grid or parameter
    another. Keys that do not change results (runner, paths, dataset.root...) are left
    out, as from run dir names; a long name is cut and suffixed with a hash of the whole.

    >>> sweep_name(["-m", "mask=soft,binary", "+algo=repet,ft2d", "runner.n_jobs=4"])
    '+algo=repet,ft2d_mask=soft,binary'
    """
    ignored = set(RUNTIME_KEYS)
    kept = []
    for override in overrides_of(argv):
        key = override.split("=", 1)[0].lstrip("+~")
        if key.startswith(("hydra.", "hydra/")) or any(key == k or key.startswith(k + ".") for k in ignored):
            continue
        kept.append(override)
    name = "_".join(sorted(kept)).replace("/", "_").replace("'", "").replace('"', "") or "sweep"
    if len(name) > MAX_NAME:
        name = f"{name[:MAX_NAME - 9]}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"
    return name


def flags_first(argv: list[str]) -> list[str]:
    """``argv`` with Hydra's flags (and their values) before the overrides.

    Hydra's argparse takes the overrides as one run of positional arguments, so a flag
    after an override (``+algo=repet mask=soft,binary -m``) ends it, and the overrides
    after the flag are rejected with argparse's usage text.

    >>> flags_first(["+algo=repet", "mask=soft,binary", "-m", "--cfg", "job"])
    ['-m', '--cfg', 'job', '+algo=repet', 'mask=soft,binary']
    """
    flags, overrides, skip = [], [], False
    for arg in argv:
        if skip:
            flags.append(arg)
            skip = False
        elif arg.startswith("-"):
            flags.append(arg)
            skip = arg in HYDRA_FLAGS_WITH_VALUE
        else:
            overrides.append(arg)
    return flags + overrides


def with_sweep_dir(argv: list[str]) -> list[str]:
    """``argv`` with ``hydra.sweep.dir`` set to ``<paths.results>/sweeps/<sweep_name>`` for
    a sweep (``-m``/``--multirun``) that does not set it; other commands unchanged."""
    if not {"-m", "--multirun"} & set(argv) or any(
            a.startswith("hydra.sweep.dir=") for a in argv):
        return argv
    return [*argv, f"hydra.sweep.dir='${{paths.results}}/sweeps/{sweep_name(argv)}'"]
