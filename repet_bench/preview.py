"""MUSDB18-7: musdb's 7-second preview of all 150 MUSDB18 tracks, fetched by musdb itself.

``dataset=musdb18 dataset.download=true`` reads it from ``<paths.cache>/MUSDB18-7``,
downloading it first if it is not there: the same data as the nussl tutorial's
``nussl.datasets.MUSDB18(download=True)``, through the same code (``musdb.DB.download``:
its URL, its progress bar, its unzip, whose CRC check verifies every file). Around it,
what musdb's download does not do:

- the download goes into a staging folder, is checked (``train/`` holds 100 stem files
  including musdb's validation tracks, ``test/`` exactly the 50 MUSDB18 test tracks) and
  only then renamed into place, so a broken or killed download never leaves a folder
  that looks like the dataset; the next run removes what it left and downloads again
  (musdb's downloader cannot continue a transfer: it restarts from the first byte);
- one download at a time per cache (a lock), and one line that says what went wrong
  when the host cannot be reached.

``dataset.download_url`` replaces musdb's URL (a mirror; the tests serve a zip laid out
as the real one on 127.0.0.1).
"""

from __future__ import annotations

import errno
import functools
import os
import shutil
import zipfile
from http.client import HTTPException
from pathlib import Path
from urllib.error import URLError

FOLDER = "MUSDB18-7"
N_TRAIN, N_TEST = 100, 50
STEM_SUFFIX = ".stem.mp4"


class PreviewError(RuntimeError):
    """MUSDB18-7 cannot be downloaded or is not complete (the message says what to do)."""


def preview_root(cache: Path) -> Path:
    """Where the preview lives: ``<cache>/MUSDB18-7``."""
    return Path(cache).expanduser() / FOLDER


def problem(root: Path) -> str | None:
    """What is missing from a MUSDB18-7 root (``train/``, ``test/`` of stem files), or None.

    >>> problem(Path("/nonexistent"))
    'no test/ folder'
    """
    from .data import musdb_setup

    found = {}
    for subset in ("test", "train"):
        folder = Path(root) / subset
        if not folder.is_dir():
            return f"no {subset}/ folder"
        files = [f for f in folder.iterdir() if f.name.endswith(STEM_SUFFIX)]
        empty = [f.name for f in files if f.stat().st_size == 0]
        if empty:
            return f"{subset}/{empty[0]} is empty"
        found[subset] = {f.name[: -len(STEM_SUFFIX)] for f in files}
    expected = _test_names()
    if expected is not None and found["test"] != expected:
        missing = sorted(expected - found["test"])
        extra = sorted(found["test"] - expected)
        return (f"test/ holds {len(found['test'])} tracks, not MUSDB18's {len(expected)} test "
                f"tracks (missing e.g. {missing[:1]}, unexpected e.g. {extra[:1]})")
    if len(found["test"]) != N_TEST:
        return f"test/ holds {len(found['test'])} tracks, not {N_TEST}"
    validation = set(musdb_setup()["validation_tracks"])
    if len(found["train"]) != N_TRAIN or not validation <= found["train"]:
        return (f"train/ holds {len(found['train'])} tracks, not {N_TRAIN} including musdb's "
                f"{len(validation)} validation tracks")
    return None


@functools.lru_cache(maxsize=1)
def _test_names() -> frozenset | None:
    """MUSDB18's 50 test track names, from the packaged SiSEC 2018 reference (None without
    it); read once per process: every point of a sweep checks the root."""
    from .sisec18 import find_reference_dir, load_reference

    reference = load_reference(find_reference_dir())
    return frozenset(reference.track_names) if reference is not None else None


def ensure(cache: Path, url: str | None = None, fetch: bool = True) -> Path:
    """The MUSDB18-7 root under ``cache``, downloaded first if needed (``fetch``; a dry run
    passes False and gets an error instead of a download).

    Raises
    ------
    PreviewError
        Offline or unreachable host, a broken download, an incomplete archive, another
        download under way, or (``fetch=False``) not downloaded yet.
    """
    from .io import LockedError, exclusive_lock

    root = preview_root(cache)
    if root.is_dir():
        why = problem(root)
        if why is None:
            return root
        raise PreviewError(f"{root} is not a complete MUSDB18-7 ({why}); delete the folder "
                           "to download it again")
    if not fetch:
        raise PreviewError(f"MUSDB18-7 is not downloaded yet (into {root}); a dry run "
                           "downloads nothing: run without runner.dry_run=true to fetch it")
    work = root.with_name(FOLDER + ".download")
    try:
        with exclusive_lock(work, "download of MUSDB18-7", "rerun once it is done"):
            if root.is_dir():  # another run finished it while this one waited
                return ensure(cache, url, fetch)
            staging = work / "partial"
            if staging.exists():  # what a killed download left
                shutil.rmtree(staging)
            _download(staging, url)
            why = problem(staging)
            if why is not None:
                shutil.rmtree(staging, ignore_errors=True)
                raise PreviewError(f"the downloaded MUSDB18-7 is not complete ({why}); "
                                   "rerun to download it again")
            os.replace(staging, root)
    except LockedError as exc:
        raise PreviewError(str(exc)) from None
    shutil.rmtree(work, ignore_errors=True)
    return root


def _download(staging: Path, url: str | None) -> None:
    """musdb's own download of the preview into ``staging`` (``url``: instead of musdb's).

    ``musdb.DB.download`` is called on a DB that is not constructed: ``DB(download=True)``
    would then list its tracks, which probes every stem file (a minute for 50 tracks here);
    the download uses only the DB's ``root`` and ``url``.
    """
    import musdb

    from .data import musdb_setup

    source = url or musdb_setup()["sample-url"]
    db = musdb.DB.__new__(musdb.DB)
    db.root, db.url = str(staging), source
    try:
        db.download()
    except (URLError, HTTPException, OSError, zipfile.BadZipFile) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise PreviewError(f"no space left on the device while downloading MUSDB18-7 "
                               f"into {staging}: free some space (or choose paths.cache) "
                               "and rerun") from None
        reason = getattr(exc, "reason", None) or exc
        raise PreviewError(
            f"could not download MUSDB18-7 from {source} ({exc.__class__.__name__}: "
            f"{reason}); check the connection (this machine may be offline) and rerun: "
            "nothing half-downloaded is kept. Or fetch it elsewhere "
            "(python -c 'import musdb; musdb.DB(download=True)') and pass "
            "dataset.root=<its folder> without dataset.download") from None
