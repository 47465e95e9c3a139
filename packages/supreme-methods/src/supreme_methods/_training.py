"""Optimisation helpers shared by the gradient-based methods.

This module imports torch at module level; method modules import it inside ``unlearn``
so that loading the plugin stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

import torch
from supreme.api import track, unwrap
from torch import nn

if TYPE_CHECKING:
    from lightning.fabric import Fabric

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]
LossFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


def sgd(params: Iterable[nn.Parameter], lr: float, momentum: float = 0.0,
        weight_decay: float = 0.0) -> torch.optim.Optimizer:
    return torch.optim.SGD(list(params), lr=lr, momentum=momentum, weight_decay=weight_decay)


def adam(
    params: Iterable[nn.Parameter], lr: float, weight_decay: float = 0.0
) -> torch.optim.Optimizer:
    return torch.optim.Adam(list(params), lr=lr, weight_decay=weight_decay)


def trainable(module: nn.Module) -> Iterator[nn.Parameter]:
    return (p for p in module.parameters() if p.requires_grad)


def prepare(
    fabric: Fabric, model: nn.Module, optimizer_for: Callable[[nn.Module], torch.optim.Optimizer]
) -> tuple[nn.Module, torch.optim.Optimizer]:
    """The student as Fabric wants it: the plain module in train mode, set up once together
    with its optimiser (``fabric.setup``, which every strategy, DeepSpeed included, supports).
    """
    module = unwrap(model)
    module.train()
    wrapped, optimizer = fabric.setup(module, optimizer_for(module))
    return wrapped, optimizer


def restart(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Make ``optimizer`` a fresh one (its state forgotten) with learning rate ``lr``."""
    inner = getattr(optimizer, "optimizer", optimizer)
    inner.state.clear()
    for group in inner.param_groups:
        group["lr"] = lr


def train_epochs(
    fabric: Fabric,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Batches,
    loss_fn: LossFn,
    *,
    epochs: int,
    description: str,
    steps: int | None = None,
    on_epoch: Callable[[int], None] | None = None,
    before_step: Callable[[], None] | None = None,
) -> None:
    """``epochs`` passes of ``loss_fn`` over ``batches`` (a re-iterable loader), one step a batch.

    The loss is computed by ``loss_fn(model, x, y)``; the model is put in train mode at the
    start of every epoch, then ``on_epoch(epoch)`` (0-based) is called (a per-epoch schedule,
    or modules put back in eval mode). ``before_step()`` runs between the backward pass
    (gradients already reduced across processes) and the optimiser step (gradient masks).
    No evaluation happens here: the whole method call is timed.
    """
    per_epoch = steps if steps is not None else len(batches)  # type: ignore[arg-type]
    with track(epochs * per_epoch, description) as advance:
        for epoch in range(epochs):
            model.train()
            if on_epoch is not None:
                on_epoch(epoch)
            for x, y in batches:
                loss = loss_fn(model, x, y)
                optimizer.zero_grad(set_to_none=True)
                fabric.backward(loss)
                if before_step is not None:
                    before_step()
                optimizer.step()
                advance(1)
    sync_buffers(fabric, model)


def sync_buffers(fabric: Fabric, model: nn.Module) -> nn.Module:
    """Average floating-point buffers (BatchNorm running statistics) across processes.

    DDP keeps parameters in sync but each rank updates its BatchNorm statistics on its own
    share of the batch; averaging at the end gives every rank the same, complete model.
    """
    if fabric.world_size > 1:
        module = unwrap(model)
        floats = {n: b for n, b in module.named_buffers() if b.is_floating_point()}
        if floats:
            averaged: dict[str, torch.Tensor] = fabric.all_reduce(  # type: ignore[assignment]
                {n: b.detach().clone() for n, b in floats.items()}, reduce_op="mean"
            )
            with torch.no_grad():
                for name, buffer in floats.items():
                    buffer.copy_(averaged[name])
    return model


def cross_entropy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(model(x), y)


def frozen(module: nn.Module) -> nn.Module:
    """``module`` in eval mode with gradients off (teachers, reference copies)."""
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module
