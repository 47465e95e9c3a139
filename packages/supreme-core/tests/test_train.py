"""The training loop's schedule, the batch augmentation and the tensor loader."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest
import torch
from supreme.contracts import Augment, Recipe
from supreme.pipeline.data import BatchTransform, TensorLoader, augment_batch
from supreme.pipeline.train import fit, learning_rate
from supreme.testing import TinyNet, cpu_fabric, synthetic_images, tiny_recipe, tiny_transform


def test_multistep_schedule_with_linear_warm_up() -> None:
    recipe = Recipe(lr=0.1, epochs=20, warmup_epochs=1, milestones=(8, 12, 16), gamma=0.2)
    # warm-up: per iteration, reaching the base rate at the end of the first epoch
    assert learning_rate(recipe, 1, 0, 10) == pytest.approx(0.01)
    assert learning_rate(recipe, 1, 9, 10) == pytest.approx(0.1)
    assert learning_rate(recipe, 7, 0, 10) == pytest.approx(0.1)
    assert learning_rate(recipe, 8, 0, 10) == pytest.approx(0.02)
    assert learning_rate(recipe, 16, 5, 10) == pytest.approx(0.1 * 0.2**3)


def test_cosine_schedule_never_reaches_zero_during_training() -> None:
    recipe = Recipe(lr=5e-5, epochs=8, warmup_epochs=1, schedule="cosine", optimizer="adamw")
    rates = [learning_rate(recipe, e, 0, 1) for e in range(2, 9)]
    assert rates[0] == pytest.approx(5e-5)
    assert all(a > b for a, b in itertools.pairwise(rates))
    assert rates[-1] > 0


def test_augmentation_keeps_shape_and_identity_when_disabled() -> None:
    x = torch.rand(16, 3, 8, 8)
    same = augment_batch(x, Augment(crop_padding=0, hflip=False, rotation=0), None)
    assert torch.equal(same, x)
    g = torch.Generator().manual_seed(0)
    out = augment_batch(x, Augment(crop_padding=2, hflip=True, rotation=15), g)
    assert out.shape == x.shape and not torch.equal(out, x)


def test_crop_moves_content_by_at_most_the_padding() -> None:
    x = torch.zeros(64, 1, 8, 8)
    x[:, :, 4, 4] = 1.0
    out = augment_batch(x, Augment(crop_padding=1, hflip=False, rotation=0),
                        torch.Generator().manual_seed(1))
    rows, cols = out[:, 0].nonzero()[:, 1], out[:, 0].nonzero()[:, 2]
    assert set(rows.tolist()) <= {3, 4, 5} and set(cols.tolist()) <= {3, 4, 5}
    assert float(out.sum()) == 64.0  # nothing falls out of an 8x8 image with padding 1


def test_transform_normalises_and_adapts_channels_and_size() -> None:
    images = torch.full((2, 1, 8, 8), 255, dtype=torch.uint8)
    t = BatchTransform(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), size=16, channels=3)
    out = t(images)
    assert out.shape == (2, 3, 16, 16)
    assert torch.allclose(out, torch.full_like(out, 2.0))


def test_loader_splits_global_batches_across_ranks_without_duplicates() -> None:
    data = synthetic_images(4, 5)  # 20 samples
    transform = tiny_transform()
    seen = []
    for rank in range(2):
        fabric = SimpleNamespace(global_rank=rank, world_size=2, device=torch.device("cpu"))
        loader = TensorLoader(data, 8, transform=transform, fabric=fabric, shuffle=True, seed=5)
        sizes = [len(y) for _, y in loader]
        assert sizes == [4, 4, 2]  # the global batch of 8 is preserved
        seen.append(torch.cat([x.flatten(1) for x, _ in loader]))
    assert len(torch.cat(seen).unique(dim=0)) == 20  # every sample once, none twice


def test_fit_is_deterministic_and_learns() -> None:
    data = synthetic_images(4, 32)
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        model = fit(TinyNet(), data, tiny_recipe(epochs=6), fabric=cpu_fabric(),
                    transform=tiny_transform(), seed=1)
        results.append(model.state_dict())
    assert all(torch.equal(results[0][k], results[1][k]) for k in results[0])
    model.eval()
    with torch.no_grad():
        accuracy = (model(tiny_transform()(data.images)).argmax(1) == data.labels).float().mean()
    assert float(accuracy) > 0.8


def test_best_val_selection_never_reads_the_test_set() -> None:
    data = synthetic_images(4, 32)
    torch.manual_seed(0)
    model = fit(TinyNet(), data, tiny_recipe(epochs=3, selection="best_val"), fabric=cpu_fabric(),
                transform=tiny_transform(), seed=1)
    assert isinstance(model, TinyNet)
