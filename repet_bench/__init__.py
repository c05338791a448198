"""repet_bench: a benchmark harness for REPET-family music/voice separation on MUSDB18."""

from .data import ensure_ffmpeg

try:  # so that musdb/museval/stempeg import after `import repet_bench`, also in user code
    ensure_ffmpeg()
except RuntimeError:
    pass  # no ffmpeg at all: reported, with how to install it, when audio is first read

__version__ = "0.1.0"
