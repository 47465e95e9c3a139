"""NegGrad+: joint retain descent and forget ascent; α = 0 is fine-tuning."""

from __future__ import annotations

import pytest
import torch
from methods_helpers import accuracy, ce_loss, student
from pydantic import ValidationError
from supreme.contracts import ImageTensors
from supreme.pipeline.train import unwrap
from supreme.testing import cpu_fabric
from supreme_methods.finetune import FineTune
from supreme_methods.neg_grad_plus import NegGradPlus


def test_reference_defaults_and_bounds():
    cfg = NegGradPlus.Config()
    assert (cfg.alpha, cfg.epochs, cfg.lr, cfg.momentum, cfg.weight_decay) == (
        0.05, 10, 0.01, 0.0, 5e-4)
    with pytest.raises(ValidationError, match="alpha"):
        NegGradPlus.Config(alpha=1.5)


def test_alpha_zero_is_fine_tuning_bit_for_bit(tiny):
    """Same seed, same SGD settings: α = 0 gives FT's weights and buffers exactly."""
    from supreme.testing.methods import tiny_unlearn_data

    original, train = tiny
    common = dict(epochs=2, lr=0.02, momentum=0.9, weight_decay=5e-4, batch_size=32)
    a = tiny_unlearn_data(original, train, seed=7)
    plus = unwrap(NegGradPlus(NegGradPlus.Config(alpha=0.0, **common)).unlearn(
        student(original), a, cpu_fabric())).state_dict()
    b = tiny_unlearn_data(original, train, seed=7)
    ft = unwrap(FineTune(FineTune.Config(**common)).unlearn(
        student(original), b, cpu_fabric())).state_dict()
    assert all(torch.equal(plus[k], ft[k]) for k in ft)
    assert any(not torch.equal(ft[k], original.state_dict()[k]) for k in ft)


def test_alpha_zero_never_reads_the_forget_set(tiny):
    from supreme.testing.methods import tiny_unlearn_data

    original, train = tiny
    cfg = NegGradPlus.Config(alpha=0.0, epochs=1)
    plain = tiny_unlearn_data(original, train, seed=3)
    scrambled = plain.replace(forget=ImageTensors(255 - plain.forget.images, plain.forget.labels))
    x = unwrap(NegGradPlus(cfg).unlearn(student(original), plain, cpu_fabric())).state_dict()
    y = unwrap(NegGradPlus(cfg).unlearn(student(original), scrambled, cpu_fabric())
               ).state_dict()
    assert all(torch.equal(x[k], y[k]) for k in x)


def test_ascent_raises_the_forget_loss_and_keeps_the_retain_set(tiny, fullclass_data):
    original, _ = tiny
    data = fullclass_data
    cfg = NegGradPlus.Config(alpha=0.5, epochs=5, lr=0.05, batch_size=16, forget_batch_size=16)
    result = NegGradPlus(cfg).unlearn(student(original), data, cpu_fabric())
    assert ce_loss(result, data, "forget") > ce_loss(original, data, "forget") + 1.0
    assert accuracy(result, data, "forget") < 0.2
    assert accuracy(result, data, "retain") > 0.9
