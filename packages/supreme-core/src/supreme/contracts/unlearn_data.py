"""What an unlearning method is given: :class:`UnlearnData`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
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

    def loader(
        self,
        which: Which | ImageTensors,
        *,
        batch_size: int | None = None,
        shuffle: bool = True,
        augment: bool = False,
    ) -> TensorLoader:
        """Batches ``(x, y)`` of normalised inputs on the Fabric device.

        ``which`` is ``"forget"``, ``"retain"``, ``"train"`` or any :class:`ImageTensors`
        (for example the forget set with new labels). The global batch is split across
        ranks; the shuffling order comes from :attr:`generator`.
        """
        from supreme.pipeline.data import TensorLoader

        tensors = getattr(self, which) if isinstance(which, str) else which
        return TensorLoader(
            tensors,
            batch_size or self.batch_size,
            transform=self.transform,
            fabric=self.fabric,
            shuffle=shuffle,
            seed=self.draw_seed(),
            augment=self.recipe.augment if augment else None,
        )

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
