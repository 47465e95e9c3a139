"""Split construction of the three scenarios."""

from __future__ import annotations

import pytest
import torch
from supreme.errors import ConfigError
from supreme.pipeline.split import build_split, parse_amount
from supreme.testing import synthetic_images
from toyplugin import Toy, ToyFine


def data() -> tuple:
    return Toy().load("train"), Toy().load("test")


def test_fullclass_takes_exactly_the_target_class() -> None:
    train, test = data()
    split = build_split(Toy(), train, test, "fullclass", "c", seed=0)
    assert split.forget_class == 2
    assert bool((train.labels[split.forget_train] == 2).all())
    assert bool((train.labels[split.retain_train] != 2).all())
    assert len(split.forget_train) + len(split.retain_train) == len(train)
    assert len(split.forget_test) == 8 and len(split.retain_test) == 24


def test_subclass_removes_the_fine_class_and_keeps_coarse_labels() -> None:
    spec = ToyFine()
    train, test = spec.load("train"), spec.load("test")
    split = build_split(spec, train, test, "subclass", "d", seed=0)
    assert split.forget_class == 1  # fine "d" (3) sits in coarse class 1
    assert bool((train.fine_labels[split.forget_train] == 3).all())
    retained_coarse = train.labels[split.retain_train]
    assert int((retained_coarse == 1).sum()) == 12  # the sibling fine class "c" stays
    parts = split.materialise(train, test)
    assert set(parts["forget_test"].labels.tolist()) == {1}


def test_random_split_sizes_follow_random_split_rounding() -> None:
    assert parse_amount("0.1", 1000) == 100
    assert parse_amount("0.001", 17534) == 18  # floor 17 + the remainder goes to forget
    assert parse_amount("0.005", 17534) == 88
    assert parse_amount("50", 1000) == 50
    for bad in ("0", "-0.1", "abc", "2.5"):
        with pytest.raises(ConfigError):
            parse_amount(bad, 1000)


def test_random_split_depends_only_on_seed_and_target() -> None:
    train, test = data()
    a = build_split(Toy(), train, test, "random", "0.25", seed=3)
    torch.manual_seed(123)  # global RNG state must not matter
    torch.randn(1000)
    b = build_split(Toy(), train, test, "random", "0.25", seed=3)
    c = build_split(Toy(), train, test, "random", "0.25", seed=4)
    assert torch.equal(a.forget_train, b.forget_train)
    assert not torch.equal(a.forget_train, c.forget_train)
    assert len(a.forget_train) == 24
    assert torch.equal(a.forget_test, a.forget_train)  # D'_f = D_f in random
    assert len(a.retain_test) == len(test)  # D'_r = the whole test set
    parts = a.materialise(train, test)
    assert torch.equal(parts["forget_test"].images, train.images[a.forget_train])


def test_forgetting_everything_is_refused() -> None:
    train, test = data()
    with pytest.raises(ConfigError, match="the retain set must not be empty"):
        build_split(Toy(), train, test, "random", "96", seed=0)


def test_an_empty_forget_class_is_refused() -> None:
    images = synthetic_images(4, 8)
    keep = images.labels != 1
    train = images.subset(keep.nonzero().flatten())
    with pytest.raises(ConfigError, match="forget train set of toy/fullclass/b is empty"):
        build_split(Toy(), train, images, "fullclass", "b", seed=0)


@pytest.mark.slow
def test_random_split_is_the_same_on_two_processes_and_one() -> None:
    from core_workers import random_split_on_every_rank
    from supreme.testing import launch_processes

    per_rank = launch_processes(random_split_on_every_rank)
    train, test = data()
    single = build_split(Toy(), train, test, "random", "0.25", seed=3).forget_train.tolist()
    assert per_rank == [single, single]
