"""Datasets: the :class:`DatasetSpec` contract and the in-memory :class:`ImageTensors`."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

from supreme.contracts.base import Component

if TYPE_CHECKING:
    import torch

Split = Literal["train", "test"]
SCENARIOS = ("fullclass", "subclass", "random")


@dataclass(frozen=True)
class ImageTensors:
    """A materialised split: uint8 images ``[N, C, H, W]`` and int64 labels ``[N]``.

    ``labels`` are what the model is trained to predict. For datasets with a coarse/fine
    hierarchy (CIFAR-20) ``fine_labels`` holds the fine class of each image.
    """

    images: torch.Tensor
    labels: torch.Tensor
    fine_labels: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, indices: torch.Tensor) -> ImageTensors:
        fine = None if self.fine_labels is None else self.fine_labels[indices]
        return ImageTensors(self.images[indices], self.labels[indices], fine)

    def with_labels(self, labels: torch.Tensor) -> ImageTensors:
        """The same images with other labels (random labelling, noise labels, ...)."""
        return ImageTensors(self.images, labels, self.fine_labels)

    @staticmethod
    def concat(parts: Sequence[ImageTensors]) -> ImageTensors:
        import torch

        fine = None
        if all(p.fine_labels is not None for p in parts):
            fine = torch.cat([p.fine_labels for p in parts])  # type: ignore[misc]
        return ImageTensors(
            torch.cat([p.images for p in parts]), torch.cat([p.labels for p in parts]), fine
        )


class DatasetSpec(Component):
    """An image-classification dataset that SUPREME can load from disk (or ships).

    Subclasses describe the dataset (classes, image size, normalisation statistics,
    default forget targets) and implement :meth:`load`. ``recipes`` gives per model
    family the training length (``{"resnet": {"epochs": 20, "milestones": [8, 12, 16]}}``),
    applied on top of the model's default recipe.
    """

    class_names: ClassVar[tuple[str, ...]] = ()
    channels: ClassVar[int] = 3
    image_size: ClassVar[int] = 32
    mean: ClassVar[tuple[float, ...]] = (0.5, 0.5, 0.5)
    std: ClassVar[tuple[float, ...]] = (0.25, 0.25, 0.25)
    #: Fine class names and, for each fine class, the id of its coarse class (sub-class scenario).
    fine_class_names: ClassVar[tuple[str, ...] | None] = None
    coarse_of_fine: ClassVar[tuple[int, ...] | None] = None
    #: Default forget targets per scenario: class names (fullclass), fine class names
    #: (subclass) or fractions as strings (random).
    default_targets: ClassVar[Mapping[str, Sequence[str]]] = {}
    #: Per model family overrides of the training recipe (epochs, milestones, ...).
    recipes: ClassVar[Mapping[str, Mapping[str, object]]] = {}
    #: Whether horizontal flips preserve the label (not for digits).
    allow_hflip: ClassVar[bool] = True

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def scenarios(self) -> tuple[str, ...]:
        have_fine = self.fine_class_names is not None and self.coarse_of_fine is not None
        return SCENARIOS if have_fine else ("fullclass", "random")

    def class_id(self, name: str) -> int:
        """The label id of class ``name`` (raises ``KeyError`` when absent)."""
        return self.class_names.index(name)

    @abstractmethod
    def load(self, split: Split) -> ImageTensors:
        """Decode ``split`` into uint8 tensors at ``image_size``.

        Raise :class:`supreme.errors.DatasetError` naming the expected location and how to
        obtain the files when they are absent.
        """

    def fingerprint(self) -> str:
        """A string that changes when the source files change (part of cache keys)."""
        return ""
