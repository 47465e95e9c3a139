"""Caltech-101 and Pins read from image-folder fixtures in their real layouts."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from supreme.errors import DatasetError
from supreme_vision.datasets import Caltech101, Pins
from supreme_vision.datasets._folder import stratified_test_mask
from supreme_vision.fixtures import CALTECH_FOLDERS


def test_caltech_classes_are_the_folders_present(caltech_root: Path) -> None:
    spec = Caltech101(Caltech101.Config(root=caltech_root))
    # BACKGROUND_Google is not a class; order is ImageFolder's (upper case first)
    assert spec.class_names == tuple(f for f in CALTECH_FOLDERS if f != "BACKGROUND_Google")
    assert spec.class_id("airplanes") == 2
    assert all(t in spec.class_names for t in spec.default_targets["fullclass"])


def test_caltech_split_is_stratified_and_seeded(caltech_root: Path) -> None:
    spec = Caltech101(Caltech101.Config(root=caltech_root))
    train, test = spec.load("train"), spec.load("test")
    # 6 images per class: floor(0.8 * 6) = 4 train, 2 test, for every class
    assert torch.bincount(train.labels).tolist() == [4] * 8
    assert torch.bincount(test.labels).tolist() == [2] * 8
    same = Caltech101(Caltech101.Config(root=caltech_root))
    other = Caltech101(Caltech101.Config(root=caltech_root, split_seed=1))
    assert np.array_equal(spec.split_mask(), same.split_mask())
    assert not np.array_equal(spec.split_mask(), other.split_mask())
    assert spec.fingerprint() == other.fingerprint()  # same files; the seed is in the config


def test_caltech_greyscale_images_become_rgb(caltech_root: Path) -> None:
    spec = Caltech101(Caltech101.Config(root=caltech_root, image_size=16))
    paths, _ = spec.files
    data = torch.cat([spec.load("train").images, spec.load("test").images])
    assert data.shape[1:] == (3, 16, 16)
    grey = [p.name in {"image_0003.jpg", "image_0006.jpg"} for p in paths]  # every third file
    order = np.concatenate([np.flatnonzero(~spec.split_mask()), np.flatnonzero(spec.split_mask())])
    for row, index in enumerate(order):
        planes_equal = torch.equal(data[row, 0], data[row, 1]) and torch.equal(data[row, 1], data[row, 2])
        assert planes_equal == grey[index]


def test_caltech_accepts_the_folder_directly(tmp_path: Path, caltech_root: Path) -> None:
    shutil.copytree(caltech_root / "caltech101" / "101_ObjectCategories", tmp_path / "101_ObjectCategories")
    assert Caltech101(Caltech101.Config(root=tmp_path)).num_classes == 8


def test_caltech_missing_and_offline_download(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import torchvision

    with pytest.raises(DatasetError) as info:
        Caltech101(Caltech101.Config(root=tmp_path)).load("train")
    assert str(tmp_path / "caltech101" / "101_ObjectCategories") in info.value.message
    assert "download = true" in info.value.hint

    def offline(*args: object, **kwargs: object) -> None:
        raise ConnectionError("network is unreachable")

    monkeypatch.setattr(torchvision.datasets, "Caltech101", offline)
    with pytest.raises(DatasetError) as info:
        Caltech101(Caltech101.Config(root=tmp_path, download=True)).load("train")
    assert "failed" in info.value.message and "unreachable" in info.value.message
    assert "101_ObjectCategories.tar.gz" in info.value.hint


def test_pins_names_and_ids_follow_imagefolder(pins_root: Path) -> None:
    spec = Pins(Pins.Config(root=pins_root))
    assert spec.class_names[:3] == ("adriana_lima", "alex_lawther", "bill_gates")
    assert spec.class_names[-1] == "alycia_dabnem_carey"  # lower-case folder sorts last
    assert spec.class_id("alex_lawther") == 1  # the reference's target "1"


def test_pins_has_a_held_out_test_set(pins_root: Path) -> None:
    spec = Pins(Pins.Config(root=pins_root))
    train, test = spec.load("train"), spec.load("test")
    assert torch.bincount(train.labels).tolist() == [4] * 7
    assert torch.bincount(test.labels).tolist() == [1] * 7
    train_rows = {bytes(x.flatten().numpy()) for x in train.images}
    assert not any(bytes(x.flatten().numpy()) in train_rows for x in test.images)


def test_pins_missing_says_how_to_download_by_hand(tmp_path: Path) -> None:
    for download in (False, True):
        with pytest.raises(DatasetError) as info:
            Pins(Pins.Config(root=tmp_path, download=download)).load("train")
        assert str(tmp_path / "105_classes_pins_dataset") in info.value.message
        assert "kaggle.com/datasets/hereisburak/pins-face-recognition" in info.value.hint
        assert "by hand" in info.value.hint


@pytest.mark.parametrize(("sizes", "fraction"), [((10, 5, 7, 2, 1), 0.2), ((31, 800), 0.2), ((9, 9), 0.5)])
def test_stratified_mask_sizes(sizes: tuple[int, ...], fraction: float) -> None:
    labels = np.repeat(np.arange(len(sizes)), sizes)
    test = stratified_test_mask(labels, fraction, seed=3)
    for c, n in enumerate(sizes):
        n_train = int(np.floor((1 - fraction) * n + 1e-9))
        if n > 1:
            n_train = min(n_train, n - 1)
        assert int(test[labels == c].sum()) == n - n_train


def test_uncached_folder_decodes_per_batch_with_the_same_pixels(caltech_root: Path) -> None:
    import torch
    from supreme.contracts import LazyImages
    from supreme.pipeline.data import BatchTransform, TensorLoader

    cached = Caltech101(Caltech101.Config(root=caltech_root))
    lazy = Caltech101(Caltech101.Config(root=caltech_root, cache=False))
    assert cached.cached and not lazy.cached
    eager_train, lazy_train = cached.load("train"), lazy.load("train")
    assert isinstance(lazy_train.images, LazyImages)
    assert lazy_train.images.shape == tuple(eager_train.images.shape)
    assert torch.equal(lazy_train.labels, eager_train.labels)
    pick = torch.tensor([3, 0, 7])
    assert torch.equal(lazy_train.subset(pick).images.to(), eager_train.images[pick])
    transform = BatchTransform(cached.mean, cached.std, cached.image_size, 3)
    batches = [
        [x for x, _ in TensorLoader(t, 5, transform=transform, shuffle=True, seed=1)]
        for t in (eager_train, lazy_train)
    ]
    assert all(torch.equal(a, b) for a, b in zip(*batches, strict=True))
