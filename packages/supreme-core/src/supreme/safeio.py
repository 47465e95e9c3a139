"""File operations that cannot be steered out of the store, and writes that fail cleanly.

* :func:`write_atomically`: a temporary file created with ``O_EXCL | O_NOFOLLOW`` (a planted
  symlink is never written through), written with ``os.write`` and ``os.fsync``, then
  renamed into place. Any failure (no space, quota, read-only file system, I/O error)
  removes the temporary file and raises :class:`WriteFailed`: what failed, where, and how
  much space the write needed, so the file it would have replaced is left as it was.
* :func:`read_inside`: the bytes of a regular file that resolves inside ``root``, opened
  with ``O_NOFOLLOW | O_NONBLOCK`` (a symlink, a FIFO or a device is refused, never read).
* :func:`open_lock`: a lock file opened with ``O_CREAT | O_NOFOLLOW`` and never truncated.
* :func:`inside`: whether a path resolves inside a directory.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from pathlib import Path

from supreme.errors import SupremeError

#: write errors that mean "the file system cannot take this write" (not a bug of ours)
DISK_ERRORS = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
               errno.EROFS: "the file system is read-only", errno.EIO: "input/output error",
               errno.EFBIG: "file too large for the file system"}


class WriteFailed(SupremeError):
    """A file could not be written (full disk, quota, read-only file system, I/O error).

    Nothing partial is left behind: the temporary file is removed, the previous version of
    the file (if any) is unchanged.
    """


def inside(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> bool:
    """Whether ``path`` resolves (symlinks followed) to ``root`` or below it."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _free_bytes(directory: Path) -> int | None:
    try:
        return shutil.disk_usage(directory).free
    except OSError:
        return None


def write_failed(path: Path, size: int, exc: OSError) -> WriteFailed:
    """The two-line error of a failed write of ``size`` bytes to ``path``."""
    reason = DISK_ERRORS.get(exc.errno or 0) or (exc.strerror or type(exc).__name__)
    free = _free_bytes(path.parent) if path.parent.exists() else None
    room = f"; {free:,} bytes free there" if free is not None else ""
    if exc.errno == errno.EROFS:
        hint = (f"Make {path.parent} writable (remount it read-write) or choose another "
                "output_dir, then run the same command again: finished stages are kept.")
    else:
        hint = (f"Free at least {size:,} bytes on the file system of {path.parent} (or choose "
                "another output_dir), then run the same command again: finished stages are kept.")
    return WriteFailed(f"cannot write {path} ({size:,} bytes needed{room}): {reason}", hint)


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (see module doc)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = -1
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)  # our own leftover from a killed write (never followed: unlink)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o644)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            if written <= 0:
                raise OSError(errno.EIO, "short write")
            view = view[written:]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except OSError as exc:
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise write_failed(path, len(data), exc) from exc


def read_inside(path: Path, root: Path) -> bytes:
    """The bytes of ``path``, a regular file that resolves inside ``root``.

    Raises ``OSError`` (``ELOOP`` for a symlink, ``EXDEV`` for a path leading out of
    ``root``, ``EINVAL`` for something that is not a regular file); callers turn it into
    their own error.
    """
    if not inside(path, root):
        raise OSError(errno.EXDEV, f"it resolves to {os.path.realpath(path)}, outside {root}")
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "it is not a regular file")
        chunks = []
        while chunk := os.read(fd, 1 << 24):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def open_lock(path: Path) -> int:
    """A file descriptor of the lock file ``path``: created if absent, never truncated, never
    a symlink (``ELOOP``) or anything but a regular file."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, f"{path} is not a regular file")
    return fd


def is_link(path: Path) -> bool:
    return os.path.islink(path)
