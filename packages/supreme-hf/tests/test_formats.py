"""Each local format, written with the datasets library itself, decodes to the same arrays;
columns, labels, class names and fine labels map as declared; the fingerprint follows the
data."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pytest
import torch
from supreme.errors import DatasetError
from supreme.testing.datasets import check_dataset
from supreme_hf import HfConfig, HfDataset, fixtures
from supreme_hf.dataset import statistics_of


def spec(name: str = "hf:local/digits", **options: Any) -> HfDataset:
    cls = HfDataset.member(name)
    return cls(HfConfig(**options))  # type: ignore[return-value]


def assert_same(loaded: Any, part: fixtures.Images) -> None:
    assert loaded.images.dtype == torch.uint8
    assert torch.equal(loaded.images, torch.from_numpy(part.images[:, None].copy()))
    assert torch.equal(loaded.labels, torch.from_numpy(part.labels))


@pytest.mark.parametrize(("root", "kind"), [("disk_root", "arrow"), ("folder_root", "imagefolder"),
                                            ("parquet_root", "parquet")])
def test_every_local_format_gives_the_arrays(root: str, kind: str, digits: Any,
                                             request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(root)
    s = spec(path=str(path))
    loaded = check_dataset(s, require_all_classes=True)  # the conformance check of the core
    assert s.source.kind == kind  # detected from what the path holds
    assert s.class_names == fixtures.CLASSES
    assert (s.channels, s.image_size, s.scenarios) == (1, 8, ("fullclass", "random"))
    for split in ("train", "test"):
        assert_same(loaded[split], digits[split])
    pixels = digits["train"].images.astype(np.float64) / 255
    assert s.mean == pytest.approx((pixels.mean(),), abs=1e-12)
    assert s.std == pytest.approx((pixels.std(),), abs=1e-12)
    # the labels for the checks before compute come without decoding images
    labels, fine = s.split_labels("test")
    assert torch.equal(labels, torch.from_numpy(digits["test"].labels)) and fine is None


def test_statistics_are_remembered_so_a_store_hit_decodes_nothing(
        disk_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = spec(path=str(disk_root))
    first.load("train")
    stats = first.mean, first.std
    again = spec(path=str(disk_root))  # a new process finding the tensors in the store

    def no_decoding(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("decoded again")

    monkeypatch.setattr("supreme_hf.dataset.decode_column", no_decoding)
    assert (again.mean, again.std) == stats


def test_given_statistics_are_used_as_they_are(disk_root: Path) -> None:
    s = spec(path=str(disk_root), mean=(0.25,), std=(0.5,))
    assert (s.mean, s.std, s.channels) == ((0.25,), (0.5,), 1)


def test_the_fingerprint_changes_when_an_image_changes(tmp_path: Path, folder_root: Path,
                                                       digits: Any) -> None:
    root = shutil.copytree(folder_root, tmp_path / "digits")
    before = spec(path=str(root))
    fingerprint, stats = before.fingerprint(), before.std
    assert spec(path=str(root)).fingerprint() == fingerprint  # stable while nothing changes
    changed = digits["train"].images[0].copy()
    changed[:] = 255 - changed
    from PIL import Image

    image = root / "train" / "0" / "00000.png"
    Image.fromarray(changed).save(image)
    os.utime(image, ns=(1, 1))  # even with an old modification time: the size changed
    after = spec(path=str(root))
    assert after.fingerprint() != fingerprint
    train = after.load("train")
    assert torch.equal(train.images[0, 0], torch.from_numpy(changed))  # never a stale copy
    assert after.std != stats


def test_a_save_to_disk_dataset_saved_again_with_one_image_changed_has_a_new_fingerprint(
        tmp_path: Path, digits: Any) -> None:
    fixtures.write_save_to_disk(tmp_path / "a", digits)
    before = spec(path=str(tmp_path / "a")).fingerprint()
    changed = {**digits, "train": fixtures.Images(digits["train"].images.copy(),
                                                  digits["train"].labels)}
    changed["train"].images[5, 0, 0] ^= 1
    shutil.rmtree(tmp_path / "a")
    fixtures.write_save_to_disk(tmp_path / "a", changed)
    s = spec(path=str(tmp_path / "a"))
    assert s.fingerprint() != before
    assert "=" in s.fingerprint().split(";")[-1]  # the datasets library's own fingerprint


def test_columns_labels_and_class_names_map_as_configured(tmp_path: Path, digits: Any) -> None:
    words = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    splits = {}
    for split, part in digits.items():
        from PIL import Image

        splits[split] = datasets.Dataset.from_dict({
            "picture": [Image.fromarray(a) for a in part.images],
            "digit": [words[int(y)] for y in part.labels],  # plain strings, no ClassLabel
            "decade": [10 * int(y) + 10 for y in part.labels],  # integers, not 0..9
        }, features=datasets.Features({"picture": datasets.Image(), "digit": datasets.Value("string"),
                                       "decade": datasets.Value("int64")}))
    datasets.DatasetDict(splits).save_to_disk(str(tmp_path / "words"))

    by_word = spec(path=str(tmp_path / "words"), image_column="picture", label_column="digit",
                   class_names={"three": "3"})
    assert by_word.class_names == ("eight", "five", "four", "nine", "one", "seven", "six", "3",
                                   "two", "zero")  # sorted strings, then renamed
    labels, _ = by_word.split_labels("train")
    names = [by_word.class_names[i] for i in labels.tolist()]
    expected = [words[int(y)] if y != 3 else "3" for y in digits["train"].labels]
    assert names == expected
    assert by_word.class_id("3") == 7
    assert torch.equal(by_word.load("train").images[:, 0], torch.from_numpy(digits["train"].images))

    by_decade = spec(path=str(tmp_path / "words"), image_column="picture", label_column="decade")
    assert by_decade.class_names == tuple(str(10 * d + 10) for d in range(10))
    assert torch.equal(by_decade.split_labels("test")[0], torch.from_numpy(digits["test"].labels))


def test_a_class_name_map_renames_the_full_class_targets(disk_root: Path) -> None:
    s = spec(path=str(disk_root), class_names={"3": "three", "8": "eight"},
             targets={"fullclass": ["three"]})
    assert s.class_names[3] == "three" and s.class_names[8] == "eight"
    assert s.default_targets == {"random": ("0.1",), "fullclass": ("three",)}
    check_dataset(s, splits=())  # the default targets name classes that exist


FINE = tuple(f"{c}{k}" for c in fixtures.CLASSES for k in "ab")


def test_a_fine_label_column_gives_the_sub_class_scenario(tmp_path: Path, digits: Any) -> None:
    data = fixtures.with_fine_labels(digits)
    fixtures.write_save_to_disk(tmp_path / "fine", data, fine_names=FINE)
    s = spec(path=str(tmp_path / "fine"), fine_label_column="fine_label",
             fine_class_names={"3b": "three_b"}, targets={"subclass": ["three_b"]})
    assert s.scenarios == ("fullclass", "subclass", "random")
    assert s.fine_class_names == tuple("three_b" if n == "3b" else n for n in FINE)
    assert s.coarse_of_fine == tuple(c for c in range(10) for _ in "ab")
    loaded = check_dataset(s)
    for split in ("train", "test"):
        assert torch.equal(loaded[split].fine_labels, torch.from_numpy(data[split].fine))
        assert torch.equal(loaded[split].labels, torch.from_numpy(data[split].labels))


def test_a_fine_class_in_two_classes_is_refused(tmp_path: Path, digits: Any) -> None:
    data = fixtures.with_fine_labels(digits)
    data["train"].fine[0] = 2  # an image of class 0 labelled with fine class "1a"
    fixtures.write_save_to_disk(tmp_path / "fine", data, fine_names=FINE)
    s = spec(path=str(tmp_path / "fine"), fine_label_column="fine_label")
    with pytest.raises(DatasetError) as caught:
        s.check_files()
    assert caught.value.message == "hf:local/digits: fine class '1a' lies in several classes: 0, 1"
    assert caught.value.hint == ("Each fine class of 'fine_label' must lie within exactly one "
                                 "class of 'label'.")


def test_rgb_images_are_resized_to_image_size(tmp_path: Path) -> None:
    rng = np.random.RandomState(1)
    images = rng.randint(0, 256, (6, 12, 12, 3)).astype(np.uint8)
    from PIL import Image

    ds = datasets.Dataset.from_dict(
        {"image": [Image.fromarray(a) for a in images], "label": [0, 1, 0, 1, 0, 1]},
        features=datasets.Features({"image": datasets.Image(),
                                    "label": datasets.ClassLabel(names=["a", "b"])}))
    datasets.DatasetDict(train=ds, test=ds).save_to_disk(str(tmp_path / "rgb"))
    native = spec(path=str(tmp_path / "rgb"))
    assert (native.channels, native.image_size) == (3, 12)
    assert torch.equal(native.load("test").images, torch.from_numpy(images.transpose(0, 3, 1, 2).copy()))
    small = spec(path=str(tmp_path / "rgb"), image_size=6)
    resized = small.load("train").images
    expected = np.stack([np.asarray(Image.fromarray(a).resize((6, 6), Image.Resampling.BILINEAR))
                         for a in images]).transpose(0, 3, 1, 2)
    assert torch.equal(resized, torch.from_numpy(expected.copy()))
    grey = spec(path=str(tmp_path / "rgb"), channels=1)
    assert grey.load("train").images.shape == (6, 1, 12, 12)
    assert statistics_of(resized)[0] == small.mean
