"""SalUn: a saliency mask of the configured density, and updates only inside it."""

from __future__ import annotations

import pytest
import torch
from methods_helpers import accuracy, student
from pydantic import ValidationError
from supreme.pipeline.train import unwrap
from supreme.testing import cpu_fabric
from supreme_methods.salun import SalUn, top_fraction


def test_paper_defaults_and_bounds():
    cfg = SalUn.Config()
    assert (cfg.mask_fraction, cfg.epochs, cfg.lr, cfg.momentum, cfg.weight_decay,
            cfg.batch_size) == (0.5, 10, 0.013, 0.9, 5e-4, 256)
    for bad in (0.0, 1.5):
        with pytest.raises(ValidationError, match="mask_fraction"):
            SalUn.Config(mask_fraction=bad)


def test_top_fraction_picks_the_largest_scores_globally():
    scores = {"a": torch.tensor([5.0, 1.0, 3.0]), "b": torch.tensor([[4.0, 0.0], [2.0, 6.0]])}
    masks = top_fraction(scores, 3 / 7)  # floor(3/7 * 7) = 3 elements: 6, 5, 4
    assert masks["a"].tolist() == [True, False, False]
    assert masks["b"].tolist() == [[True, False], [False, True]]


@pytest.mark.parametrize("fraction", [0.1, 0.5])
def test_mask_has_the_configured_density_and_follows_the_forget_gradient(tiny, fraction):
    from supreme.testing.methods import tiny_unlearn_data

    original, train = tiny
    data = tiny_unlearn_data(original, train)
    model = student(original)
    mask = SalUn(SalUn.Config(mask_fraction=fraction)).saliency_mask(model, data)
    total = sum(m.numel() for m in mask.values())
    assert sum(int(m.sum()) for m in mask.values()) == int(fraction * total)
    # by hand: |gradient of the mean CE over D_f|, one batch holding all of D_f
    model.eval()
    x, y = next(iter(data.local_loader("forget", batch_size=len(data.forget))))
    grads = torch.autograd.grad(torch.nn.functional.cross_entropy(model(x), y),
                                list(model.parameters()))
    flat = torch.cat([g.abs().flatten() for g in grads])
    threshold = torch.sort(flat, descending=True).values[int(fraction * total) - 1]
    chosen = torch.cat([m.flatten() for m in mask.values()])
    assert flat[chosen].min() >= threshold * (1 - 1e-5)
    assert flat[~chosen].max() <= threshold * (1 + 1e-5)


def test_updates_only_masked_weights(tiny):
    from supreme.testing.methods import tiny_unlearn_data

    original, train = tiny
    method = SalUn(SalUn.Config(mask_fraction=0.2, epochs=2, lr=0.05, batch_size=32))
    mask = method.saliency_mask(student(original), tiny_unlearn_data(original, train, seed=1))
    data = tiny_unlearn_data(original, train, seed=1)
    result = unwrap(method.unlearn(student(original), data, cpu_fabric()))
    before = dict(original.named_parameters())
    moved = 0
    for name, p in result.named_parameters():
        keep = mask[name]
        assert torch.equal(p[~keep], before[name][~keep]), f"{name}: an unmasked weight moved"
        moved += int((p[keep] != before[name][keep]).sum())
    assert moved > 0.9 * sum(int(m.sum()) for m in mask.values())


def test_forgets_the_class_and_keeps_the_rest(tiny, fullclass_data):
    original, _ = tiny
    data = fullclass_data
    cfg = SalUn.Config(epochs=5, lr=0.05, batch_size=16)
    result = SalUn(cfg).unlearn(student(original), data, cpu_fabric())
    assert accuracy(original, data, "forget") == 1.0
    assert accuracy(result, data, "forget") < 0.2
    assert accuracy(result, data, "retain") > 0.9
