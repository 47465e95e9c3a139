"""JiT: Lipschitz smoothing around D_f, both forwards in the same mode (§9-12)."""

from __future__ import annotations

import torch
from methods_helpers import student
from supreme.pipeline.train import unwrap
from supreme.testing import cpu_fabric
from supreme_methods.jit import JiT, lipschitz_estimate


def test_reference_defaults():
    cfg = JiT.Config()
    assert (cfg.epochs, cfg.lr, cfg.noise_std, cfg.noise_samples) == (1, 1e-3, 0.1, 10)
    assert cfg.mode == "eval"


def _estimate(model, data, std=0.1, seed=0):
    model = unwrap(model).eval()
    g = torch.Generator().manual_seed(seed)
    total = 0.0
    for x, _ in data.loader("forget", batch_size=256, shuffle=False):
        with torch.no_grad():
            noise = std * torch.randn(x.shape, generator=g)
            total += float(lipschitz_estimate(model, x, model(x), noise))
    return total


def test_same_mode_forwards_give_a_small_estimate_for_tiny_noise(tiny, fullclass_data):
    original, _ = tiny
    data = fullclass_data
    model = student(original).eval()
    x, _ = next(iter(data.loader("forget", batch_size=8, shuffle=False)))
    noise = 1e-4 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        same_mode = float(lipschitz_estimate(model, x, model(x), noise))
        model.train()
        clean_train_mode = model(x)  # the reference's mismatch: batch statistics vs running ones
        model.eval()
        mixed = float(lipschitz_estimate(model, x, clean_train_mode, noise))
    assert same_mode < 0.01 * mixed


def test_lowers_the_lipschitz_estimate_and_keeps_batchnorm_statistics(tiny, fullclass_data):
    original, _ = tiny
    data = fullclass_data
    before = _estimate(student(original), data)
    result = unwrap(JiT().unlearn(student(original), data, cpu_fabric()))
    assert _estimate(result, data) < 0.95 * before
    for name, buffer in original.named_buffers():  # eval mode: forget data never enter BN stats
        assert torch.equal(buffer, dict(result.named_buffers())[name]), name
