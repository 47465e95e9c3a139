"""Hub datasets offline: a dataset missing from the local cache fails at once with the
command that fetches it; a cached one loads at the commit its revision names, and that
commit is in its fingerprint.

The cache of a Hub dataset is made here without a network: a Parquet dataset prepared by
the datasets library is placed where the library keeps a Hub dataset's prepared copy
(``<cache>/<org>___<name>/<config>/<version>/<commit>/``), and the revision's commit where
the Hugging Face Hub cache records it (``datasets--<org>--<name>/refs/<revision>``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import datasets
import pytest
import torch
from huggingface_hub import constants
from supreme.errors import DatasetError
from supreme_hf import HfConfig, HfDataset

FIRST = "1" * 40
SECOND = "2" * 40


def spec(name: str, **options: Any) -> HfDataset:
    return HfDataset.member(name)(HfConfig(**options))  # type: ignore[return-value]


def cache_as_hub(parquet_root: Path, repo: str, commit: str, revision: str | None = "main") -> None:
    """Put the Parquet dataset into the caches as Hub dataset ``repo`` at ``commit``."""
    prepared = datasets.load_dataset("parquet", data_dir=str(parquet_root))
    source = Path(prepared["train"].cache_files[0]["filename"]).parent
    org, name = repo.split("/")
    target = Path(datasets.config.HF_DATASETS_CACHE) / f"{org}___{name}" / "default" / "0.0.0" / commit
    target.mkdir(parents=True)
    for file in source.iterdir():
        shutil.copy(file, target / file.name.replace("parquet-", f"{name}-"))
    info = json.loads((target / "dataset_info.json").read_text())
    (target / "dataset_info.json").write_text(
        json.dumps({**info, "config_name": "default", "dataset_name": name}))
    if revision is not None:
        refs = Path(constants.HF_HUB_CACHE) / f"datasets--{org}--{name}" / "refs"
        refs.mkdir(parents=True, exist_ok=True)
        (refs / revision).write_text(commit)
    os.utime(target, (time.time(), time.time()))


def test_a_missing_hub_dataset_fails_at_once_with_the_command_that_fetches_it() -> None:
    assert datasets.config.HF_HUB_OFFLINE
    started = time.perf_counter()
    with pytest.raises(DatasetError) as caught:
        spec("hf:someorg/absent").check_files()
    assert time.perf_counter() - started < 5
    assert caught.value.message == (
        "hf:someorg/absent: the Hub dataset someorg/absent is not in the local cache (its "
        "revision main was never resolved here) and HF_HUB_OFFLINE=1 forbids downloading it")
    assert caught.value.hint == (
        "Fetch it once where the network is reachable, with the same HF_DATASETS_CACHE: "
        "python -c \"import datasets; datasets.load_dataset('someorg/absent')\" "
        "(or unset HF_HUB_OFFLINE).")
    with pytest.raises(DatasetError) as caught:
        spec("hf:someorg/absent", revision="v2", cache_dir="/data/hf").fingerprint()
    assert caught.value.hint.endswith(
        "python -c \"import datasets; datasets.load_dataset('someorg/absent', revision='v2', "
        "cache_dir='/data/hf')\" (or unset HF_HUB_OFFLINE).")


def test_the_command_line_stops_before_any_compute(tmp_path: Path, cli_plugin: Path) -> None:
    config = tmp_path / "experiment.toml"
    config.write_text(f'output_dir = "{tmp_path / "runs"}"\ndatasets = ["hf:someorg/absent"]\n'
                      'models = ["tiny"]\nmethods = ["original"]\nmetrics = ["size"]\n'
                      '[targets]\nfullclass = ["3"]\n')
    done = subprocess.run([sys.executable, "-m", "supreme", "--plugin", str(cli_plugin), "run",
                           str(config)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1, done.stderr
    assert "Error: hf:someorg/absent: the Hub dataset someorg/absent is not in the local cache" \
        in done.stderr
    assert "datasets.load_dataset('someorg/absent')" in done.stderr
    assert not (tmp_path / "runs" / "store").exists()


def test_a_cached_hub_dataset_loads_offline_at_its_revision(parquet_root: Path, digits: Any) -> None:
    cache_as_hub(parquet_root, "someorg/digits", FIRST)
    s = spec("hf:someorg/digits")
    s.check_files()
    assert s.source.kind == "hub" and s.source.where == f"someorg/digits@{FIRST}"
    assert FIRST in s.fingerprint()
    train = s.load("train")
    assert torch.equal(train.images[:, 0], torch.from_numpy(digits["train"].images))
    assert s.class_names == tuple(str(d) for d in range(10))
    # a pinned commit that is cached loads; another one is refused, not replaced by the cache
    assert FIRST in spec("hf:someorg/digits", revision=FIRST).fingerprint()
    with pytest.raises(DatasetError) as caught:
        spec("hf:someorg/digits", revision=SECOND).check_files()
    assert caught.value.message.startswith(
        f"hf:someorg/digits: the Hub dataset someorg/digits at revision {SECOND} is not in the "
        f"local cache (no copy of commit {SECOND} under ")
    # a new commit of main, once fetched, is a new fingerprint (the store decodes it again)
    cache_as_hub(parquet_root, "someorg/digits", SECOND)
    newer = spec("hf:someorg/digits")
    assert SECOND in newer.fingerprint() and newer.fingerprint() != s.fingerprint()
    # offline, the datasets library returns the newest cached copy whatever the revision:
    # an older pinned commit is then refused rather than silently replaced
    with pytest.raises(DatasetError, match=f"the cached copy is commit {SECOND}, not {FIRST}"):
        spec("hf:someorg/digits", revision=FIRST).check_files()
    # a branch the cache never resolved is refused offline
    with pytest.raises(DatasetError, match="its revision dev was never resolved here"):
        spec("hf:someorg/digits", revision="dev").check_files()
