"""NegGrad: gradient ascent on D_f."""

from __future__ import annotations

from methods_helpers import ce_loss, student
from supreme.testing import cpu_fabric
from supreme_methods.neg_grad import NegGrad


def test_reference_defaults():
    cfg = NegGrad.Config()
    assert (cfg.epochs, cfg.lr, cfg.momentum, cfg.weight_decay) == (5, 0.02, 0.9, 5e-4)


def test_raises_the_forget_loss(tiny, fullclass_data):
    original, _ = tiny
    data = fullclass_data
    before = ce_loss(original, data, "forget")
    result = NegGrad().unlearn(student(original), data, cpu_fabric())
    assert ce_loss(result, data, "forget") > before + 1.0


def test_more_ascent_raises_it_further(tiny):
    from supreme.testing.methods import tiny_unlearn_data

    original, train = tiny
    losses = []
    for epochs in (1, 4):
        data = tiny_unlearn_data(original, train)
        method = NegGrad(NegGrad.Config(epochs=epochs))
        result = method.unlearn(student(original), data, cpu_fabric())
        losses.append(ce_loss(result, data, "forget"))
    assert losses[1] > losses[0]
