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
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from supreme.errors import StoreError

PAYLOAD = "payload.pt"
META = "meta.json"


class StoreWarning(UserWarning):
    """An artifact was unreadable and will be recomputed."""


def hash_key(payload: Mapping[str, Any]) -> str:
    """A stable 24-hex-digit key of a JSON-able mapping."""
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=2, sort_keys=True, default=str).encode())


class Store:
    """Artifacts under ``root``, addressed by ``(kind, key)``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / key

    def has(self, kind: str, key: str) -> bool:
        return (self.path(kind, key) / META).is_file()

    @contextlib.contextmanager
    def lock(self, kind: str, key: str) -> Iterator[None]:
        """An exclusive lock on one artifact, across processes sharing the file system."""
        directory = self.path(kind, key)
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- writing ------------------------------------------------------------------
    def save(
        self, kind: str, key: str, meta: Mapping[str, Any], tensors: Mapping[str, Any] | None = None
    ) -> None:
        import torch

        directory = self.path(kind, key)
        record = dict(meta)
        if tensors is not None:
            buffer = io.BytesIO()
            torch.save(dict(tensors), buffer)
            data = buffer.getvalue()
            atomic_write_bytes(directory / PAYLOAD, data)
            record["sha256"] = hashlib.sha256(data).hexdigest()
        atomic_write_json(directory / META, record)

    # -- reading ------------------------------------------------------------------
    def meta(self, kind: str, key: str) -> dict[str, Any]:
        try:
            return json.loads((self.path(kind, key) / META).read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"artifact {kind}/{key} has an unreadable {META}: {exc}",
                f"Delete {self.path(kind, key)} and rerun; it will be recomputed.",
            ) from exc

    def load(self, kind: str, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(meta, tensors)``; raises :class:`StoreError` if the payload is corrupt."""
        import torch

        meta = self.meta(kind, key)
        if "sha256" not in meta:
            return meta, {}
        path = self.path(kind, key) / PAYLOAD
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise StoreError(
                f"artifact {kind}/{key} has no payload ({exc})", "It will be recomputed."
            ) from exc
        if hashlib.sha256(data).hexdigest() != meta["sha256"]:
            raise StoreError(
                f"artifact {kind}/{key} is corrupted (checksum mismatch)", "It will be recomputed."
            )
        try:
            tensors = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as exc:
            raise StoreError(
                f"artifact {kind}/{key} cannot be loaded safely: {type(exc).__name__}: {exc}",
                "Only plain tensors are accepted; delete it and rerun.",
            ) from exc
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
    ) -> tuple[dict[str, Any], dict[str, Any], bool]:
        """``(meta, tensors, reused)``: load the artifact, or compute and save it.

        ``compute`` returns ``(meta, tensors)``. Only the ``writer`` (rank 0) saves; other
        ranks compute the same thing in lock-step and keep it in memory.
        """
        found = self._reusable(kind, key, warn=True)
        if found is not None:
            return (*found, True)
        if not writer:
            meta, tensors = compute()
            return dict(meta), dict(tensors or {}), False
        with self.lock(kind, key):
            found = self._reusable(kind, key, warn=False)  # finished while we waited?
            if found is not None:
                return (*found, True)
            meta, tensors = compute()
            self.save(kind, key, meta, tensors)
        return dict(meta), dict(tensors or {}), False
        with self.lock(kind, key):
            if self.has(kind, key):  # another process finished it while we waited
                try:
                    meta, tensors = self.load(kind, key)
                    return meta, tensors, True
                except StoreError:
                    pass
            meta, tensors = compute()
            self.save(kind, key, meta, tensors)
        return dict(meta), dict(tensors or {}), False
