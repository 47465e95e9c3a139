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
        path = Path(root).expanduser()
        _not_a_file(path, "the dataset's `root` option", f"root = {root}")
        return path
    base = os.environ.get(DATA_ENV)
    if base:
        _not_a_file(Path(base).expanduser(), DATA_ENV, f"{DATA_ENV}={base}")
    return (Path(base).expanduser() if base else Path("data")) / subdir


def _not_a_file(path: Path, source: str, setting: str) -> None:
    """``path`` and its parents, where they exist, are folders (a file there cannot hold a
    dataset: say so, instead of "files not found" with advice to extract into it)."""
    for folder in (path, *path.parents):
        if folder.exists():
            if not folder.is_dir():
                raise DatasetError(
                    f"{setting}: {folder} is a file, not a folder, so no dataset can be found "
                    "under it",
                    f"Point {source} at the folder that holds the datasets"
                    + (f" (or unset {DATA_ENV} to use ./data)." if source == DATA_ENV else "."),
                )
            return


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
