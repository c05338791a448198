"""Write generated full-length tracks as a MUSDB18-HQ root, for benchmarks and the
memory-aware runner at the scale of real tracks (MUSDB18 tracks last 2.5 to 10 minutes).

Each track tiles a synthetic loop track (repet_bench.synthetic) to the given length.

    python scripts/make_long_root.py /tmp/long --minutes 7 7 3
    python -m repet_bench +algo=repet dataset=musdb18hq dataset.root=/tmp/long runner.n_jobs=auto
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf

from repet_bench import synthetic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path)
    parser.add_argument("--minutes", type=float, nargs="+", default=[7.0])
    args = parser.parse_args()
    specs = synthetic.specs(6)
    for i, minutes in enumerate(args.minutes):
        spec = specs[i % len(specs)]
        stems = synthetic.render(spec)
        n = int(minutes * 60 * synthetic.RATE)
        reps = int(np.ceil(n / len(stems["vocals"])))
        folder = args.root / "test" / f"Long {i + 1:02d} - {minutes:g} min"
        folder.mkdir(parents=True, exist_ok=True)
        tiled = {k: np.tile(v, (reps, 1))[:n] for k, v in stems.items()}
        for name in synthetic.STEMS:
            sf.write(folder / f"{name}.wav", tiled[name], synthetic.RATE, subtype="PCM_16")
        sf.write(folder / "mixture.wav", sum(tiled.values()), synthetic.RATE, subtype="PCM_16")
        print(folder)


if __name__ == "__main__":
    main()
