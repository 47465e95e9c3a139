"""RL: random wrong labels on D_f, trained together with D_r."""

from __future__ import annotations

import torch
from methods_helpers import accuracy, student
from supreme.contracts import ImageTensors
from supreme.testing import cpu_fabric
from supreme_methods.random_labeling import RandomLabeling, other_labels


def test_reference_defaults():
    cfg = RandomLabeling.Config()
    assert (cfg.epochs, cfg.lr, cfg.batch_size) == (3, 1e-4, 128)


def test_never_assigns_the_forget_class_and_covers_every_other(tiny):
    from supreme.testing.methods import tiny_unlearn_data

    original, train = tiny
    data = tiny_unlearn_data(original, train)
    big = ImageTensors(torch.zeros(4000, 1, 8, 8, dtype=torch.uint8),
                       torch.zeros(4000, dtype=torch.long))
    data = data.replace(forget=big)
    labels = RandomLabeling().relabelled_forget(data)
    counts = torch.bincount(labels, minlength=4)
    assert counts[0] == 0
    # uniform over the 3 others: each share within 5 points of 1/3
    assert torch.all((counts[1:].float() / 4000 - 1 / 3).abs() < 0.05)


def test_random_samples_never_keep_their_own_label():
    labels = torch.arange(10).repeat(300)
    drawn = other_labels(labels, 10, torch.Generator().manual_seed(0))
    assert not torch.any(drawn == labels)
    assert drawn.min() == 0 and drawn.max() == 9


def test_random_scenario_labels_differ_from_own(tiny):
    from supreme.testing.methods import tiny_unlearn_data

    original, train = tiny
    data = tiny_unlearn_data(original, train, scenario="random")
    labels = RandomLabeling().relabelled_forget(data)
    assert not torch.any(labels == data.forget.labels)


def test_forgets_with_enough_training(tiny, fullclass_data):
    original, _ = tiny
    data = fullclass_data
    cfg = RandomLabeling.Config(epochs=5, lr=1e-2, batch_size=16)
    result = RandomLabeling(cfg).unlearn(student(original), data, cpu_fabric())
    assert accuracy(original, data, "forget") == 1.0
    assert accuracy(result, data, "forget") < 0.2
    assert accuracy(result, data, "retain") > 0.9
