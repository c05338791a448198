"""Build small roots laid out exactly like MUSDB18 (stems) and MUSDB18-HQ (wav folders)
from the real sample stems, plus helpers to break them."""

from __future__ import annotations

import shutil
from pathlib import Path

import soundfile as sf

from repet_bench import data

STEM_ORDER = ("mixture", "drums", "bass", "other", "vocals")
# A musdb validation track name (train split "valid") and a plain training track name.
VALID_NAME = "Actions - One Minute Smile"
TRAIN_NAME = "A Classic Education - NightOwl"
TEST_NAMES = ("Al James - Schoolboy Facination", "AM Contra - Heart Peripheral")


def sample_stem_file(cache: Path) -> Path:
    root = data.sample_root(cache)
    return next((root / "test").glob("*.stem.mp4")).resolve()


def make_stems_root(root: Path, cache: Path) -> Path:
    """``root/{train,test}/<track>.stem.mp4``: copies of the real sample stem file."""
    src = sample_stem_file(cache)
    for subset, names in (("train", (VALID_NAME, TRAIN_NAME)), ("test", TEST_NAMES)):
        (root / subset).mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copyfile(src, root / subset / f"{name}.stem.mp4")
    return root


def make_hq_root(root: Path, cache: Path) -> Path:
    """``root/{train,test}/<track>/{mixture,drums,bass,other,vocals}.wav`` from the sample."""
    track = data.load_track(data.TrackRef("x", "test", str(sample_stem_file(cache)), False))
    import stempeg

    stems, rate = stempeg.read_stems(str(sample_stem_file(cache)), ffmpeg_format="s16le")
    for subset, names in (("train", (VALID_NAME, TRAIN_NAME)), ("test", TEST_NAMES)):
        for name in names:
            folder = root / subset / name
            folder.mkdir(parents=True, exist_ok=True)
            for stem, audio in zip(STEM_ORDER, stems):
                sf.write(folder / f"{stem}.wav", audio, rate, subtype="PCM_16")
    assert track.rate == rate
    return root


def preview_names() -> dict[str, list[str]]:
    """Track names of a MUSDB18-7 root: the 50 MUSDB18 test tracks (the SiSEC 2018
    reference lists them) and 100 training tracks, musdb's 14 validation tracks among them
    (the other training names are made up: no list of them ships with musdb)."""
    from repet_bench.sisec18 import find_reference_dir, load_reference

    test = sorted(load_reference(find_reference_dir()).track_names)
    valid = sorted(data.musdb_setup()["validation_tracks"])
    train = valid + [f"Preview Train {i:02d} - Track" for i in range(100 - len(valid))]
    return {"train": train, "test": test}


def make_preview_zip(path: Path, cache: Path, distinct: int = 6,
                     drop: str | None = None) -> Path:
    """A zip laid out as musdb's MUSDB18-7-STEMS.zip (``train/`` and ``test/`` of
    ``.stem.mp4`` files at its top) from the real sample: the first ``distinct`` test
    tracks (in musdb's order) are the sample rotated by 1, 2, ... s, so they score apart;
    the others are copies of the sample. ``drop``: a track left out (an incomplete zip)."""
    import zipfile

    import numpy as np
    import stempeg

    src = sample_stem_file(cache)
    stems, rate = stempeg.read_stems(str(src))
    rotated = {}
    work = path.parent / "preview-stems"  # shared by the zips of one folder
    work.mkdir(parents=True, exist_ok=True)
    names = preview_names()
    for i, name in enumerate(names["test"][:distinct]):
        target = work / f"{i}.stem.mp4"
        if not target.exists():
            stempeg.write_stems(str(target), np.roll(stems, (i + 1) * rate, axis=1),
                                sample_rate=rate,
                                writer=stempeg.StreamsWriter(codec="aac", bitrate=256000))
        rotated[name] = target
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for subset, listed in names.items():
            for name in listed:
                if name != drop:
                    archive.write(rotated.get(name, src), f"{subset}/{name}.stem.mp4")
    return path
