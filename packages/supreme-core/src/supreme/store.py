"""Content-addressed artifacts: checkpoints, splits, caches and results.

Every artifact lives at ``ROOT/<kind>/<key>/`` where ``key`` is a hash of everything that
determines it (configs, seeds, component versions, precision, world size, strategy). An
artifact is a ``payload.pt`` of tensors (loaded with ``weights_only=True``, so a file
cannot run code) and/or a ``meta.json``; ``meta.json`` is written last and records the
payload's SHA-256, so its presence means "complete" and a corrupted payload is detected
and recomputed. Writes go to a temporary file and are renamed into place (atomic), and a
file lock per artifact makes concurrent processes compute each artifact once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import stat
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from supreme.errors import StoreError
from supreme.safeio import inside, open_lock, read_inside, write_atomically

PAYLOAD = "payload.pt"
META = "meta.json"


def _refusal(exc: BaseException) -> str:
    """The informative line of ``torch.load(weights_only=True)``'s error (never its advice
    to retry with ``weights_only=False``)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if "GLOBAL" in line or line.startswith("Unsupported"):
            return line
    if any("Weights only load failed" in line for line in lines):
        return "it holds more than plain tensors"
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


class StoreWarning(UserWarning):
    """An artifact was unreadable and will be recomputed."""


def _stamp(path: Path) -> list[int]:
    """``[size, mtime_ns]`` of a regular file (not followed if it is a link)."""
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        raise OSError(f"{path} is not a regular file")
    return [info.st_size, info.st_mtime_ns]


def hash_key(payload: Mapping[str, Any]) -> str:
    """A stable 24-hex-digit key of a JSON-able mapping."""
    text = strict_json(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write through a temporary file and a rename; a failed write (full disk, read-only
    file system) removes the temporary file and raises a two-line
    :class:`~supreme.safeio.WriteFailed` (:func:`supreme.safeio.write_atomically`)."""
    write_atomically(path, data)


def strict_json(obj: Any, **kwargs: Any) -> str:
    """JSON text that any parser reads (RFC 8259): a NaN or infinity raises ValueError
    instead of being written as the non-standard ``NaN``/``Infinity`` tokens."""
    return json.dumps(obj, allow_nan=False, **kwargs)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, strict_json(obj, indent=2, sort_keys=True, default=str).encode())


class Store:
    """Artifacts under ``root``, addressed by ``(kind, key)``."""

    #: a run writes what it computes (``supreme plan`` reads through a view that does not)
    writes = True

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / key

    def has(self, kind: str, key: str) -> bool:
        return (self.path(kind, key) / META).is_file()

    def _own_directory(self, kind: str, key: str) -> Path:
        """The artifact's directory, which must not lead out of the store (a symlinked kind
        or artifact directory is refused: nothing is ever written through it)."""
        directory = self.path(kind, key)
        for path in (self.root / kind, directory):
            if os.path.lexists(path) and not inside(path, self.root):
                raise StoreError(
                    f"{path} leads out of the store (a symlink to {os.path.realpath(path)}); "
                    "the store never reads or writes through it",
                    f"Remove the link (`supreme gc {self.root.parent}` does) and run again.",
                )
        return directory

    @contextlib.contextmanager
    def lock(self, kind: str, key: str) -> Iterator[None]:
        """An exclusive lock on one artifact, across processes sharing the file system.

        The lock file is opened with ``O_CREAT | O_NOFOLLOW``: never truncated, never a
        symlink followed out of the store."""
        directory = self._own_directory(kind, key)
        directory.mkdir(parents=True, exist_ok=True)
        try:
            fd = open_lock(directory / ".lock")
        except OSError as exc:
            raise StoreError(f"cannot open the lock file {directory / '.lock'}: {exc.strerror or exc}",
                             "Remove it (it must be a plain file inside the store) and run "
                             "again.") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    # -- writing ------------------------------------------------------------------
    def save(
        self, kind: str, key: str, meta: Mapping[str, Any], tensors: Mapping[str, Any] | None = None
    ) -> None:
        import torch

        directory = self._own_directory(kind, key)
        record = {**meta, "written_ns": time.time_ns()}
        if tensors is not None:
            buffer = io.BytesIO()
            torch.save(dict(tensors), buffer)
            data = buffer.getvalue()
            atomic_write_bytes(directory / PAYLOAD, data)
            record["sha256"] = hashlib.sha256(data).hexdigest()
            record["payload_stamp"] = _stamp(directory / PAYLOAD)
        atomic_write_json(directory / META, record)

    def unchanged(self, kind: str, key: str) -> bool:
        """Whether an artifact is still as this store wrote it, judged without reading its
        payload and without torch: its directory and lock lie inside the store, its
        ``meta.json`` is well-formed, and its payload is the regular file the store wrote
        (the size and modification time recorded when it was written). ``False`` for
        anything else, an artifact written before payloads were stamped included: then a
        full :meth:`load` (checksum, safe unpickling) must decide. A rerun of a finished
        cell uses this to notice a store changed behind its back."""
        try:
            directory = self._own_directory(kind, key)
            meta = self.meta(kind, key)
        except StoreError:
            return False
        if os.path.islink(directory / ".lock"):
            return False
        if "sha256" not in meta:
            return True  # nothing but metadata (a metric's values)
        try:
            stamp = _stamp(directory / PAYLOAD)
        except OSError:
            return False
        return meta.get("payload_stamp") == stamp

    # -- reading ------------------------------------------------------------------
    def meta(self, kind: str, key: str) -> dict[str, Any]:
        path = self.path(kind, key) / META
        try:
            meta = json.loads(read_inside(path, self.root).decode("utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            raise StoreError(
                f"artifact {kind}/{key} has an unreadable {META} ({path}): {exc}",
                f"Delete {self.path(kind, key)} and rerun; it will be recomputed.",
            ) from exc
        if not isinstance(meta, dict) or not isinstance(meta.get("sha256", ""), str):
            raise StoreError(
                f"artifact {kind}/{key} has a malformed {META} ({path}): expected a JSON object "
                f"with a string sha256, got {type(meta).__name__}",
                f"Delete {self.path(kind, key)} and rerun; it will be recomputed.",
            )
        return meta

    def load(self, kind: str, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(meta, tensors)``; raises :class:`StoreError` if the payload is corrupt.

        The payload is read with ``torch.load(weights_only=True)``: a pickle that would
        import or call anything but tensors and plain containers is refused, never run.
        """
        meta = self.meta(kind, key)
        if "sha256" not in meta:
            return meta, {}  # metadata only (a metric's values): no torch needed
        import torch

        path = self.path(kind, key) / PAYLOAD
        redo = f"It will be recomputed (or delete {self.path(kind, key)})."
        try:
            data = read_inside(path, self.root)
        except OSError as exc:
            raise StoreError(f"artifact {kind}/{key} has no readable payload {path} ({exc})",
                             redo) from exc
        if hashlib.sha256(data).hexdigest() != meta["sha256"]:
            raise StoreError(
                f"artifact {kind}/{key} is corrupted: {path} does not match its checksum "
                f"({len(data)} bytes; truncated or modified)", redo)
        try:
            with warnings.catch_warnings():  # torch's notes on pickle protocols: noise here
                warnings.simplefilter("ignore")
                tensors = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as exc:
            raise StoreError(
                f"artifact {kind}/{key} cannot be loaded safely: {path} is not a plain tensor "
                f"file ({_refusal(exc)}); nothing in it was run",
                "Only tensors are accepted; delete it and rerun (it will be recomputed).",
            ) from exc
        if not isinstance(tensors, dict) or not all(isinstance(k, str) for k in tensors):
            raise StoreError(
                f"artifact {kind}/{key} has a malformed payload {path}: expected a mapping of "
                f"names to tensors, got {type(tensors).__name__}", redo)
        return meta, tensors

    def _reusable(self, kind: str, key: str, *, warn: bool) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """``(meta, tensors)`` of a complete, intact artifact, else ``None``."""
        if not self.has(kind, key):
            return None
        try:
            return self.load(kind, key)
        except StoreError as exc:
            if warn:
                warnings.warn(f"{exc.message}; recomputing it", StoreWarning, stacklevel=3)
            return None

    def get_or_compute(
        self,
        kind: str,
        key: str,
        compute: Callable[[], tuple[Mapping[str, Any], Mapping[str, Any] | None]],
        *,
        writer: bool = True,
        stale: Callable[[dict[str, Any]], bool] | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any], bool]:
        """``(meta, tensors, reused)``: load the artifact, or compute and save it.

        ``compute`` returns ``(meta, tensors)``. Only the ``writer`` (rank 0) saves; other
        ranks compute the same thing in lock-step and keep it in memory. ``stale(meta)``
        true means an existing artifact must be computed again (``--recompute``): it stays
        in place, valid, until the new one replaces it under the lock.
        """
        def usable(warn: bool) -> tuple[dict[str, Any], dict[str, Any]] | None:
            if stale is not None and self.has(kind, key):
                try:
                    if stale(self.meta(kind, key)):
                        return None
                except StoreError:
                    return None
            return self._reusable(kind, key, warn=warn)

        found = usable(warn=True)
        if found is not None:
            return (*found, True)
        if not writer:
            meta, tensors = compute()
            return dict(meta), dict(tensors or {}), False
        with self.lock(kind, key):
            found = usable(warn=False)  # finished (or recomputed) while we waited?
            if found is not None:
                return (*found, True)
            meta, tensors = compute()
            self.save(kind, key, meta, tensors)
        return dict(meta), dict(tensors or {}), False

    def written_ns(self, kind: str, key: str) -> int:
        """When an artifact was written (0 if unknown or absent)."""
        if not self.has(kind, key):
            return 0
        try:
            value = self.meta(kind, key).get("written_ns", 0)
        except StoreError:
            return 0
        return value if isinstance(value, int) else 0
