"""The pipeline's :class:`~supreme.contracts.unlearn_data.DataServices`: loaders, training,
M_o, fresh networks, the cache and cross-rank sums, all over one Lightning ``Fabric``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from supreme.contracts.unlearn_data import Cache, memory_cache

if TYPE_CHECKING:
    import torch
    from lightning.fabric import Fabric
    from torch import nn

    from supreme.contracts import Augment, ImageTensors, Recipe
    from supreme.contracts.unlearn_data import UnlearnData
    from supreme.pipeline.data import BatchTransform, TensorLoader


class FabricServices:
    """:class:`~supreme.contracts.unlearn_data.DataServices` over ``fabric`` and the cell's
    ``transform``; the only place a method's data reaches the Fabric."""

    def __init__(self, fabric: Fabric, transform: BatchTransform, original: nn.Module,
                 new_model: Callable[[], nn.Module], cache: Cache | None = None) -> None:
        self._fabric = fabric
        self._transform = transform
        self._original = original
        self._new_model = new_model
        self._cache = cache or memory_cache()

    @property
    def original(self) -> nn.Module:
        return self._original

    @property
    def device(self) -> torch.device:
        return self._fabric.device

    @property
    def rank(self) -> int:
        return int(self._fabric.global_rank)

    @property
    def world_size(self) -> int:
        return int(self._fabric.world_size)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        t = self._transform
        return (t.channels, t.size, t.size)

    def new_model(self) -> nn.Module:
        return self._new_model()

    def loader(self, tensors: ImageTensors, *, batch_size: int, shuffle: bool,
               augment: Augment | None, seed: int) -> TensorLoader:
        from supreme.pipeline.data import TensorLoader

        return TensorLoader(tensors, batch_size, transform=self._transform, fabric=self._fabric,
                            shuffle=shuffle, seed=seed, augment=augment)

    def local_loader(self, tensors: ImageTensors, *, batch_size: int) -> TensorLoader:
        from supreme.pipeline.data import TensorLoader

        return TensorLoader(tensors, batch_size, transform=self._transform,
                            device=self._fabric.device)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        return self._transform(images.to(self._fabric.device, non_blocking=True))

    def fit(self, model: nn.Module, tensors: ImageTensors, recipe: Recipe, *, seed: int,
            augment: bool, description: str) -> nn.Module:
        from supreme.pipeline.train import fit

        return fit(model, tensors, recipe, fabric=self._fabric, transform=self._transform,
                   seed=seed, augment=augment, description=description)

    def sum_over_ranks(self, values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        summed = self._fabric.all_reduce(values, reduce_op="sum")
        assert isinstance(summed, dict)
        return summed

    def cache(self, name: str, key: Mapping[str, Any],
              compute: Callable[[], dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        return self._cache(name, key, compute)


def unlearn_data(
    *,
    forget: ImageTensors,
    retain: ImageTensors,
    num_classes: int,
    scenario: str,
    forget_class: int | None,
    seed: int,
    batch_size: int,
    recipe: Recipe,
    fabric: Fabric,
    transform: BatchTransform,
    original: nn.Module,
    new_model: Callable[[], nn.Module],
    cache: Cache | None = None,
    dataset_name: str = "",
    model_name: str = "",
    model_family: str = "",
) -> UnlearnData:
    """The :class:`UnlearnData` of one cell: its facts, and services over ``fabric``."""
    from supreme.contracts.unlearn_data import CellFacts, UnlearnData

    services = FabricServices(fabric, transform, original, new_model, cache)
    facts = CellFacts(
        forget=forget, retain=retain, num_classes=num_classes, scenario=scenario,
        forget_class=forget_class, seed=seed, batch_size=batch_size, recipe=recipe,
        input_shape=services.input_shape, dataset_name=dataset_name, model_name=model_name,
        model_family=model_family)
    return UnlearnData(facts, services)
