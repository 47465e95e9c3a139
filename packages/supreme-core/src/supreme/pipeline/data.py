"""The batched tensor data path: uint8 images in memory, whole-batch preprocessing.

Images stay as uint8 tensors; each batch is converted to float, augmented as a whole
(random crop with padding, horizontal flip, rotation) on the device it will be used on,
resized to the model's input size and normalised. No per-sample Python work.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from supreme.contracts.data import ImageTensors
from supreme.contracts.model import Augment

if TYPE_CHECKING:
    from lightning.fabric import Fabric


@dataclass(frozen=True)
class BatchTransform:
    """uint8 ``[B, C, H, W]`` -> normalised float ``[B, channels, size, size]``."""

    mean: tuple[float, ...]
    std: tuple[float, ...]
    size: int
    channels: int

    def __call__(
        self,
        images: torch.Tensor,
        augment: Augment | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        x = images.float().div_(255.0)
        if augment is not None:
            x = augment_batch(x, augment, generator)
        if x.shape[1] != self.channels:
            if x.shape[1] != 1:
                raise ValueError(f"cannot map {x.shape[1]} image channels to {self.channels}")
            x = x.expand(-1, self.channels, -1, -1)
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True,
                              align_corners=False)
        mean = torch.tensor(self.mean, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
        if mean.shape[1] != x.shape[1]:  # grey statistics for a colour model, or vice versa
            mean, std = mean.mean().view(1, 1, 1, 1), std.mean().view(1, 1, 1, 1)
        return (x - mean) / std


def augment_batch(x: torch.Tensor, augment: Augment, generator: torch.Generator | None) -> torch.Tensor:
    """Random crop after zero padding, horizontal flip and rotation, per sample, in one go."""
    n, _, h, w = x.shape
    dev = x.device

    def uniform(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator).to(dev)

    pad = augment.crop_padding
    if pad > 0:
        padded = F.pad(x, (pad, pad, pad, pad))
        top = (uniform(n) * (2 * pad + 1)).long().clamp_(max=2 * pad)
        left = (uniform(n) * (2 * pad + 1)).long().clamp_(max=2 * pad)
        rows = (top[:, None] + torch.arange(h, device=dev)[None, :])[:, None, :, None]
        cols = (left[:, None] + torch.arange(w, device=dev)[None, :])[:, None, None, :]
        batch = torch.arange(n, device=dev)[:, None, None, None]
        chans = torch.arange(x.shape[1], device=dev)[None, :, None, None]
        x = padded[batch, chans, rows, cols]
    if augment.hflip:
        flip = (uniform(n) < 0.5).view(n, 1, 1, 1)
        x = torch.where(flip, x.flip(-1), x)
    if augment.rotation > 0:
        angle = (uniform(n) * 2 - 1) * math.radians(augment.rotation)
        cos, sin = angle.cos(), angle.sin()
        zero = torch.zeros_like(cos)
        theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
        grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    return x


class TensorLoader:
    """Batches ``(x, y)`` of an :class:`ImageTensors`, split across Fabric ranks.

    Every rank draws the same permutation (from ``seed``) and takes its share of each
    global batch, so the global batch size is preserved whatever the number of processes;
    the last batch is padded by wrapping so every rank takes the same number of steps.
    Batches are preprocessed on the Fabric device. Without a ``fabric`` the loader is
    rank-local: it serves all of ``tensors``, unpadded, on ``device``.
    """

    def __init__(
        self,
        tensors: ImageTensors,
        batch_size: int,
        *,
        transform: BatchTransform,
        fabric: Fabric | None = None,
        shuffle: bool = False,
        seed: int = 0,
        augment: Augment | None = None,
        drop_last: bool = False,
        device: torch.device | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.tensors = tensors
        self.batch_size = batch_size
        self.transform = transform
        self.shuffle = shuffle
        self.augment = augment
        self.drop_last = drop_last
        self.rank = fabric.global_rank if fabric is not None else 0
        self.world = fabric.world_size if fabric is not None else 1
        # without a Fabric the loader is rank-local (no split across ranks, no padding)
        self.device = device or (fabric.device if fabric is not None else torch.device("cpu"))
        self._order = torch.Generator().manual_seed(seed)
        self._augment_rng = torch.Generator().manual_seed(seed + 7919 * (self.rank + 1))

    def __len__(self) -> int:
        n = len(self.tensors)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.tensors)
        order = torch.randperm(n, generator=self._order) if self.shuffle else torch.arange(n)
        for b in range(len(self)):
            index = order[b * self.batch_size : (b + 1) * self.batch_size]
            if self.world > 1:
                # pad by wrapping so every rank takes the same number of steps
                if len(index) % self.world:
                    extra = self.world - len(index) % self.world
                    index = torch.cat([index, order[:extra]])
                index = index[self.rank :: self.world]
            images = self.tensors.images[index].to(self.device, non_blocking=True)
            labels = self.tensors.labels[index].to(self.device, non_blocking=True)
            yield self.transform(images, self.augment, self._augment_rng), labels
