"""UNSIR: error-maximising noise, impair, repair."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from methods_helpers import student
from supreme.contracts import ImageTensors
from supreme.errors import UsageError
from supreme.testing import cpu_fabric
from supreme_methods._context import resolve
from supreme_methods.unsir import UNSIR, first_per_class


def test_reference_defaults_and_iterations_by_scenario(tiny):
    from supreme.testing.methods import tiny_unlearn_data

    original, train = tiny
    cfg = UNSIR.Config()
    assert (cfg.noise_count, cfg.noise_lr, cfg.noise_l2, cfg.noise_repeats) == (32, 0.1, 0.1, 80)
    assert (cfg.retain_per_class, cfg.impair_lr, cfg.repair_lr) == (500, 1e-4, 1e-4)
    full = tiny_unlearn_data(original, train, "fullclass")
    assert resolve(cfg, full)["noise_iterations"] == 25
    full = full.replace(scenario="subclass")
    assert resolve(cfg, full)["noise_iterations"] == 250
    assert resolve(UNSIR.Config(noise_iterations=7), full)["noise_iterations"] == 7


def test_learnt_noise_raises_the_forget_class_loss(tiny, fullclass_data):
    original, _ = tiny
    data = fullclass_data
    method = UNSIR()
    gen_state = data.generator.get_state()
    initial = torch.randn((32, 1, 8, 8), generator=data.generator)  # what learn_noise starts from
    data.generator.set_state(gen_state)
    learnt = method.learn_noise(student(original), data, iterations=25)
    assert learnt.shape == initial.shape
    target = torch.zeros(32, dtype=torch.long)
    with torch.no_grad():
        loss_before = F.cross_entropy(data.original(initial), target)
        loss_after = F.cross_entropy(data.original(learnt), target)
    assert loss_after > loss_before + 1.0


def test_random_scenario_is_a_clear_error(tiny):
    from supreme.testing.methods import tiny_unlearn_data

    original, train = tiny
    data = tiny_unlearn_data(original, train, "random")
    with pytest.raises(UsageError, match="unsir does not support the 'random' scenario"):
        UNSIR().unlearn(student(original), data, cpu_fabric())


def test_first_per_class_in_dataset_order():
    labels = torch.tensor([2, 0, 2, 1, 2, 0, 1, 2])
    tensors = ImageTensors(torch.zeros(8, 1, 2, 2, dtype=torch.uint8), labels)
    assert first_per_class(tensors, 2).tolist() == [0, 1, 2, 3, 5, 6]


def test_subclass_retain_keeps_the_superclass_but_not_the_forgotten_subclass():
    from supreme.testing.methods import tiny_original, tiny_unlearn_data

    original, train = tiny_original("subclass")
    data = tiny_unlearn_data(original, train, "subclass")
    picked = data.retain.subset(first_per_class(data.retain, 500))
    assert not torch.any(picked.fine_labels == 0)  # the forgotten sub-class (§9-3)
    assert torch.any(picked.fine_labels == 1)  # the other sub-class of the forget super-class
    assert set(picked.labels.tolist()) == {0, 1, 2, 3}


