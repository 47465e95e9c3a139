"""``supreme gc``: remove store artifacts that no cell outcome and no live run references.

Every finished or failed cell lists, in ``RUN_DIR/cells/<id>.json``, the artifacts it used
(dataset, M_o, split, M_r, unlearned models, caches, evaluations). An artifact of
``OUTPUT_DIR/store`` that no outcome file under ``OUTPUT_DIR/*/cells/`` names is garbage:
it belongs to an experiment whose run directory was deleted, to an older version of a
component, or to a cell that was interrupted before it finished. Temporary files left by
a killed write are garbage too.

What is never removed:

* an artifact whose lock is held (a run is computing it right now);
* while runs are alive (their leases, :mod:`supreme.lease`): every artifact a live run
  has referenced so far, and every artifact written after the oldest live run started
  (it may belong to a cell that has not finished yet). Each is reported with the reason.

Nothing is followed out of the store: a symlink found where an artifact or a kind folder
should be is removed as a link (never followed), sizes are taken with ``lstat``, and lock
files are opened with ``O_NOFOLLOW``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from supreme.errors import UsageError
from supreme.lease import LEASES, read_leases
from supreme.safeio import open_lock


@dataclass
class Collection:
    """What a gc pass found (and removed, unless it was a dry run)."""

    kept: int = 0
    removed: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    temporary: list[str] = field(default_factory=list)
    freed_bytes: int = 0
    #: unreferenced artifacts kept because a live run may need them: name -> reason
    in_use: dict[str, str] = field(default_factory=dict)
    #: the live runs found (their lease descriptions)
    live_runs: list[str] = field(default_factory=list)
    #: symlinks found in the store (removed as links, never followed)
    links: list[str] = field(default_factory=list)


def referenced(output_dir: Path) -> set[str]:
    """``kind/key`` of every artifact named by a cell outcome under ``output_dir``."""
    keys: set[str] = set()
    for path in output_dir.glob("*/cells/*.json"):
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode):
                continue  # a FIFO would block, a link could lead anywhere
            outcome = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            continue  # an unreadable outcome references nothing; its cell will rerun
        if isinstance(outcome, dict) and isinstance(outcome.get("artifacts"), list):
            keys.update(a for a in outcome["artifacts"] if isinstance(a, str))
    return keys


def _size(path: Path) -> int:
    """Bytes under ``path``, without following any symlink."""
    total = 0
    for folder, _, files in os.walk(path, followlinks=False):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


def _newest(path: Path) -> float:
    """The newest modification time of ``path`` and the files directly in it (lstat)."""
    newest = os.lstat(path).st_mtime
    with contextlib.suppress(OSError), os.scandir(path) as entries:
        for entry in entries:
            with contextlib.suppress(OSError):
                newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
    return newest


@contextlib.contextmanager
def _claim(directory: Path):  # type: ignore[no-untyped-def]
    """Yield True holding the artifact's lock (nobody is computing it), else False."""
    lock = directory / ".lock"
    if not os.path.lexists(lock):
        yield True
        return
    try:
        fd = open_lock(lock)
    except OSError:  # a symlink or a non-file where the lock should be: not a live lock
        yield True
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _remove_link(path: Path, store: Path, result: Collection, dry_run: bool) -> None:
    result.links.append(str(path.relative_to(store)))
    if not dry_run:
        with contextlib.suppress(OSError):
            os.unlink(path)  # the link itself, never what it points to


def collect_garbage(output_dir: str | Path, *, dry_run: bool = False) -> Collection:
    output_dir = Path(output_dir)
    store = output_dir / "store"
    if not store.is_dir():
        raise UsageError(
            f"{output_dir} has no store (no {store} directory)",
            "Pass the output_dir of your experiments (default: supreme-runs).",
        )
    keep = referenced(output_dir)
    result = Collection()
    leases = read_leases(store)
    live = [lease for lease in leases if lease.alive()]
    result.live_runs = [lease.describe() for lease in live]
    used: dict[str, str] = {}
    for lease in live:
        for name in lease.uses():
            used.setdefault(name, f"used by the live run {lease.describe()}")
    oldest = min((lease.started for lease in live), default=None)
    if not dry_run:  # leases of processes that are gone
        for lease in leases:
            if lease not in live:
                for path in (lease.path, lease.path.with_suffix(".uses")):
                    with contextlib.suppress(OSError):
                        os.unlink(path)

    for kind_dir in sorted(store.iterdir()):
        if kind_dir.name == LEASES:
            continue
        if kind_dir.is_symlink():
            _remove_link(kind_dir, store, result, dry_run)
            continue
        if not kind_dir.is_dir():
            continue
        for artifact in sorted(kind_dir.iterdir()):
            name = f"{kind_dir.name}/{artifact.name}"
            if artifact.is_symlink():
                _remove_link(artifact, store, result, dry_run)
                continue
            if not artifact.is_dir():
                continue
            if name in keep:
                result.kept += 1
                _temporary(artifact, store, result, dry_run)
                continue
            with _claim(artifact) as free:
                if not free:
                    result.busy.append(name)
                    continue
                reason = used.get(name)
                if reason is None and oldest is not None and _newest(artifact) >= oldest - 1.0:
                    reason = "written after a live run started (its cell may not have finished)"
                if reason is not None:
                    result.in_use[name] = reason
                    result.kept += 1
                    continue
                result.removed.append(name)
                result.freed_bytes += _size(artifact)
                if not dry_run:
                    shutil.rmtree(artifact, ignore_errors=True)  # unlinks symlinks inside
    return result


def _temporary(artifact: Path, store: Path, result: Collection, dry_run: bool) -> None:
    """Remove the leftovers of killed writes in a kept artifact (when nobody writes it)."""
    leftovers = [p for p in artifact.glob(".*.tmp") if not p.is_dir() or p.is_symlink()]
    if not leftovers:
        return
    with _claim(artifact) as free:
        if not free:
            return
        for tmp in leftovers:
            result.temporary.append(str(tmp.relative_to(store)))
            with contextlib.suppress(OSError):
                result.freed_bytes += os.lstat(tmp).st_size
            if not dry_run:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
