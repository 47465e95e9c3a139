"""FT: SGD on D_r only."""

from __future__ import annotations

import pytest
import torch
from methods_helpers import accuracy, student
from pydantic import ValidationError
from supreme.pipeline.train import unwrap
from supreme.testing import cpu_fabric
from supreme_methods.finetune import FineTune


def test_reference_defaults():
    cfg = FineTune.Config()
    assert (cfg.epochs, cfg.lr, cfg.momentum, cfg.weight_decay) == (5, 0.02, 0.9, 5e-4)
    with pytest.raises(ValidationError, match="lr"):
        FineTune.Config(lr=0)


def test_is_plain_sgd_on_the_retain_set_with_the_reference_hyperparameters(tiny):
    from supreme.testing.methods import tiny_unlearn_data

    original, train = tiny
    data = tiny_unlearn_data(original, train, seed=5)
    method = FineTune(FineTune.Config(epochs=2))
    result = unwrap(method.unlearn(student(original), data, cpu_fabric()))
    # the same thing by hand: same loader seed (the first draw), SGD 0.02 / 0.9 / 5e-4
    again = tiny_unlearn_data(original, train, seed=5)
    manual = student(original)
    sgd = torch.optim.SGD(manual.parameters(), lr=0.02, momentum=0.9, weight_decay=5e-4)
    loader = again.loader("retain")
    for _ in range(2):
        for x, y in loader:
            sgd.zero_grad()
            torch.nn.functional.cross_entropy(manual(x), y).backward()
            sgd.step()
    for (name, p), q in zip(result.named_parameters(), manual.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-6), name
    assert accuracy(result, data, "retain") >= 0.95


def test_never_reads_the_forget_set(tiny):
    from supreme.contracts import ImageTensors
    from supreme.testing.methods import tiny_unlearn_data

    original, train = tiny
    cfg = FineTune.Config(epochs=1)
    plain = tiny_unlearn_data(original, train, seed=3)
    scrambled = plain.replace(forget=ImageTensors(255 - plain.forget.images, plain.forget.labels))
    a = unwrap(FineTune(cfg).unlearn(student(original), plain, cpu_fabric())).state_dict()
    b = unwrap(FineTune(cfg).unlearn(student(original), scrambled, cpu_fabric())).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_zero_lr_like_settings_leave_weights_close(tiny, fullclass_data):
    original, _ = tiny
    data = fullclass_data
    cfg = FineTune.Config(epochs=1, lr=1e-12, momentum=0.0, weight_decay=0.0)
    result = unwrap(FineTune(cfg).unlearn(student(original), data, cpu_fabric()))
    for (name, p), q in zip(result.named_parameters(), original.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-8), name
