"""Run leases: which runs are alive on a store, so that ``supreme gc`` keeps what they use.

Every process that computes cells (``supreme run``, each ``--workers`` process, each SLURM
task) holds a lease while it runs: ``OUTPUT_DIR/store/.leases/<host>-<pid>-<n>.json``
with its pid, host, start time, run directory and experiment identity. A heartbeat thread
touches the file every :data:`HEARTBEAT_S` seconds; the file is removed when the process
ends (also after an error or an interrupt). Next to it, ``<same name>.uses`` lists (one
``kind/key`` per line, appended before each stage reads or computes it) every artifact the
run has referenced so far.

A lease is **stale** (its process is gone) when its host is this host and its pid is not
alive, or when its heartbeat is older than :data:`STALE_AFTER_S` (a killed process on
another node, a reused pid). Stale leases are ignored and removed by ``supreme gc``.

Two runs of different experiments on one run directory at once are refused: acquiring a
lease checks, under ``.leases/.lock``, that no live lease holds the same run directory for
another experiment.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from supreme.errors import ConfigError
from supreme.safeio import open_lock, read_inside, write_atomically

LEASES = ".leases"
HEARTBEAT_S = 30.0
STALE_AFTER_S = 15 * 60.0

_held: dict[str, Lease] = {}  # run directory -> this process's lease
_counter = 0


@dataclass(frozen=True)
class LeaseInfo:
    """A lease file as read back (by gc, by another run)."""

    path: Path
    pid: int
    host: str
    started: float
    run_dir: str
    experiment: str
    heartbeat: float

    def alive(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        if now - self.heartbeat > STALE_AFTER_S:
            return False
        if self.host == socket.gethostname():
            return _pid_alive(self.pid)
        return True

    def describe(self) -> str:
        when = datetime.fromtimestamp(self.started, timezone.utc).isoformat(timespec="seconds")
        return f"pid {self.pid} on {self.host}, {self.run_dir}, started {when}"

    def uses(self) -> set[str]:
        path = self.path.with_suffix(".uses")
        try:
            text = read_inside(path, self.path.parent).decode("utf-8", "replace")
        except OSError:
            return set()
        return {line.strip() for line in text.splitlines() if line.strip()}


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    try:  # a zombie (finished, not yet reaped) is not running
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def experiment_hash(identity: dict[str, Any]) -> str:
    text = json.dumps(identity, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def live_leases(store: Path) -> list[LeaseInfo]:
    """The live leases on ``store`` (stale ones are skipped)."""
    return [lease for lease in read_leases(store) if lease.alive()]


def read_leases(store: Path) -> list[LeaseInfo]:
    folder = store / LEASES
    if not folder.is_dir() or folder.is_symlink():
        return []
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(read_inside(path, folder))
            heartbeat = os.lstat(path).st_mtime
            found.append(LeaseInfo(path, int(data["pid"]), str(data["host"]),
                                   float(data["started"]), str(data["run_dir"]),
                                   str(data.get("experiment", "")), heartbeat))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unreadable: not a lease of ours
    return found


class Lease:
    """This process's lease on one run directory (see the module docstring)."""

    def __init__(self, store: Path, run_dir: Path, experiment: str) -> None:
        global _counter
        _counter += 1
        self.folder = store / LEASES
        name = f"{socket.gethostname()}-{os.getpid()}-{_counter}"
        self.path = self.folder / f"{name}.json"
        self.uses_path = self.folder / f"{name}.uses"
        self.run_dir = str(Path(run_dir).resolve())
        self.experiment = experiment
        self.started = time.time()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._uses_fd = -1
        self._seen: set[str] = set()

    def acquire(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with _folder_lock(self.folder):
            for other in live_leases(self.folder.parent):
                if other.run_dir == self.run_dir and other.experiment != self.experiment:
                    raise ConfigError(
                        f"run directory {self.run_dir} is in use by a running experiment with a "
                        f"different configuration ({other.describe()})",
                        "Give this experiment its own run directory with --set name=NEW_NAME, "
                        "or wait until that run ends.",
                    )
            write_atomically(self.path, json.dumps({
                "pid": os.getpid(), "host": socket.gethostname(), "started": self.started,
                "started_at": datetime.fromtimestamp(self.started, timezone.utc).isoformat(
                    timespec="seconds"),
                "run_dir": self.run_dir, "experiment": self.experiment,
            }, indent=2).encode())
        self._uses_fd = os.open(self.uses_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND
                                | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        self._thread = threading.Thread(target=self._beat, name="supreme-lease", daemon=True)
        self._thread.start()

    def use(self, artifact: str) -> None:
        """Record that the run references ``kind/key`` (before reading or computing it)."""
        if artifact in self._seen or self._uses_fd < 0:
            return
        self._seen.add(artifact)
        with contextlib.suppress(OSError):  # a full disk must not stop the run here
            os.write(self._uses_fd, f"{artifact}\n".encode())

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            with contextlib.suppress(OSError):
                os.utime(self.path)

    def release(self) -> None:
        self._stop.set()
        if self._uses_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._uses_fd)
            self._uses_fd = -1
        for path in (self.path, self.uses_path):
            with contextlib.suppress(OSError):
                os.unlink(path)


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    fd = open_lock(folder / ".lock")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@contextlib.contextmanager
def holding(store: Path, run_dir: Path, experiment: str) -> Iterator[Lease]:
    """Hold a lease on ``run_dir`` for the duration (re-entrant within a process)."""
    key = str(Path(run_dir).resolve())
    if key in _held:
        yield _held[key]
        return
    lease = Lease(store, run_dir, experiment)
    lease.acquire()
    _held[key] = lease
    try:
        yield lease
    finally:
        _held.pop(key, None)
        lease.release()


def release_all() -> None:
    """Release every lease of this process (before ``os._exit``)."""
    for key in list(_held):
        _held.pop(key).release()


def current(run_dir: Path) -> Lease | None:
    """This process's lease on ``run_dir``, if it holds one."""
    return _held.get(str(Path(run_dir).resolve()))
