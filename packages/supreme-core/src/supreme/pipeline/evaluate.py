"""Evaluation: one forward pass per (model, split), shared by every metric."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from supreme.contracts.data import ImageTensors
from supreme.contracts.evaluation import Outputs
from supreme.errors import StageError
from supreme.pipeline.data import BatchTransform, TensorLoader
from supreme.progress import track

if TYPE_CHECKING:
    from lightning.fabric import Fabric


def penultimate_layer(model: nn.Module) -> nn.Module | None:
    """The last ``nn.Linear`` of ``model``: its input is the penultimate activation."""
    last = None
    for module in model.modules():
        if isinstance(module, nn.Linear):
            last = module
    return last


def training_batches(transform: BatchTransform, device: Any) -> Callable[..., Any]:
    """``EvalContext.batches``: shuffled, preprocessed, rank-local batches on ``device``."""

    def batches(tensors: ImageTensors, batch_size: int, seed: int) -> TensorLoader:
        return TensorLoader(tensors, batch_size, transform=transform, device=device,
                            shuffle=True, seed=seed)
    return batches


class Forward:
    """Computes :class:`Outputs` of a model over a split, in eval mode, on the Fabric device.

    Under several processes each rank runs a contiguous shard and the shards are
    gathered, dropping the padding so the result equals the single-process one.
    """

    def __init__(self, fabric: Fabric, transform: BatchTransform, batch_size: int) -> None:
        self.fabric = fabric
        self.transform = transform
        self.batch_size = batch_size

    @torch.no_grad()
    def __call__(self, model: nn.Module, split: ImageTensors, features: bool = False) -> Outputs:
        fabric = self.fabric
        n, world, rank = len(split), fabric.world_size, fabric.global_rank
        per_rank = -(-n // world)
        lo, hi = min(rank * per_rank, n), min((rank + 1) * per_rank, n)
        shard = split.subset(torch.arange(lo, hi))
        was_training = model.training
        model.eval()
        captured: list[torch.Tensor] = []
        hook = None
        layer = penultimate_layer(model) if features else None
        if layer is not None:
            hook = layer.register_forward_hook(lambda m, inp, out: captured.append(inp[0].float()))
        logits = []
        try:
            # batches are copied as uint8 and preprocessed on the device; one autocast
            # context for the whole pass (entering it per batch costs ~17 % under bf16)
            loader = TensorLoader(shard, self.batch_size, transform=self.transform,
                                  device=fabric.device)
            with track(len(loader), "evaluate") as advance, fabric.autocast():
                for x, _ in loader:
                    logits.append(model(x).float())
                    advance(1)
        finally:
            if hook is not None:
                hook.remove()
            model.train(was_training)
        out = _cat(logits, (0, 0))
        feats = _cat(captured, (0, 0)) if layer is not None else None
        if world > 1:
            out = _gather(fabric, out, per_rank, n)
            feats = _gather(fabric, feats, per_rank, n) if feats is not None else None
        out = out.cpu()
        _check_finite(out, "outputs")
        if feats is not None:
            feats = feats.cpu()
            _check_finite(feats, "penultimate activations")
        return Outputs(out, split.labels.cpu().clone(), feats)


def _check_finite(values: torch.Tensor, what: str) -> None:
    """Refuse non-finite outputs: every metric computed from them would be NaN or wrong.

    The weights were checked when the model was made, so this is a model whose finite
    weights are large enough to overflow (a method that diverged).
    """
    if values.numel() == 0:
        return
    bad = int((~torch.isfinite(values)).reshape(values.shape[0], -1).any(dim=1).sum())
    if bad:
        raise StageError(
            f"the model's {what} are non-finite (NaN or inf) on {bad} of {values.shape[0]} "
            "samples, although its weights are finite: the model diverged",
            "Lower the method's learning rate or number of epochs, or leave the method out "
            "of this experiment.",
        )


def _cat(parts: list[torch.Tensor], empty: tuple[int, int]) -> torch.Tensor:
    return torch.cat(parts) if parts else torch.zeros(empty)


def _gather(fabric: Fabric, local: torch.Tensor, per_rank: int, n: int) -> torch.Tensor:
    """All-gather equal-size shards (padded with zeros), then drop the padding.

    A rank whose shard is empty (e.g. 1 sample on 2 processes) does not know the output
    width, so the width is agreed on first.
    """
    width = local.shape[1] if local.dim() > 1 and local.shape[0] else 0
    width = int(fabric.all_reduce(torch.tensor(float(width), device=fabric.device), reduce_op="max"))
    padded = torch.zeros((per_rank, width), device=fabric.device, dtype=torch.float32)
    if local.shape[0]:
        padded[: local.shape[0]] = local.to(fabric.device, torch.float32)
    gathered = fabric.all_gather(padded)  # [world, per_rank, width]
    return gathered.reshape(-1, width)[:n]
