"""Rewrite tests/data/stored_scores.csv: the reviewed per-frame scores on the real sample.

Run only when a change of a published number is intended, and say why in the commit:

    python scripts/update_stored_scores.py

Prints, per configuration, the largest change against the stored file (if any), then
writes it (atomically). ``tests/test_stored_scores.py`` compares against it at 0.01 dB.
A stored score that moved by less than the file's resolution (``RESOLUTION``: BSS Eval's
least-squares solves differ in the last bits between runs and BLAS builds, which flips a
rounded 6th decimal) keeps its stored text, and the rows keep the stored order (new
ones last), so the diff shows what really moved.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from stored_scores import STORE, compute_all, load, sample_track  # noqa: E402

from repet_bench.io import atomic_write_text  # noqa: E402


# The stored scores' decimals (%.6f) and the change below which a stored one is kept
# (ten units of the last decimal: a thousandth of the tests' 0.01 dB).
DECIMALS = 6
RESOLUTION = 10.0 ** (1 - DECIMALS)


def main() -> None:
    fresh = compute_all(sample_track())
    if STORE.exists():
        keys = ["configuration", "target", "metric", "frame"]
        merged = fresh.merge(load(), on=keys, how="left", suffixes=("", "_stored"))
        merged["change"] = (merged["score"] - merged["score_stored"]).abs()
        print("largest change per configuration (dB; NaN: new or undefined):")
        print(merged.groupby("configuration")["change"].max().to_string())
        same = merged["change"] < RESOLUTION
        fresh.loc[same.to_numpy(), "score"] = merged.loc[same, "score_stored"].to_numpy()
        stored_order = {key: i for i, key in enumerate(load()[keys].itertuples(index=False))}
        position = [stored_order.get(key, len(stored_order))
                    for key in fresh[keys].itertuples(index=False)]
        fresh = fresh.iloc[sorted(range(len(fresh)), key=position.__getitem__)]
    atomic_write_text(STORE, fresh.to_csv(index=False, float_format=f"%.{DECIMALS}f"))
    print(f"wrote {len(fresh)} scores to {STORE}")


if __name__ == "__main__":
    main()
