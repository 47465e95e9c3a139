"""Training M_o and M_r: one loop, one recipe (the retrain reference uses M_o's recipe)."""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from supreme.contracts.data import ImageTensors
from supreme.contracts.model import Recipe
from supreme.pipeline.data import BatchTransform, TensorLoader
from supreme.pipeline.resources import untimed
from supreme.progress import track

if TYPE_CHECKING:
    from lightning.fabric import Fabric


def make_optimizer(recipe: Recipe, params: object) -> torch.optim.Optimizer:
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay
        )
    if recipe.optimizer == "adam":
        return torch.optim.Adam(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    return torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)


def learning_rate(recipe: Recipe, epoch: int, step: int, steps_per_epoch: int) -> float:
    """The learning rate at ``step`` (0-based) of 1-based ``epoch``.

    Warm-up: linear per iteration over ``warmup_epochs``, reaching the base rate at the
    end of warm-up. Then ``multistep``: base · γ^{#milestones ≤ epoch}; ``cosine``:
    base · (1 + cos(π (e − w − 1) / (E − w))) / 2, which never reaches 0 inside training
    (the reference spends its last epoch at lr 0); ``constant``: base.
    """
    base = recipe.lr
    warm = min(recipe.warmup_epochs, recipe.epochs - 1) if recipe.epochs > 1 else 0
    if epoch <= warm:
        done = (epoch - 1) * steps_per_epoch + step + 1
        return base * done / (warm * steps_per_epoch)
    if recipe.schedule == "multistep":
        return base * recipe.gamma ** sum(1 for m in recipe.milestones if m <= epoch)
    if recipe.schedule == "cosine":
        span = recipe.epochs - warm
        return base * (1 + math.cos(math.pi * (epoch - warm - 1) / span)) / 2
    return base


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module behind Fabric's (and DDP's) wrappers."""
    while hasattr(model, "module") and isinstance(model.module, nn.Module):
        model = model.module
    return model


def fit(
    model: nn.Module,
    data: ImageTensors,
    recipe: Recipe,
    *,
    fabric: Fabric,
    transform: BatchTransform,
    seed: int,
    augment: bool = True,
    description: str = "train",
) -> nn.Module:
    """Train ``model`` on ``data`` with ``recipe``; returns the plain (unwrapped) module.

    With ``selection = "best_val"`` a seeded ``val_fraction`` slice of ``data`` is held
    out and the epoch with the best accuracy on it is kept; the test set is never used.
    """
    model = unwrap(model)
    val = None
    if recipe.selection == "best_val":
        order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
        n_val = max(1, int(len(data) * recipe.val_fraction))
        val, data = data.subset(order[:n_val]), data.subset(order[n_val:])
    optimizer = make_optimizer(recipe, model.parameters())
    wrapped, optimizer = fabric.setup(model, optimizer)
    loader = TensorLoader(
        data, recipe.batch_size, transform=transform, fabric=fabric, shuffle=True, seed=seed,
        augment=recipe.augment if augment else None,
    )
    best: tuple[float, dict[str, torch.Tensor]] | None = None
    steps = len(loader)
    with track(total=recipe.epochs * steps, description=description) as advance:
        for epoch in range(1, recipe.epochs + 1):
            wrapped.train()
            for step, (x, y) in enumerate(loader):
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate(recipe, epoch, step, steps)
                loss = F.cross_entropy(wrapped(x), y)
                optimizer.zero_grad(set_to_none=True)
                fabric.backward(loss)
                optimizer.step()
                advance(1)
            if val is not None:
                with untimed():  # model selection is not part of the method's cost
                    score = accuracy_on(wrapped, val, transform, fabric, recipe.batch_size)
                if best is None or score > best[0]:
                    best = (score, copy.deepcopy(unwrap(wrapped).state_dict()))
    plain = unwrap(wrapped)
    if best is not None:
        plain.load_state_dict(best[1])
    return plain


@torch.no_grad()
def accuracy_on(
    model: nn.Module, data: ImageTensors, transform: BatchTransform, fabric: Fabric, batch: int
) -> float:
    """Fraction of ``data`` classified correctly (summed over ranks)."""
    model.eval()
    correct = torch.zeros((), device=fabric.device)
    for x, y in TensorLoader(data, batch, transform=transform, fabric=fabric):
        correct += (model(x).argmax(1) == y).sum()
    total = fabric.all_reduce(correct, reduce_op="sum") if fabric.world_size > 1 else correct
    model.train()
    return float(total) / len(data)
