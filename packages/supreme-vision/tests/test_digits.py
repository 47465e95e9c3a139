"""The embedded ``digits`` dataset: split rule, pixel mapping, statistics, conformance."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from supreme.testing.datasets import check_dataset
from supreme_vision.datasets.digits import Digits, split_mask


@pytest.fixture(scope="module")
def splits() -> dict:
    return check_dataset(Digits(), require_all_classes=True)


def test_split_sizes_and_stratification(splits: dict) -> None:
    train, test = splits["train"], splits["test"]
    assert (len(train), len(test)) == (1442, 355)
    per_class_test = torch.bincount(test.labels, minlength=10).tolist()
    assert per_class_test == [35, 36, 35, 36, 36, 36, 36, 35, 34, 36]
    # every class contributes floor(n_c / 5) test images
    totals = torch.bincount(torch.cat([train.labels, test.labels]), minlength=10)
    assert per_class_test == (totals // 5).tolist()


def test_split_mask_takes_every_fifth_of_each_class() -> None:
    labels = np.array([0, 1] * 7)  # 7 samples per class
    mask = split_mask(labels)
    assert np.flatnonzero(mask).tolist() == [8, 9]  # the 5th sample of each class


def test_pixels_map_0_16_onto_0_255(splits: dict) -> None:
    values = torch.cat([splits["train"].images.flatten(), splits["test"].images.flatten()]).unique()
    allowed = {round(k * 255 / 16) for k in range(17)}
    assert set(values.tolist()) <= allowed
    assert int(values.min()) == 0 and int(values.max()) == 255
    assert splits["train"].images.shape[1:] == (1, 8, 8)


def test_statistics_are_those_of_the_training_split(splits: dict) -> None:
    pixels = splits["train"].images.double() / 255
    assert pixels.mean().item() == pytest.approx(Digits.mean[0], abs=1e-9)
    assert pixels.std(unbiased=False).item() == pytest.approx(Digits.std[0], abs=1e-9)


def test_loading_is_deterministic_and_disjoint(splits: dict) -> None:
    again = Digits().load("test")
    assert torch.equal(again.images, splits["test"].images)
    assert torch.equal(again.labels, splits["test"].labels)
    train_rows = {
        bytes(x.numpy()) + bytes([int(y)])
        for x, y in zip(splits["train"].images, splits["train"].labels, strict=True)
    }
    test_rows = {bytes(x.numpy()) + bytes([int(y)]) for x, y in zip(again.images, again.labels, strict=True)}
    # a handful of digits are pixel-identical duplicates in the source; the splits are
    # disjoint by index, so nearly all test rows are unseen
    assert len(test_rows & train_rows) <= 3


def test_metadata() -> None:
    spec = Digits()
    assert spec.class_names == tuple("0123456789")
    assert spec.scenarios == ("fullclass", "random")
    assert spec.allow_hflip is False
    assert dict(spec.default_targets) == {"fullclass": ("3",), "random": ("0.1",)}
    recipe = dict(spec.recipes["resnet"])
    assert recipe["augment"]["hflip"] is False
    assert max(recipe["milestones"]) < recipe["epochs"]
