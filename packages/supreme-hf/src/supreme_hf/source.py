"""Where a Hugging Face dataset comes from: a local directory or file, or the Hub.

:func:`open_source` returns the splits as ``datasets.Dataset`` objects (memory-mapped
Arrow: nothing is decoded here) and the data part of the dataset's fingerprint:

* ``arrow`` (``save_to_disk``): each split's own ``_fingerprint`` (saved with the data by
  the datasets library) plus a digest of the directory's files;
* ``parquet`` and ``imagefolder``: a digest of the files under the path (the datasets
  library keeps a prepared Arrow copy in its cache, keyed by the files' modification times);
* the Hub: the commit the loaded copy was prepared from (the datasets cache keeps one
  directory per commit), so a new revision is a new fingerprint.

File digests cover names, sizes and modification times (no contents are read), like the
vision datasets' folders: a rewritten or replaced file changes them.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supreme.errors import ConfigError, DatasetError

if TYPE_CHECKING:
    from supreme_hf.config import HfConfig

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".ppm", ".pgm", ".tif",
                            ".tiff", ".webp"})
#: a Hub commit id
COMMIT = re.compile(r"^[0-9a-f]{40}$")
#: the environment variable that keeps the datasets library off the network
OFFLINE_ENV = "HF_HUB_OFFLINE"


@dataclass(frozen=True)
class Source:
    """The opened splits of a dataset, how they were read, and what identifies the data."""

    splits: dict[str, Any]  # split name -> datasets.Dataset
    kind: str  # arrow, parquet, imagefolder or hub
    where: str  # the path, or ORG/NAME@commit
    fingerprint: str


def table(name: str) -> str:
    """The experiment table of dataset ``name``, as written in TOML."""
    return f'[dataset."{name}"]'


def open_source(name: str, config: HfConfig) -> Source:
    """Open ``name``'s splits as configured (local ``path``, else the Hub)."""
    if config.path is not None:
        return _open_local(name, config)
    return _open_hub(name, config)


# -- local sources ---------------------------------------------------------------------------
def detect_format(name: str, path: Path) -> str:
    """``arrow``, ``parquet`` or ``imagefolder``: what a local ``path`` holds."""
    if path.is_file():
        if path.suffix.lower() == ".parquet":
            return "parquet"
        raise DatasetError(
            f"{name}: {path} is a file, but not a Parquet file",
            f"Set {table(name)} path to a save_to_disk directory, a .parquet file, or a "
            "directory of Parquet files or of images.",
        )
    if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
        return "arrow"
    files = data_files(path)
    if any(f.suffix.lower() == ".parquet" for f in files):
        return "parquet"
    if any(f.suffix.lower() in IMAGE_SUFFIXES for f in files):
        return "imagefolder"
    raise DatasetError(
        f"{name}: {path} holds no dataset (no dataset_dict.json or state.json of save_to_disk, "
        "no .parquet file, no image file)",
        f"Point {table(name)} path at the directory written by save_to_disk, at Parquet "
        "files, or at an image folder (train/<class>/<image>, test/<class>/<image>).",
    )


def data_files(path: Path) -> list[Path]:
    """Every file under ``path`` (a file: itself), hidden files and folders left out."""
    if path.is_file():
        return [path]
    found = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root, f) for f in sorted(files) if not f.startswith(".")]
    return found


def files_digest(paths: list[Path], base: Path) -> str:
    """A digest of the relative names, sizes and modification times of ``paths``."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        stat = path.stat()
        rel = path.relative_to(base).as_posix() if path != base else path.name
        digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _open_local(name: str, config: HfConfig) -> Source:
    import datasets

    path = Path(str(config.path)).expanduser()
    if not path.exists():
        raise DatasetError(
            f"{name}: {path} does not exist",
            f"Set {table(name)} path to a save_to_disk directory, a Parquet file or directory, "
            "or an image folder.",
        )
    kind = detect_format(name, path) if config.format == "auto" else config.format
    files = data_files(path)
    if not files:
        raise DatasetError(f"{name}: {path} is empty",
                           f"Point {table(name)} path at the dataset's files.")
    base = path if path.is_dir() else path.parent
    digest = files_digest(files, base)
    try:
        if kind == "arrow":
            loaded = datasets.load_from_disk(str(path))
        elif kind == "parquet" and path.is_file():
            loaded = datasets.load_dataset("parquet", data_files={"train": str(path)},
                                           cache_dir=config.cache_dir)
        else:
            loaded = datasets.load_dataset(kind, data_dir=str(path), cache_dir=config.cache_dir)
    except (OSError, ValueError, TypeError, datasets.exceptions.DatasetsError) as exc:
        raise DatasetError(
            f"{name}: cannot read {path} as {kind} ({type(exc).__name__}: {_first_line(exc)})",
            f"Check the files, or set {table(name)} format to what they are (arrow for "
            "save_to_disk, parquet, imagefolder).",
        ) from exc
    splits = _splits(loaded)
    parts = [kind, digest]
    if kind == "arrow":  # the datasets library's own fingerprint of each saved split
        parts += [f"{s}={ds._fingerprint}" for s, ds in sorted(splits.items())]
    return Source(splits, kind, str(path), ";".join(parts))


def _splits(loaded: Any) -> dict[str, Any]:
    """A DatasetDict's splits; a lone Dataset (save_to_disk of one split) is ``train``."""
    import datasets

    if isinstance(loaded, datasets.Dataset):
        return {"train": loaded}
    return dict(loaded)


# -- the Hub ---------------------------------------------------------------------------------
def offline() -> bool:
    """Whether the datasets library may not use the network (``HF_HUB_OFFLINE=1``)."""
    import datasets

    return bool(datasets.config.HF_HUB_OFFLINE)


def fetch_command(repo: str, config: HfConfig) -> str:
    """The command that puts ``repo`` (at the configured revision) into the local cache."""
    args = [repr(repo)]
    if config.revision is not None:
        args.append(f"revision={config.revision!r}")
    if config.cache_dir is not None:
        args.append(f"cache_dir={config.cache_dir!r}")
    return f'python -c "import datasets; datasets.load_dataset({", ".join(args)})"'


def _not_cached(name: str, repo: str, config: HfConfig, why: str) -> DatasetError:
    at = f" at revision {config.revision}" if config.revision else ""
    return DatasetError(
        f"{name}: the Hub dataset {repo}{at} is not in the local cache ({why}) and "
        f"{OFFLINE_ENV}=1 forbids downloading it",
        f"Fetch it once where the network is reachable, with the same HF_DATASETS_CACHE: "
        f"{fetch_command(repo, config)} (or unset {OFFLINE_ENV}).",
    )


def cache_root(repo: str, config: HfConfig) -> Path:
    """The datasets library's cache folder of Hub dataset ``repo`` (one folder per
    configuration / version / commit below it)."""
    import datasets

    base = Path(config.cache_dir or datasets.config.HF_DATASETS_CACHE).expanduser()
    org_and_name = repo.split("/")
    org_and_name[-1] = _snake(org_and_name[-1])
    return base / "___".join(org_and_name)


def _snake(name: str) -> str:
    """The datasets library's folder name of a dataset name (CamelCase to snake_case)."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name).lower()


def expected_commit(repo: str, config: HfConfig) -> str | None:
    """Offline: the commit the configured revision names, from the revision itself or the
    Hugging Face Hub cache's record of it (``refs/<revision>``); ``None`` when unknown."""
    revision = config.revision or "main"
    if COMMIT.match(revision):
        return revision
    from huggingface_hub import constants

    ref = Path(constants.HF_HUB_CACHE) / f"datasets--{repo.replace('/', '--')}" / "refs" / revision
    try:
        commit = ref.read_text().strip()
    except OSError:
        return None
    return commit if COMMIT.match(commit) else None


def commit_of(splits: dict[str, Any]) -> str:
    """The commit a loaded Hub dataset was prepared from: the datasets cache holds one
    ``<config>/<version>/<commit>`` folder per commit."""
    commits = {Path(f["filename"]).parent.name for ds in splits.values() for f in ds.cache_files}
    return ",".join(sorted(commits))


def _open_hub(name: str, config: HfConfig) -> Source:
    import datasets

    repo = name.partition(":")[2]
    is_offline = offline()
    commit = expected_commit(repo, config) if is_offline else None
    if is_offline:
        # The datasets library, offline, falls back to the newest cached copy of any revision:
        # check that the wanted one is there before asking it.
        if commit is None:
            raise _not_cached(name, repo, config, "its revision "
                                      f"{config.revision or 'main'} was never resolved here")
        if not any(p.is_dir() for p in cache_root(repo, config).glob(f"*/*/{commit}")):
            raise _not_cached(name, repo, config, f"no copy of commit {commit} under "
                                      f"{cache_root(repo, config)}")
    try:
        loaded = datasets.load_dataset(repo, revision=config.revision, cache_dir=config.cache_dir)
    except (ConnectionError, FileNotFoundError, ValueError,
            datasets.exceptions.DatasetsError) as exc:
        if is_offline:
            raise _not_cached(name, repo, config, _first_line(exc)) from exc
        raise DatasetError(
            f"{name}: loading the Hub dataset {repo} failed ({type(exc).__name__}: "
            f"{_first_line(exc)})",
            f"Check the name and revision at https://huggingface.co/datasets/{repo} (a gated "
            "dataset needs `hf auth login`), or set "
            f"{table(name)} path to a local copy.",
        ) from exc
    splits = _splits(loaded)
    found = commit_of(splits)
    if commit is not None and found != commit:
        raise _not_cached(name, repo, config, f"the cached copy is commit {found}, not {commit}")
    sizes = ",".join(f"{s}={len(ds)}" for s, ds in sorted(splits.items()))
    return Source(splits, "hub", f"{repo}@{found}", f"hub;{repo};{found};{sizes}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def unknown_column(name: str, column: str, option: str, split: str,
                   columns: list[str]) -> ConfigError:
    """The error for a column option naming a column the data do not have."""
    return ConfigError(
        f"{name}: split {split!r} has no column {column!r} ({option}); its columns: "
        + ", ".join(columns),
        f"Set {table(name)} {option} to one of them.",
    )
