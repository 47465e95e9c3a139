"""Models: the :class:`ModelSpec` contract and the training :class:`Recipe`."""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from supreme.contracts.base import C, Component
from supreme.contracts.types import (
    BatchSize,
    Decay,
    EpochCount,
    Epochs,
    LearningRate,
    Milestones,
    Momentum,
    WeightDecay,
)

if TYPE_CHECKING:
    from torch import nn

    from supreme.contracts.data import DatasetSpec

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Augment(BaseModel):
    """Batch augmentation applied while training M_o and M_r (never during unlearning)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    crop_padding: int = Field(4, ge=0, le=4096, description="random crop after zero padding (pixels)")
    hflip: bool = Field(True, description="random horizontal flip with probability 0.5")
    rotation: float = Field(15.0, ge=0, le=180, description="random rotation in degrees (±)")


class Recipe(BaseModel):
    """How M_o and the retrain reference M_r are trained (the same recipe for both)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    epochs: Epochs = 20
    batch_size: BatchSize = 64
    optimizer: Literal["sgd", "adam", "adamw"] = "sgd"
    lr: LearningRate = 0.1
    momentum: Momentum = 0.9
    weight_decay: WeightDecay = 5e-4
    warmup_epochs: EpochCount = Field(1, description="linear per-iteration warm-up epochs")
    schedule: Literal["multistep", "cosine", "constant"] = "multistep"
    milestones: Milestones = (8, 12, 16)
    gamma: Decay = 0.2
    augment: Augment = Augment()
    selection: Literal["last", "best_val"] = Field(
        "last", description="keep the last epoch, or the best on a validation slice of D"
    )
    val_fraction: float = Field(0.1, gt=0, lt=1, description="used when selection = best_val")

    def updated(self, **changes: Any) -> Recipe:
        """A copy with ``changes`` applied and validated; ``augment`` may be a partial
        mapping (``{"hflip": False}`` keeps the other augmentation settings)."""
        merged = {**self.model_dump(), **changes}
        augment = changes.get("augment")
        if isinstance(augment, Augment):
            augment = augment.model_dump()
        if isinstance(augment, dict):
            merged["augment"] = {**self.augment.model_dump(), **augment}
        return Recipe.model_validate(merged)


class ModelSpec(Component[C]):
    """A model architecture with its input convention and default training recipe."""

    #: Family name used to look up per-dataset recipe overrides (``resnet``, ``vit``, ...).
    family: ClassVar[str] = ""
    #: Side length the model expects; ``None`` means the dataset's native size.
    input_size: ClassVar[int | None] = None
    #: ``dataset`` normalises with the dataset's statistics, ``imagenet`` with ImageNet's.
    normalisation: ClassVar[Literal["dataset", "imagenet"]] = "dataset"
    default_recipe: ClassVar[Recipe] = Recipe()

    @abstractmethod
    def create(self, num_classes: int, in_channels: int, image_size: int) -> nn.Module:
        """A freshly initialised network (uses the global torch RNG for initialisation)."""

    def recipe(self, dataset: DatasetSpec) -> Recipe:
        """The default recipe for ``dataset``: ours, updated by the dataset's per-family table."""
        overrides = dict(dataset.recipes.get(self.family, {}))
        return self.default_recipe.updated(**overrides) if overrides else self.default_recipe

    def input_side(self, dataset: DatasetSpec) -> int:
        return self.input_size or dataset.image_size

    def norm_stats(self, dataset: DatasetSpec) -> tuple[tuple[float, ...], tuple[float, ...]]:
        if self.normalisation == "imagenet":
            return IMAGENET_MEAN, IMAGENET_STD
        return dataset.mean, dataset.std
