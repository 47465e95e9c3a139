"""What an unlearning method is given: :class:`UnlearnData`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from supreme.contracts.data import ImageTensors

if TYPE_CHECKING:
    import torch
    from lightning.fabric import Fabric
    from torch import nn

    from supreme.contracts.model import Recipe
    from supreme.pipeline.data import BatchTransform, TensorLoader

Which = Literal["forget", "retain", "train"]
Cache = Callable[[str, Mapping[str, Any], Callable[[], "dict[str, torch.Tensor]"]],
                 "dict[str, torch.Tensor]"]


def memory_cache() -> Cache:
    """An in-process cache (used when no store is attached, e.g. in tests)."""
    import json

    memo: dict[str, dict[str, Any]] = {}

    def cache(name: str, key: Mapping[str, Any], compute: Callable[[], dict[str, Any]]) -> Any:
        k = name + json.dumps(key, sort_keys=True, default=str)
        if k not in memo:
            memo[k] = compute()
        return memo[k]

    return cache


@dataclass
class UnlearnData:
    """The forget/retain data of one cell, and everything else a method may use.

    Attributes:
        forget: D_f, the training samples to forget (uint8 images, training labels).
        retain: D_r, the rest of the training set.
        num_classes: number of model outputs.
        scenario: ``fullclass``, ``subclass`` or ``random``.
        forget_class: the label id being forgotten (the coarse class holding the forgotten
            fine class for ``subclass``), ``None`` for ``random``.
        original: a frozen copy of M_o in eval mode (teacher); never modify it.
        new_model: builds a freshly initialised network of the same architecture
            (an "incompetent teacher", or the retrain reference).
        seed: the unlearning seed s_u.
        generator: a CPU ``torch.Generator`` seeded from ``seed``; draw every random
            number from it so all ranks agree.
        batch_size: the scenario's default batch size (64, or 128 for ``random``).
        recipe: the training recipe of M_o (used by ``retrain``).
        dataset_name, model_name, model_family: the cell's context, for methods whose
            defaults depend on it (SSD's α/λ table, UNSIR's noise resolution).
        cache: ``cache(name, key, compute)`` returns ``compute()`` (a dict of tensors),
            stored under ``key`` (a JSON-able mapping) next to M_o, so results that depend
            only on M_o and D (like SSD's full-training-set importances) are computed once
            and reused across targets and methods.
    """

    forget: ImageTensors
    retain: ImageTensors
    num_classes: int
    scenario: str
    forget_class: int | None
    original: nn.Module
    new_model: Callable[[], nn.Module]
    seed: int
    generator: torch.Generator
    batch_size: int
    recipe: Recipe
    fabric: Fabric
    transform: BatchTransform
    dataset_name: str = ""
    model_name: str = ""
    model_family: str = ""
    cache: Cache = field(default_factory=lambda: memory_cache(), repr=False)

    @property
    def train(self) -> ImageTensors:
        """D = D_r ∪ D_f (retain first, then forget)."""
        return ImageTensors.concat([self.retain, self.forget])

    def draw_seed(self) -> int:
        """A fresh seed from :attr:`generator` (identical on every rank)."""
        import torch

        return int(torch.randint(0, 2**62, (1,), generator=self.generator).item())

    def tensors(self, which: Which | ImageTensors | Sequence[Which | ImageTensors]) -> ImageTensors:
        """The samples of ``which``: ``"forget"``, ``"retain"``, ``"train"``, any
        :class:`ImageTensors`, or a sequence of those concatenated in order (a mix of splits,
        e.g. ``["forget", relabelled_retain]``)."""
        if isinstance(which, str):
            if which not in ("forget", "retain", "train"):
                raise ValueError(f"unknown split {which!r}; use 'forget', 'retain' or 'train'")
            tensors: ImageTensors = getattr(self, which)
            return tensors
        if isinstance(which, ImageTensors):
            return which
        parts = [self.tensors(w) for w in which]
        if not parts:
            raise ValueError("an empty sequence of splits has no samples")
        return parts[0] if len(parts) == 1 else ImageTensors.concat(parts)

    def loader(
        self,
        which: Which | ImageTensors | Sequence[Which | ImageTensors],
        *,
        batch_size: int | None = None,
        shuffle: bool = True,
        augment: bool = False,
        seed: int | None = None,
    ) -> TensorLoader:
        """Batches ``(x, y)`` of normalised inputs on the Fabric device.

        ``which``: see :meth:`tensors` (a split, any :class:`ImageTensors`, or a mix). The
        global batch is split across ranks (:func:`supreme.api.rank_share`); the shuffling
        order comes from ``seed``, or, when ``None``, from a seed drawn from
        :attr:`generator` (identical on every rank).
        """
        from supreme.pipeline.data import TensorLoader

        return TensorLoader(
            self.tensors(which),
            batch_size or self.batch_size,
            transform=self.transform,
            fabric=self.fabric,
            shuffle=shuffle,
            seed=self.draw_seed() if seed is None else seed,
            augment=self.recipe.augment if augment else None,
        )

    def rank_shard(self, which: Which | ImageTensors | Sequence[Which | ImageTensors]
                   ) -> ImageTensors:
        """This rank's strided share of ``which`` (samples ``rank``, ``rank + world``, ...):
        disjoint across ranks, together all of it, no padding. For exact sums over a
        split (add the per-rank sums with an all-reduce)."""
        import torch

        tensors = self.tensors(which)
        rank, world = self.fabric.global_rank, self.fabric.world_size
        if world == 1:
            return tensors
        return tensors.subset(torch.arange(rank, len(tensors), world))

    def local_loader(self, which: Which | ImageTensors | Sequence[Which | ImageTensors], *,
                     batch_size: int | None = None) -> TensorLoader:
        """Batches of ``which`` in order on this rank's device, not split across ranks and
        not padded (use it on :meth:`rank_shard` for exact per-rank sums)."""
        from supreme.pipeline.data import TensorLoader

        return TensorLoader(self.tensors(which), batch_size or self.batch_size,
                            transform=self.transform, device=self.fabric.device)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(channels, height, width)`` of the model's inputs (after resizing)."""
        return (self.transform.channels, self.transform.size, self.transform.size)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """A batch of uint8 images ``[B, C, H, W]`` as model inputs on the Fabric device:
        converted, resized and normalised exactly as the loaders do (no augmentation)."""
        return self.transform(images.to(self.fabric.device, non_blocking=True))

    def fit(
        self,
        model: nn.Module,
        which: Which | ImageTensors,
        recipe: Recipe | None = None,
        *,
        augment: bool = True,
        description: str = "train",
    ) -> nn.Module:
        """Train ``model`` on ``which`` with ``recipe`` (default: M_o's recipe)."""
        from supreme.pipeline.train import fit

        tensors = getattr(self, which) if isinstance(which, str) else which
        return fit(
            model,
            tensors,
            recipe or self.recipe,
            fabric=self.fabric,
            transform=self.transform,
            seed=self.draw_seed(),
            augment=augment,
            description=description,
        )
