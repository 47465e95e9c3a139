"""CIFAR-10/100/20 read from fixtures in torchvision's pickle format."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from supreme.errors import DatasetError
from supreme_vision.datasets import Cifar10, Cifar20, Cifar100
from supreme_vision.datasets.cifar_names import CIFAR100_COARSE, CIFAR100_FINE, COARSE_OF_FINE


def raw(path: Path) -> dict:
    with path.open("rb") as handle:
        return pickle.load(handle, encoding="bytes")


def test_cifar10_reads_every_batch_in_order(cifar_root: Path) -> None:
    train = Cifar10(Cifar10.Config(root=cifar_root)).load("train")
    folder = cifar_root / "cifar-10-batches-py"
    batches = [raw(folder / f"data_batch_{i}") for i in range(1, 6)]
    labels = [label for b in batches for label in b[b"labels"]]
    assert train.labels.tolist() == labels
    first = batches[0][b"data"][0].reshape(3, 32, 32)
    assert torch.equal(train.images[0], torch.from_numpy(first))
    assert train.images.dtype == torch.uint8 and train.fine_labels is None
    assert torch.bincount(train.labels).tolist() == [10] * 10
    test = Cifar10(Cifar10.Config(root=cifar_root)).load("test")
    assert len(test) == 40


def test_cifar100_uses_fine_labels(cifar_root: Path) -> None:
    test = Cifar100(Cifar100.Config(root=cifar_root)).load("test")
    stored = raw(cifar_root / "cifar-100-python" / "test")
    assert test.labels.tolist() == stored[b"fine_labels"]
    assert Cifar100.class_names.index("rocket") == 69  # the reference's id (reference §2.3)


def test_cifar20_keeps_fine_labels_and_maps_them_to_coarse(cifar_root: Path) -> None:
    spec = Cifar20(Cifar20.Config(root=cifar_root))
    train = spec.load("train")
    assert train.fine_labels is not None
    assert torch.equal(torch.tensor(COARSE_OF_FINE)[train.fine_labels], train.labels)
    assert spec.num_classes == 20 and spec.scenarios == ("fullclass", "subclass", "random")
    # the reference's subclass targets land in its superclass ids: rocket->19, mushroom->4,
    # baby->14, lamp->5, sea->10 (reference §2.3)
    coarse = [COARSE_OF_FINE[CIFAR100_FINE.index(t)] for t in spec.default_targets["subclass"]]
    assert coarse == [19, 4, 14, 5, 10]
    assert [spec.class_id(t) for t in spec.default_targets["fullclass"]] == [19, 4, 14, 5, 10]
    assert spec.class_names == CIFAR100_COARSE


def test_missing_files_name_the_path_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as info:
        Cifar10(Cifar10.Config(root=tmp_path)).load("train")
    err = info.value
    assert str(tmp_path / "cifar-10-batches-py" / "data_batch_1") in err.message
    assert "download = true" in err.hint
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in err.hint


def test_root_defaults_to_the_environment_then_to_data(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert Cifar10().root == Path("data") / "cifar"
    monkeypatch.setenv("SUPREME_DATA", str(tmp_path))
    assert Cifar10().root == tmp_path / "cifar"
    assert Cifar10(Cifar10.Config(root=tmp_path / "x")).root == tmp_path / "x"


def test_offline_download_says_it_failed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import torchvision

    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.datasets, "CIFAR100", offline)
    with pytest.raises(DatasetError) as info:
        Cifar20(Cifar20.Config(root=tmp_path, download=True)).load("test")
    assert "downloading into" in info.value.message and "failed" in info.value.message
    assert "name resolution" in info.value.message
    assert "place the files by hand" in info.value.hint
    assert "cifar-100-python.tar.gz" in info.value.hint


def test_download_that_succeeds_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cifar_root: Path
) -> None:
    import torchvision

    calls = []

    def fake_download(root: str, train: bool, download: bool) -> None:
        calls.append((root, download))
        shutil.copytree(cifar_root / "cifar-10-batches-py", Path(root) / "cifar-10-batches-py")

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", fake_download)
    data = Cifar10(Cifar10.Config(root=tmp_path, download=True)).load("test")
    assert calls == [(str(tmp_path), True)] and len(data) == 40


def test_wrong_meta_is_rejected(tmp_path: Path, cifar_root: Path) -> None:
    shutil.copytree(cifar_root / "cifar-10-batches-py", tmp_path / "cifar-10-batches-py")
    with (tmp_path / "cifar-10-batches-py" / "batches.meta").open("wb") as handle:
        pickle.dump({b"label_names": [b"cat"] * 10}, handle, protocol=2)
    with pytest.raises(DatasetError, match="differ from the official ones"):
        Cifar10(Cifar10.Config(root=tmp_path)).load("train")


def test_inconsistent_coarse_labels_are_rejected(tmp_path: Path, cifar_root: Path) -> None:
    shutil.copytree(cifar_root / "cifar-100-python", tmp_path / "cifar-100-python")
    path = tmp_path / "cifar-100-python" / "test"
    batch = raw(path)
    batch[b"coarse_labels"] = [(c + 1) % 20 for c in batch[b"coarse_labels"]]
    with path.open("wb") as handle:
        pickle.dump(batch, handle, protocol=2)
    with pytest.raises(DatasetError, match="coarse map"):
        Cifar20(Cifar20.Config(root=tmp_path)).load("test")


def test_fingerprint_changes_when_a_file_changes(tmp_path: Path, cifar_root: Path) -> None:
    shutil.copytree(cifar_root / "cifar-10-batches-py", tmp_path / "cifar-10-batches-py")
    spec = Cifar10(Cifar10.Config(root=tmp_path))
    before = spec.fingerprint()
    assert before == spec.fingerprint()
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    batch = raw(path)
    batch[b"data"] = np.zeros_like(batch[b"data"])[:-1]
    batch[b"labels"] = batch[b"labels"][:-1]
    with path.open("wb") as handle:
        pickle.dump(batch, handle, protocol=2)
    assert spec.fingerprint() != before
    assert len(spec.load("test")) == 39


def test_fixtures_are_readable_by_torchvision(cifar_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # torchvision's own readers (minus the md5 check of the official archives) agree with ours
    import torchvision

    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *args, **kwargs: True)
    theirs = torchvision.datasets.CIFAR10(str(cifar_root), train=True)
    ours = Cifar10(Cifar10.Config(root=cifar_root)).load("train")
    assert theirs.classes == list(Cifar10.class_names)
    assert theirs.targets == ours.labels.tolist()
    assert np.array_equal(theirs.data, ours.images.permute(0, 2, 3, 1).numpy())
    theirs100 = torchvision.datasets.CIFAR100(str(cifar_root), train=False)
    assert theirs100.targets == Cifar100(Cifar100.Config(root=cifar_root)).load("test").labels.tolist()
    assert theirs100.classes == list(CIFAR100_FINE)
