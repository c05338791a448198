"""Write generated full-length tracks as a MUSDB18-HQ root, for benchmarks and the
memory-aware runner at the scale of real tracks (MUSDB18 tracks last 2.5 to 10 minutes).

Each track tiles a synthetic loop track (repet_bench.synthetic) to the given length.

    python scripts/make_long_root.py /tmp/long --minutes 7 7 3
    python -m repet_bench +algo=repet dataset=musdb18hq dataset.root=/tmp/long runner.n_jobs=auto
"""

from __future__ import annotations

import argparse
from pathlib import Path

from repet_bench import synthetic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path)
    parser.add_argument("--minutes", type=float, nargs="+", default=[7.0])
    args = parser.parse_args()
    for i, minutes in enumerate(args.minutes):
        folder = args.root / "test" / f"Long {i + 1:02d} - {minutes:g} min"
        synthetic.write_track(folder, synthetic.full_length(i, minutes * 60))
        print(folder)


if __name__ == "__main__":
    main()
