"""Where datasets live on disk, how we fingerprint them, and the errors when they are absent."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from pydantic import Field
from supreme.contracts import ComponentConfig
from supreme.errors import DatasetError

#: Environment variable naming the directory that holds every dataset's folder.
DATA_ENV = "SUPREME_DATA"


class RootConfig(ComponentConfig):
    """Where a dataset's files are, and whether to fetch them when absent."""

    root: Path | None = Field(
        None, description="dataset directory; default $SUPREME_DATA/<subdir> or ./data/<subdir>"
    )
    download: bool = Field(False, description="download the files when absent (where possible)")


def resolve_root(root: Path | None, subdir: str) -> Path:
    """``root`` if given, else ``$SUPREME_DATA/<subdir>``, else ``./data/<subdir>``."""
    if root is not None:
        return Path(root).expanduser()
    base = os.environ.get(DATA_ENV)
    return (Path(base).expanduser() if base else Path("data")) / subdir


def missing_error(dataset: str, expected: Path, layout: str, how: str) -> DatasetError:
    """The error for absent files: what we looked for, where, and how to get it."""
    return DatasetError(
        f"{dataset}: dataset files not found at {expected} (expected layout: {layout})",
        f"{how} You can also point the dataset elsewhere with its `root` option or the "
        f"{DATA_ENV} environment variable.",
    )


def download_failed(dataset: str, root: Path, exc: BaseException, by_hand: str) -> DatasetError:
    """The error for a failed download (typically: no network)."""
    return DatasetError(
        f"{dataset}: downloading into {root} failed ({type(exc).__name__}: {exc})",
        f"Without network access, place the files by hand: {by_hand}",
    )


def files_fingerprint(paths: Iterable[Path], base: Path) -> str:
    """A digest of the relative names, sizes and modification times of ``paths``.

    Cheap (no file contents are read) and changes whenever a file is added, removed,
    replaced or rewritten, which is what a decoded-tensor cache needs to be invalidated.
    """
    digest = hashlib.sha256()
    for path in sorted(paths):
        stat = path.stat()
        rel = path.relative_to(base).as_posix()
        digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]
