"""Deterministic synthetic tracks whose accompaniment repeats with a known period.

Each track is a drum/bass/chord loop of ``period`` seconds, repeated exactly, under a
non-repeating melodic "vocal" line (random notes, vibrato, harmonics). Written in
MUSDB18-HQ layout (``<root>/test/<track>/{mixture,drums,bass,other,vocals}.wav``) so the
synthetic dataset is read by the same code as the real one, and tests can assert what
REPET must find.

The periods are chosen so twice the period exceeds REPET's default search range
(``min(8 s, duration / 3)``): the beat spectrum also peaks at multiples of the period,
and with this choice the true period is the only repetition REPET may pick.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .data import RATE, SOURCES


@dataclass(frozen=True)
class SyntheticSpec:
    name: str
    period: float  # seconds
    duration: float  # seconds
    seed: int


def specs(n_tracks: int = 4, seed: int = 0) -> list[SyntheticSpec]:
    """The track list: periods 3.5–5.2 s, durations 20–30 s (2 × period > search cap)."""
    table = [(3.5, 20.0), (4.1, 23.0), (4.6, 26.0), (5.2, 30.0), (3.7, 21.0), (4.4, 25.0)]
    if not 1 <= n_tracks <= len(table):
        raise ValueError(f"dataset.n_tracks must be 1..{len(table)}, got {n_tracks}")
    return [
        SyntheticSpec(f"Synthetic {i + 1:02d} - loop {p:.1f}s", p, d, seed * 100 + i)
        for i, (p, d) in enumerate(table[:n_tracks])
    ]


def _envelope(n: int, attack: float, decay: float) -> np.ndarray:
    t = np.arange(n) / RATE
    return np.minimum(t / attack, 1.0) * np.exp(-t / decay)


def _tone(freq: float, n: int, rng, n_harmonics: int = 6, vibrato: float = 0.0) -> np.ndarray:
    t = np.arange(n) / RATE
    inst = freq * (1 + vibrato * np.sin(2 * np.pi * rng.uniform(4.5, 6.5) * t))
    phase = 2 * np.pi * np.cumsum(inst) / RATE
    amps = rng.uniform(0.3, 1.0, n_harmonics) / np.arange(1, n_harmonics + 1)
    return sum(a * np.sin(k * phase) for k, a in enumerate(amps, start=1))


def _loop(spec: SyntheticSpec, rng) -> dict[str, np.ndarray]:
    """One period of drums, bass and chords, mono float64."""
    n = int(round(spec.period * RATE))
    drums, bass, other = np.zeros(n), np.zeros(n), np.zeros(n)
    n_beats = 8
    beat = n / n_beats
    step = beat / 4
    # Drums: a random 32-step pattern (kick forced on step 0) so the loop is not
    # self-similar at fractions of the period.
    for s in range(4 * n_beats):
        start = int(s * step)
        if s == 0 or rng.random() < 0.25:
            m = min(int(0.18 * RATE), n - start)
            t = np.arange(m) / RATE
            drums[start : start + m] += (np.sin(2 * np.pi * (50 + 90 * np.exp(-t / 0.03)) * t)
                                         * np.exp(-t / 0.09))
        if rng.random() < 0.2:
            m = min(int(0.12 * RATE), n - start)
            drums[start : start + m] += 0.5 * rng.standard_normal(m) * _envelope(m, 0.001, 0.05)
        if rng.random() < 0.5:
            m = min(int(0.04 * RATE), n - start)
            hat = np.diff(rng.standard_normal(m + 1))  # crude high-pass
            drums[start : start + m] += 0.15 * hat * _envelope(m, 0.0005, 0.01)
    # Bass: one random note per beat.
    for b in range(n_beats):
        start, m = int(b * beat), int(beat)
        f = 41.2 * 2 ** (rng.integers(0, 15) / 12)
        bass[start : start + m] += _tone(f, m, rng, 4) * _envelope(m, 0.005, 0.4)
    # Chords: two different triads per loop, sustained.
    half = n // 2
    for h in range(2):
        root = 130.8 * 2 ** (rng.integers(0, 12) / 12)
        m = half if h == 0 else n - half
        chord = sum(_tone(root * 2 ** (i / 12), m, rng, 5) for i in (0, 4, 7))
        other[h * half : h * half + m] += chord * _envelope(m, 0.02, 2.0)
    return {"drums": drums, "bass": bass, "other": other}


def _melody(n: int, rng) -> np.ndarray:
    """A non-repeating vocal-like line: random notes and rests, vibrato, harmonics."""
    out = np.zeros(n)
    pos = int(rng.uniform(0.0, 0.3) * RATE)
    while pos < n:
        m = int(rng.uniform(0.15, 0.7) * RATE)
        m = min(m, n - pos)
        if rng.random() < 0.88:
            f = 196.0 * 2 ** (rng.integers(0, 20) / 12) * 2 ** (rng.normal(0, 0.02))
            out[pos : pos + m] += _tone(f, m, rng, 8, vibrato=0.01) * _envelope(m, 0.03, 0.6)
        pos += m + int(rng.uniform(0.0, 0.08) * RATE)
    return out


def _stereo(mono: np.ndarray, pan: float) -> np.ndarray:
    """Constant-power pan, ``pan`` in [-1, 1]; returns ``(samples, 2)``."""
    angle = (pan + 1) * np.pi / 4
    return np.stack([np.cos(angle) * mono, np.sin(angle) * mono], axis=1)


def render(spec: SyntheticSpec) -> dict[str, np.ndarray]:
    """Render the stems of one track, each ``(samples, 2)`` float64, peak below 1."""
    rng = np.random.default_rng(spec.seed)
    n = int(round(spec.duration * RATE))
    loop = _loop(spec, rng)
    reps = int(np.ceil(n / len(loop["drums"])))
    pans = {"drums": 0.0, "bass": 0.0, "other": 0.5, "vocals": -0.1}
    stems = {k: _stereo(np.tile(v, reps)[:n], pans[k]) for k, v in loop.items()}
    stems["vocals"] = _stereo(_melody(n, rng), pans["vocals"])
    # Balance: each accompaniment stem at equal RMS, vocals 3 dB below their sum.
    for k in SOURCES[:3]:
        stems[k] /= np.sqrt(np.mean(stems[k] ** 2)) + 1e-12
    acc_rms = np.sqrt(np.mean(sum(stems[k] for k in SOURCES[:3]) ** 2))
    stems["vocals"] *= acc_rms * 10 ** (-3 / 20) / (np.sqrt(np.mean(stems["vocals"] ** 2)) + 1e-12)
    peak = np.max(np.abs(sum(stems.values())))
    return {k: v * (0.8 / peak) for k, v in stems.items()}


def full_length(index: int, seconds: float) -> dict[str, np.ndarray]:
    """The stems of generated track ``index`` (of :func:`specs`' six, cycled) tiled to
    ``seconds``: full-length tracks for benchmarks (MUSDB18's last 2.5 to 10 minutes)."""
    stems = render(specs(6)[index % 6])
    n = int(seconds * RATE)
    reps = int(np.ceil(n / len(stems["vocals"])))
    return {k: np.tile(v, (reps, 1))[:n] for k, v in stems.items()}


def write_track(folder: Path, stems: dict[str, np.ndarray]) -> None:
    """One MUSDB18-HQ track folder: the four stems and their sum, 16-bit wav."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in SOURCES:
        sf.write(folder / f"{name}.wav", stems[name], RATE, subtype="PCM_16")
    sf.write(folder / "mixture.wav", sum(stems.values()), RATE, subtype="PCM_16")


def build_root(root: Path, n_tracks: int = 4, seed: int = 0) -> Path:
    """Write the synthetic tracks under ``root/test`` (MUSDB18-HQ layout) unless present.

    The root is built in a temporary sibling and renamed into place, so a crash or a
    concurrent builder never leaves a half-written dataset behind. ``manifest.json``
    records the periods.
    """
    root = Path(root)
    if (root / "manifest.json").exists():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".synthetic-", dir=root.parent))
    try:
        manifest = {}
        for spec in specs(n_tracks, seed):
            write_track(tmp / "test" / spec.name, render(spec))
            manifest[spec.name] = {"period": spec.period, "duration": spec.duration}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        try:
            os.rename(tmp, root)
        except OSError:
            if not (root / "manifest.json").exists():  # lost a race to a finished builder: fine
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root
