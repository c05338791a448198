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
import socket
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

TMP_PREFIX = ".tmp-"
# Most file systems cap a name at 255 bytes; leave room for suffixes like ".json".
MAX_NAME_BYTES = 200
# A temporary file of a shared cache whose writer cannot be checked (another host) is
# stale after this long; no cache file takes near that to write.
STALE_TMP_SECONDS = 24 * 3600
_HOST = socket.gethostname().replace("-", "_")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# The permissions the user's own files get (mkstemp's are 0600: private to the owner).
FILE_MODE = 0o666 & ~_umask()


class DiskFullError(OSError):
    """No space left while writing results; finished tracks are kept."""


def _temporary(folder: Path) -> str:
    """Create an empty temporary file in ``folder`` that no other process or thread can
    be given, with the user's usual permissions; returns its path."""
    # The writer's host and pid in the name: a cache's cleaner can tell a dead writer's
    # leftovers from a live one's (see remove_stale_temporaries).
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{_HOST}-{os.getpid()}-", dir=folder)
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    return tmp


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Create ``path`` by calling ``write(tmp_path)`` and renaming the result into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path.parent)
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
                                "free some space and rerun the same command (finished tracks "
                                "are kept)") from exc
        raise


def writable_problem(folder: Path, what: str = "the results dir",
                     fix: str = "paths.results=<dir> or hydra.run.dir=<dir>") -> str | None:
    """Why ``what`` cannot be written into ``folder`` (created if missing), or None;
    ``fix``: the settings that choose another folder."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # A probe of its own: runs started together into one dir each probe at once.
        os.unlink(_temporary(folder))
    except OSError as exc:
        return (f"cannot write into {what} {folder} ({exc.strerror or exc}); choose a "
                f"writable one with {fix}")
    return None


def atomic_write_text(path: Path, text: str) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    atomic_write(path, write)


def remove_stale_temporaries(folder: Path, shared: bool = False) -> int:
    """Delete ``.tmp-*`` files left by killed writers below ``folder``; returns the count.

    ``shared=False``: call only while holding the folder's lock, so no live writer owns
    them. ``shared=True`` (a cache that concurrent runs write into): only the files whose
    writer is gone, i.e. written on this host by a process that no longer exists, or
    older than :data:`STALE_TMP_SECONDS`.
    """
    count = 0
    for tmp in Path(folder).rglob(f"{TMP_PREFIX}*"):
        try:
            if shared and not _writer_gone(tmp):
                continue
            tmp.unlink()
            count += 1
        except (FileNotFoundError, IsADirectoryError):
            pass
    return count


def _writer_gone(tmp: Path) -> bool:
    """Whether the process that wrote temporary file ``tmp`` cannot still be writing it."""
    if time.time() - tmp.stat().st_mtime > STALE_TMP_SECONDS:
        return True
    host, _, rest = tmp.name[len(TMP_PREFIX):].partition("-")
    pid = rest.partition("-")[0]
    if host != _HOST or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


class LockedError(RuntimeError):
    """Another live process holds the lock."""


@contextmanager
def exclusive_lock(folder: Path, holder: str = "run",
                   fix: str = "write elsewhere with hydra.run.dir=<dir>"):
    """Hold ``folder/.lock`` exclusively (``flock``); the kernel releases it when the
    holder dies, even by SIGKILL, so a crashed run never blocks the next one. ``holder``
    and ``fix`` word the error for another holder (a run, a report)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fh = open(folder / ".lock", "a+")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            pid = fh.read().strip() or "?"
            raise LockedError(f"another {holder} (pid {pid}) is writing into {folder}; wait for "
                              f"it to finish, or {fix}") from None
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
