"""The batched tensor data path: uint8 images in memory, whole-batch preprocessing.

Images stay as uint8 tensors; each batch is converted to float, augmented as a whole
(random crop with padding, horizontal flip, rotation) on the device it will be used on,
resized to the model's input size and normalised. No per-sample Python work.

Nothing here waits for the accelerator: host-to-device copies are asynchronous (from
pinned memory when the batch goes from host memory to a CUDA device), random numbers
are drawn on the host from seeded generators and copied without blocking, and the
normalisation constants are built once per device.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from supreme.contracts.data import ImageTensors, LazyImages
from supreme.contracts.model import Augment

if TYPE_CHECKING:
    from lightning.fabric import Fabric


@dataclass(frozen=True)
class BatchTransform:
    """uint8 ``[B, C, H, W]`` -> normalised float ``[B, channels, size, size]``.

    With ``channels_last`` the output is laid out NHWC (``torch.channels_last``), to feed
    a model prepared with ``[speed] channels_last`` (:func:`supreme.pipeline.speed.prepare`);
    the values are the same either way.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    size: int
    channels: int
    channels_last: bool = False

    def __call__(
        self,
        images: torch.Tensor,
        augment: Augment | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        if self.channels_last:  # cheapest on uint8; element-wise ops keep the layout
            images = images.contiguous(memory_format=torch.channels_last)
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
        mean = _constant(self.mean, x.device, x.dtype)
        std = _constant(self.std, x.device, x.dtype)
        if mean.shape[1] != x.shape[1]:  # grey statistics for a colour model, or vice versa
            mean, std = mean.mean().view(1, 1, 1, 1), std.mean().view(1, 1, 1, 1)
        out = (x - mean) / std
        if self.channels_last:
            out = out.contiguous(memory_format=torch.channels_last)  # no-op when it already is
        return out


@functools.lru_cache(maxsize=64)
def _constant(values: tuple[float, ...], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """``values`` as a ``[1, C, 1, 1]`` tensor on ``device``, built once (no copy per batch)."""
    with torch.inference_mode(False), torch.no_grad():
        return torch.tensor(values, dtype=dtype).view(1, -1, 1, 1).to(device)


def augment_batch(x: torch.Tensor, augment: Augment, generator: torch.Generator | None) -> torch.Tensor:
    """Random crop after zero padding, horizontal flip and rotation, per sample, in one go."""
    n, _, h, w = x.shape
    dev = x.device

    def uniform(*shape: int) -> torch.Tensor:
        # drawn on the host (seeded, identical on every device), copied without a sync
        return torch.rand(*shape, generator=generator).to(dev, non_blocking=True)

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


#: A shuffled loader merges a last batch of fewer than ``batch_size // TAIL_FRACTION``
#: samples into the one before it (docs/reliability.md, 4a).
TAIL_FRACTION = 8


class TensorLoader:
    """Batches ``(x, y)`` of an :class:`ImageTensors`, split across Fabric ranks.

    Every rank draws the same permutation (from ``seed``) and takes its share of each
    global batch, so the global batch size is preserved whatever the number of processes;
    the last batch is padded by wrapping so every rank takes the same number of steps.

    A shuffled (training) loader never ends an epoch with a tiny batch: one sample per
    rank, which BatchNorm cannot train on, or fewer than ``batch_size / TAIL_FRACTION``
    samples, whose batch statistics are noise that BatchNorm's running statistics keep
    (a last batch of 2 in batches of 64 left a digits ResNet18 at 65 % training accuracy
    instead of 99.5 %). Such a last batch is merged into the one before it. The rule
    depends only on the number of samples, the batch size and the world size, so it is
    the same on every rank and for every model trained on the same data (M_o, M_r,
    methods); every other epoch layout, the default experiment's included, is unchanged.
    Batches are preprocessed on the Fabric device. Without a ``fabric`` the loader is
    rank-local: it serves all of ``tensors``, unpadded, on ``device``.

    Copies never block the host: a batch gathered from host memory for a CUDA device is
    gathered straight into pinned (page-locked) memory and copied asynchronously
    (``pin_memory``, default: whenever the device is CUDA); tensors already on the device
    (``data.on_device``) are indexed there.
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
        pin_memory: bool | None = None,
        merge_small_tail: bool | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.tensors = tensors
        self.batch_size = batch_size
        self.transform = transform
        self.shuffle = shuffle
        self.augment = augment
        self.drop_last = drop_last
        #: merge a tiny last batch into the previous one (default: shuffled)
        self.merge_small_tail = shuffle if merge_small_tail is None else merge_small_tail
        self.rank = fabric.global_rank if fabric is not None else 0
        self.world = fabric.world_size if fabric is not None else 1
        # without a Fabric the loader is rank-local (no split across ranks, no padding)
        self.device = torch.device(
            device or (fabric.device if fabric is not None else torch.device("cpu")))
        self.pin_memory = self.device.type == "cuda" if pin_memory is None else pin_memory
        self._order = torch.Generator().manual_seed(seed)
        self._augment_rng = torch.Generator().manual_seed(seed + 7919 * (self.rank + 1))

    def __len__(self) -> int:
        return len(self._bounds())

    def _bounds(self) -> list[tuple[int, int]]:
        """``(start, end)`` of each batch in the epoch's order."""
        n, size = len(self.tensors), self.batch_size
        count = n // size if self.drop_last else math.ceil(n / size)
        bounds = [(b * size, min(n, (b + 1) * size)) for b in range(count)]
        tail = bounds[-1][1] - bounds[-1][0] if bounds else 0
        if self.merge_small_tail and len(bounds) > 1 and (
                tail <= self.world or tail < size // TAIL_FRACTION):
            bounds[-2:] = [(bounds[-2][0], bounds[-1][1])]  # a tiny last batch: merge
        return bounds

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.tensors)
        order = torch.randperm(n, generator=self._order) if self.shuffle else torch.arange(n)
        for start, end in self._bounds():
            index = order[start:end]
            if self.world > 1:
                # pad by wrapping so every rank takes the same number of steps
                if len(index) % self.world:
                    extra = self.world - len(index) % self.world
                    index = torch.cat([index, order[:extra]])
                index = index[self.rank :: self.world]
            images = self._fetch(self.tensors.images, index)
            labels = self._fetch(self.tensors.labels, index)
            yield self.transform(images, self.augment, self._augment_rng), labels

    def _fetch(self, source: torch.Tensor | LazyImages, index: torch.Tensor) -> torch.Tensor:
        """``source[index]`` on the loader's device, without waiting for the device."""
        if isinstance(source, LazyImages):
            return source[index].to(self.device, non_blocking=True)
        if source.device.type != "cpu":  # resident on an accelerator: gather there
            index = index.to(source.device, non_blocking=True)
            return source[index].to(self.device, non_blocking=True)
        if self.pin_memory and self.device.type != "cpu":
            staged = torch.empty((len(index), *source.shape[1:]), dtype=source.dtype,
                                 pin_memory=True)
            torch.index_select(source, 0, index, out=staged)
            return staged.to(self.device, non_blocking=True)
        return source[index].to(self.device, non_blocking=True)
