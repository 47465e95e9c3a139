"""The core's scenario splits (§2.4) over this package's real loaders and fixtures."""

from __future__ import annotations

from pathlib import Path

import torch
from supreme.pipeline.split import build_split
from supreme_vision.datasets import Caltech101, Cifar10, Cifar20, Cifar100
from supreme_vision.datasets.cifar_names import CIFAR100_FINE


def test_cifar20_subclass_keeps_coarse_labels_and_removes_exactly_the_fine_class(
    cifar_root: Path,
) -> None:
    spec = Cifar20(Cifar20.Config(root=cifar_root))
    train, test = spec.load("train"), spec.load("test")
    split = build_split(spec, train, test, "subclass", "rocket", seed=0)
    parts = split.materialise(train, test)
    rocket = CIFAR100_FINE.index("rocket")
    assert split.forget_class == spec.class_id("vehicles_2") == 19
    assert parts["forget_train"].fine_labels.unique().tolist() == [rocket]  # type: ignore[union-attr]
    assert len(parts["forget_train"]) == 3 and len(parts["forget_test"]) == 1  # fixture: 3 / 1
    assert rocket not in parts["retain_train"].fine_labels.tolist()  # type: ignore[union-attr]
    # the other vehicles_2 fine classes stay in D_r, still labelled with their superclass
    siblings = parts["retain_train"].labels == 19
    assert int(siblings.sum()) == 4 * 3
    assert parts["forget_train"].labels.unique().tolist() == [19]
    assert len(parts["retain_train"]) + len(parts["forget_train"]) == len(train)


def test_cifar100_fullclass_sizes(cifar_root: Path) -> None:
    spec = Cifar100(Cifar100.Config(root=cifar_root))
    train, test = spec.load("train"), spec.load("test")
    split = build_split(spec, train, test, "fullclass", "rocket", seed=0)
    assert split.forget_class == 69
    assert (len(split.forget_train), len(split.forget_test)) == (3, 1)
    assert bool((train.labels[split.retain_train] != 69).all())


def test_caltech_fullclass_uses_the_folder_of_that_name(caltech_root: Path) -> None:
    spec = Caltech101(Caltech101.Config(root=caltech_root))
    train, test = spec.load("train"), spec.load("test")
    split = build_split(spec, train, test, "fullclass", "airplanes", seed=0)
    paths, labels = spec.files
    assert {paths[i].parent.name for i in range(len(paths)) if labels[i] == split.forget_class} == {
        "airplanes"
    }
    assert (len(split.forget_train), len(split.forget_test)) == (4, 2)


def test_random_split_depends_only_on_data_target_and_seed(cifar_root: Path) -> None:
    spec = Cifar10(Cifar10.Config(root=cifar_root))
    train, test = spec.load("train"), spec.load("test")
    first = build_split(spec, train, test, "random", "0.1", seed=3)
    torch.manual_seed(123)  # global RNG state (e.g. a different model's init) must not matter
    torch.randn(1000)
    again = build_split(Cifar10(Cifar10.Config(root=cifar_root)), train, test, "random", "0.1", seed=3)
    assert torch.equal(first.forget_train, again.forget_train)
    assert len(first.forget_train) == 10 and len(first.retain_test) == len(test)
    other = build_split(spec, train, test, "random", "0.1", seed=4)
    assert not torch.equal(first.forget_train, other.forget_train)
