"""Verified cache files: arrays stored with a digest of their content, checked on every read.

The caches (decoded audio in ``<paths.cache>/decoded``, the fast backend's reference
statistics in ``<paths.cache>/refstats``) are shared by every run, sweep point and worker,
and outlive them. A damaged cache file must never change a published number, nor make a
track fail on every rerun: each file ``F`` is written (atomically) with ``F.sha256``
beside it, the SHA-256 of its arrays' names, dtypes, shapes and bytes. A file that cannot
be read, or whose arrays do not match that digest (or that has none), is named in a
warning, deleted and recomputed; it is never used and never fatal.

Why by hand: a ``.npy`` file carries no checksum at all; an ``.npz``'s zip CRC-32 catches
damaged bytes (when numpy reads a member whole) but not a whole file replaced by another
valid one, and no maintained library verifies array caches. The digest is ours to write
and check, whatever numpy does. It costs ~0.1 s per 150 MB (SHA-256 runs in hardware on
current CPUs), next to seconds of decoding.

Examples
--------
>>> import tempfile, pathlib, numpy as np
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> make = lambda: {"x": np.arange(4.0)}
>>> fetch_or_compute(folder / "a.npz", make, "example")["x"]
array([0., 1., 2., 3.])
>>> (folder / "a.npz.sha256").exists()
True
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Callable

import numpy as np

from .io import atomic_write, atomic_write_text

log = logging.getLogger("repet_bench")

DIGEST_SUFFIX = ".sha256"


def digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 of named arrays: names, dtypes, shapes and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(memoryview(a.reshape(-1)).cast("B"))
    return h.hexdigest()


def store(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` (``.npz``, uncompressed) and its digest beside it.

    Both files are written atomically; the data first, so a reader that finds a digest
    finds the data it describes (concurrent writers of one key write identical content).
    """
    path = Path(path)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:  # a file object: savez would append ".npz" to a path
            np.savez(fh, **arrays)

    atomic_write(path, write)
    atomic_write_text(_digest_path(path), digest(arrays) + "\n")


def fetch(path: Path, what: str) -> dict[str, np.ndarray] | None:
    """The arrays stored at ``path``, or None when absent or unusable.

    An unusable file (unreadable, no digest, digest mismatch) is reported with a warning
    naming it and ``what`` it held, and deleted so it is recomputed.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        expected = _digest_path(path).read_text().strip()
        with np.load(path, allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files}
        problem = None if digest(arrays) == expected else "its content does not match its digest"
    except FileNotFoundError:
        problem = f"its digest file {_digest_path(path).name} is missing"
    except Exception as exc:  # numpy and zipfile raise many types for damaged files
        problem = f"it cannot be read ({exc.__class__.__name__}: {exc})"
    if problem is None:
        return arrays
    log.warning("cached %s %s is damaged: %s; deleting it and computing it again",
                what, path, problem)
    discard(path)
    return None


def fetch_or_compute(path: Path, compute: Callable[[], dict[str, np.ndarray]],
                     what: str) -> dict[str, np.ndarray]:
    """The verified arrays at ``path``, else ``compute()``'s, stored there for next time."""
    arrays = fetch(path, what)
    if arrays is None:
        arrays = compute()
        store(path, arrays)
    return arrays


def discard(path: Path) -> None:
    """Delete a cache file and its digest (either may already be gone)."""
    for p in (Path(path), _digest_path(path)):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


def _digest_path(path: Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + DIGEST_SUFFIX)
