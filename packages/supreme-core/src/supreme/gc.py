"""``supreme gc``: remove store artifacts that no cell outcome references.

Every finished or failed cell lists, in ``RUN_DIR/cells/<id>.json``, the artifacts it used
(dataset, M_o, split, M_r, unlearned models, caches, evaluations). An artifact of
``OUTPUT_DIR/store`` that no outcome file under ``OUTPUT_DIR/*/cells/`` names is garbage:
it belongs to an experiment whose run directory was deleted, to an older version of a
component, or to a cell that was interrupted before it finished. Temporary files left by
a killed write are garbage too. An artifact whose lock is held (a run is computing it
right now) is never touched.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from supreme.errors import UsageError


@dataclass
class Collection:
    """What a gc pass found (and removed, unless it was a dry run)."""

    kept: int = 0
    removed: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    temporary: list[str] = field(default_factory=list)
    freed_bytes: int = 0


def referenced(output_dir: Path) -> set[str]:
    """``kind/key`` of every artifact named by a cell outcome under ``output_dir``."""
    keys: set[str] = set()
    for path in output_dir.glob("*/cells/*.json"):
        try:
            outcome = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # an unreadable outcome references nothing; its cell will rerun
        keys.update(a for a in outcome.get("artifacts", []) if isinstance(a, str))
    return keys


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _free(directory: Path) -> bool:
    """True if nobody holds the artifact's lock (then nobody is computing it)."""
    lock = directory / ".lock"
    if not lock.exists():
        return True
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
    return True


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
    for kind_dir in sorted(p for p in store.iterdir() if p.is_dir()):
        for artifact in sorted(p for p in kind_dir.iterdir() if p.is_dir()):
            name = f"{kind_dir.name}/{artifact.name}"
            if name in keep:
                result.kept += 1
                for tmp in artifact.glob(".*.tmp"):  # a killed write of a kept artifact
                    if _free(artifact):
                        result.temporary.append(str(tmp.relative_to(store)))
                        result.freed_bytes += tmp.stat().st_size
                        if not dry_run:
                            tmp.unlink(missing_ok=True)
                continue
            if not _free(artifact):
                result.busy.append(name)
                continue
            result.removed.append(name)
            result.freed_bytes += _size(artifact)
            if not dry_run:
                shutil.rmtree(artifact, ignore_errors=True)
    return result
