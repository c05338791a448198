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
