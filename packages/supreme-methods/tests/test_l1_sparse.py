"""ℓ1-sparse: the linear decay of the ℓ1 coefficient, and sparser weights than FT."""

from __future__ import annotations

import pytest
import torch
from methods_helpers import accuracy, student
from pydantic import ValidationError
from supreme.pipeline.train import unwrap
from supreme.testing import cpu_fabric
from supreme_methods.finetune import FineTune
from supreme_methods.l1_sparse import L1Sparse, l1_norm


def test_paper_defaults_and_bounds():
    cfg = L1Sparse.Config()
    assert (cfg.l1, cfg.epochs, cfg.lr, cfg.momentum, cfg.weight_decay, cfg.batch_size) == (
        5e-4, 10, 0.01, 0.9, 5e-4, 256)
    with pytest.raises(ValidationError, match="l1"):
        L1Sparse.Config(l1=-1e-3)


def test_penalty_decays_linearly_from_gamma_to_gamma_over_epochs():
    method = L1Sparse(L1Sparse.Config(l1=0.2, epochs=4))
    assert [method.l1_weight(t) for t in range(4)] == pytest.approx([0.2, 0.15, 0.1, 0.05])


def test_is_sgd_on_ce_plus_the_scheduled_l1_penalty(tiny):
    """The same thing by hand: CE + γ·(1 − t/E)·‖θ‖₁ in epoch t, SGD, the same batches."""
    from supreme.testing.methods import tiny_unlearn_data

    original, train = tiny
    cfg = L1Sparse.Config(l1=0.01, epochs=3, lr=0.05, momentum=0.9, weight_decay=5e-4,
                          batch_size=32)
    data = tiny_unlearn_data(original, train, seed=4)
    result = unwrap(L1Sparse(cfg).unlearn(student(original), data, cpu_fabric()))
    again = tiny_unlearn_data(original, train, seed=4)
    manual = student(original)
    sgd = torch.optim.SGD(manual.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    loader = again.loader("retain", batch_size=32)
    for epoch, gamma in enumerate([0.01, 0.01 * 2 / 3, 0.01 / 3]):
        assert L1Sparse(cfg).l1_weight(epoch) == pytest.approx(gamma)
        for x, y in loader:
            penalty = sum(p.abs().sum() for p in manual.parameters())
            loss = torch.nn.functional.cross_entropy(manual(x), y) + gamma * penalty
            sgd.zero_grad()
            loss.backward()
            sgd.step()
    for (name, p), q in zip(result.named_parameters(), manual.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-6), name


def test_l1_norm_is_the_norm_of_all_trainable_weights(tiny):
    original, _ = tiny
    flat = torch.cat([p.detach().flatten() for p in original.parameters()])
    assert float(l1_norm(original).detach()) == pytest.approx(float(flat.abs().sum()), rel=1e-6)


def test_is_sparser_than_fine_tuning_with_the_same_recipe(tiny):
    from supreme.testing.methods import tiny_unlearn_data

    original, train = tiny
    common = dict(epochs=10, lr=0.05, momentum=0.9, weight_decay=5e-4, batch_size=32)
    data = tiny_unlearn_data(original, train, seed=2)
    sparse = unwrap(L1Sparse(L1Sparse.Config(l1=0.02, **common)).unlearn(
        student(original), data, cpu_fabric()))
    data_ft = tiny_unlearn_data(original, train, seed=2)
    plain = unwrap(FineTune(FineTune.Config(**common)).unlearn(
        student(original), data_ft, cpu_fabric()))

    def small(m):
        return sum(int((p.abs() < 1e-2).sum()) for p in m.parameters())

    assert float(l1_norm(sparse).detach()) < 0.9 * float(l1_norm(plain).detach())
    assert small(sparse) > small(plain)
    assert accuracy(sparse, data, "retain") > 0.9
