"""SCRUB: max steps on D_f, min steps on D_r."""

from __future__ import annotations

import copy

import pytest
import torch
from methods_helpers import outputs, student
from supreme.testing import cpu_fabric
from supreme_methods.scrub import SCRUB, distill_kl, parameter_distance


def test_reference_defaults_and_schedule():
    cfg = SCRUB.Config()
    assert (cfg.epochs, cfg.max_steps, cfg.lr, cfg.weight_decay) == (10, 3, 5e-4, 0.1)
    assert (cfg.temperature, cfg.kl_weight, cfg.ce_weight) == (2.0, 0.5, 1.0)
    assert cfg.smoothing == 0.0  # the SCRUB paper; the SUPREME reference used 0.5 (§9-11)
    rates = [SCRUB().learning_rate(e) for e in range(1, 11)]
    expected = [5e-4] * 5 + [5e-5] * 3 + [5e-6, 5e-7]
    assert rates == pytest.approx(expected)


def test_kl_and_parameter_distance_closed_form():
    s = torch.tensor([[0.0, 0.0]])
    t = torch.tensor([[2.0, 0.0]])
    q = torch.softmax(t / 2, 1)
    expected = (q * (q.log() - torch.log(torch.tensor([0.5, 0.5])))).sum() * 4
    assert torch.isclose(distill_kl(s, t, 2.0), expected)
    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    with torch.no_grad():
        for p, q_ in zip(a.parameters(), b.parameters(), strict=True):
            p.copy_(q_ + 1.0)  # every element differs by 1: weight ‖·‖ = 2, bias ‖·‖ = √2
    assert torch.isclose(parameter_distance(a, b), torch.tensor(2 + 2**0.5))


def _forget_kl(model, data):
    teacher, _ = outputs(data.original, data, "forget")
    mine, _ = outputs(model, data, "forget")
    return float(distill_kl(mine, teacher, 2.0))


def test_max_steps_raise_the_forget_set_kl(tiny, fullclass_data):
    original, _ = tiny
    data = fullclass_data
    method = SCRUB()
    model = student(original)
    with torch.no_grad():  # at the teacher itself the KL gradient is 0; start next to it
        model.head.weight.add_(0.05 * torch.randn(model.head.weight.shape,
                                                  generator=torch.Generator().manual_seed(0)))
    before = _forget_kl(model, data)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    forget = data.loader("forget", batch_size=8)
    for _ in range(3):
        method.max_epoch(model, data.original, forget, optimizer, cpu_fabric())
    after = _forget_kl(model, data)
    assert after > 2 * before
    retain = data.loader("retain", batch_size=16)
    for _ in range(3):  # and min steps pull the retain outputs back toward the teacher
        method.min_epoch(model, data.original, retain, optimizer, cpu_fabric())
    teacher, _ = outputs(data.original, data, "retain")
    mine, _ = outputs(model, data, "retain")
    assert (mine.argmax(1) == teacher.argmax(1)).float().mean() > 0.9


def test_smoothing_pulls_the_student_toward_the_teacher(tiny):
    from supreme.testing.methods import tiny_unlearn_data

    original, train = tiny
    dist = {}
    for smoothing in (0.0, 5.0):
        data = tiny_unlearn_data(original, train)
        cfg = SCRUB.Config(epochs=2, max_steps=2, lr=1e-2, weight_decay=0.0, smoothing=smoothing)
        result = SCRUB(cfg).unlearn(student(original), data, cpu_fabric())
        dist[smoothing] = float(parameter_distance(result, copy.deepcopy(original)).detach())
    assert dist[5.0] < dist[0.0]
