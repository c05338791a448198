"""``python -m repet_bench separate FILE... [algo=NAME] [mask=..] [phase=..] [out=DIR]``.

REPET on your own songs: any file ffmpeg reads (mono or stereo, any sample rate: the
algorithms work in seconds, so the audio is separated at its own rate), no references
needed. Writes ``<out>/<file stem>/vocals.wav`` and ``accompaniment.wav`` (16-bit, the
input's rate and channels) and prints the period found. Two inputs of the same name get
folders of their own (:func:`output_folders`); a file whose name holds ``=`` is a file when
it exists, and every argument after ``--`` is a file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from .io import safe_filename

USAGE = ("usage: python -m repet_bench separate FILE... [algo=repet] [mask=soft] "
         "[phase=mixture] [stft=default] [out=separated] [ALGO_PARAM=value ...]")
MAX_CHANNELS = 2


def decode(path: Path) -> tuple[np.ndarray, int]:
    """``(samples, channels)`` float32 and the rate of any file ffmpeg reads.

    Raises
    ------
    ValueError
        Not readable as audio, or more than two channels (the message says what to do).
    """
    from .data import ensure_ffmpeg

    ensure_ffmpeg()
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                            "stream=sample_rate,channels", "-of", "json", str(path)],
                           capture_output=True, text=True)
    streams = json.loads(probe.stdout or "{}").get("streams") if probe.returncode == 0 else None
    if not streams:
        raise ValueError(f"{path}: ffmpeg finds no audio stream in it "
                         f"({(probe.stderr.strip().splitlines() or ['not an audio file'])[-1]})")
    rate, channels = int(streams[0]["sample_rate"]), int(streams[0]["channels"])
    if channels > MAX_CHANNELS:
        raise ValueError(f"{path}: {channels} channels; REPET separates mono or stereo "
                         f"mixtures: downmix it first (ffmpeg -i in -ac 2 out.wav)")
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "f32le",
                          "-acodec", "pcm_f32le", "-"], capture_output=True)
    if raw.returncode != 0:
        raise ValueError(f"{path}: decoding failed ({raw.stderr.decode(errors='replace').strip()})")
    audio = np.frombuffer(raw.stdout, dtype="<f4").reshape(-1, channels)
    if len(audio) == 0:
        raise ValueError(f"{path}: no audio samples")
    return audio, rate


def _options(args: list[str]) -> tuple[list[Path], dict, Path]:
    """Files and ``key=value`` options; an existing file is a file even with a ``=`` in its
    name, and every argument after ``--`` is a file."""
    files, opts = [], {}
    for i, arg in enumerate(args):
        if arg == "--":
            files += map(Path, args[i + 1:])
            break
        key, sep, value = arg.lstrip("+").partition("=")
        if sep and not Path(arg).exists():
            opts[key.removeprefix("algo.")] = value
        else:
            files.append(Path(arg))
    if not files:
        raise ValueError(f"no audio file given\n{USAGE}")
    out = Path(opts.pop("out", "separated"))
    return files, opts, out


def _value(text: str):
    """A command-line value as YAML reads it (2.0 → float, null → None, [1,25] → list)."""
    import yaml

    return yaml.safe_load(text)


def output_folders(files: list[Path], out: Path) -> list[Path]:
    """One output folder per input, named by its stem; inputs of the same stem (``a/song.wav``,
    ``b/song.mp3``) get their parent folder's name too, then a number, so none overwrites
    another's estimates.

    >>> [p.name for p in output_folders([Path("a/song.wav"), Path("b/song.mp3")], Path("out"))]
    ['song (a)', 'song (b)']
    """
    stems = [safe_filename(p.name.removesuffix(".stem.mp4").rsplit(".", 1)[0]) for p in files]
    names = [stem if stems.count(stem) == 1 else f"{stem} ({p.resolve().parent.name})"
             for stem, p in zip(stems, files)]
    unique = [name if names.count(name) == 1 else f"{name} {names[:i].count(name) + 1}"
              for i, name in enumerate(names)]
    return [out / safe_filename(name) for name in unique]


def main(args: list[str]) -> int:
    """Separate each file; 0 when all were written, 2 on a usage error, 1 if a file failed."""
    from . import api
    from .listen import write_wav

    if {"-h", "--help"} & set(args):
        print(f"{USAGE}\n\n{__doc__.strip()}")
        return 0

    try:
        files, opts, out = _options(args)
        algo = opts.pop("algo", "repet")
        mask, phase, stft = opts.pop("mask", None), opts.pop("phase", None), opts.pop("stft", None)
        params = {k: _value(v) for k, v in opts.items()}
        api.configure(algo, mask, phase, stft, **params)  # mistakes before any decoding
    except (ValueError, TypeError) as exc:
        print(f"repet_bench separate: {exc}", file=sys.stderr)
        return 2
    failed = 0
    for path, folder in zip(files, output_folders(files, out)):
        try:
            audio, rate = decode(path)
            result = api.separate(audio, rate, algo, mask, phase, stft, **params)
        except (ValueError, OSError) as exc:
            print(f"repet_bench separate: {exc}", file=sys.stderr)
            failed += 1
            continue
        for target, estimate in result.estimates.items():
            write_wav(folder / f"{target}.wav", estimate, rate)
        period = result.info.get("period_seconds")
        found = f", period {period:.2f} s" if period is not None and np.isfinite(period) else ""
        print(f"{path}: {audio.shape[1]} channel(s) at {rate} Hz, {len(audio) / rate:.1f} s"
              f"{found} -> {folder}/vocals.wav, accompaniment.wav")
    return 1 if failed else 0
