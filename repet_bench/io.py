"""Files a run writes: atomic writes, a run-dir lock, safe file names.

A reader never sees a half-written result: files are written to a short temporary name
in the same folder, fsynced, then ``os.replace``d (atomic on POSIX). A process killed
mid-write (even SIGKILL) leaves at most a ``.tmp-*`` file, which the next run holding the
lock removes.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

TMP_PREFIX = ".tmp-"
# Most file systems cap a name at 255 bytes; leave room for suffixes like ".json".
MAX_NAME_BYTES = 200


class DiskFullError(OSError):
    """No space left while writing results; finished tracks are kept."""


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Create ``path`` by calling ``write(tmp_path)`` and renaming the result into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            raise DiskFullError(errno.ENOSPC, f"no space left on the device while writing {path}; "
                                "free some space and rerun the same command (finished tracks are kept)") from exc
        raise


def atomic_write_text(path: Path, text: str) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    atomic_write(path, write)


def remove_stale_temporaries(folder: Path) -> int:
    """Delete ``.tmp-*`` files left by killed writers below ``folder``; returns the count.

    Call only while holding the folder's lock, so no live writer owns them.
    """
    count = 0
    for tmp in Path(folder).rglob(f"{TMP_PREFIX}*"):
        try:
            tmp.unlink()
            count += 1
        except (FileNotFoundError, IsADirectoryError):
            pass
    return count


class LockedError(RuntimeError):
    """Another live process holds the lock."""


@contextmanager
def exclusive_lock(folder: Path):
    """Hold ``folder/.lock`` exclusively (``flock``); the kernel releases it when the
    holder dies, even by SIGKILL, so a crashed run never blocks the next one."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fh = open(folder / ".lock", "a+")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            raise LockedError(f"another run (pid {holder}) is writing into {folder}; wait for it "
                              "to finish, or write elsewhere with hydra.run.dir=<dir>") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        yield
    finally:
        fh.close()


def safe_filename(name: str) -> str:
    """``name`` usable as a file name: path separators replaced, and names too long for
    the file system shortened with a hash of the full name so they stay unique."""
    name = name.replace("/", "_").replace("\0", "_")
    if name in ("", ".", ".."):
        name = f"_{name}_"
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:10]
    head = name.encode()[: MAX_NAME_BYTES - 12].decode("utf-8", "ignore")
    return f"{head}~{digest}"
