"""Rewrite tests/data/stored_scores.csv: the reviewed per-frame scores on the real sample.

Run only when a change of a published number is intended, and say why in the commit:

    python scripts/update_stored_scores.py

Prints, per configuration, the largest change against the stored file (if any), then
writes it (atomically). ``tests/test_stored_scores.py`` compares against it at 0.01 dB.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from stored_scores import STORE, compute_all, load, sample_track  # noqa: E402

from repet_bench.io import atomic_write_text  # noqa: E402


def main() -> None:
    fresh = compute_all(sample_track())
    if STORE.exists():
        keys = ["configuration", "target", "metric", "frame"]
        merged = fresh.merge(load(), on=keys, how="outer", suffixes=("", "_stored"))
        merged["change"] = (merged["score"] - merged["score_stored"]).abs()
        print("largest change per configuration (dB):")
        print(merged.groupby("configuration")["change"].max().to_string())
    atomic_write_text(STORE, fresh.to_csv(index=False, float_format="%.6f"))
    print(f"wrote {len(fresh)} scores to {STORE}")


if __name__ == "__main__":
    main()
