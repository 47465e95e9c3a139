"""Datasets: the :class:`DatasetSpec` contract and the in-memory :class:`ImageTensors`."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

from supreme.contracts.base import C, Component

if TYPE_CHECKING:
    import torch

Split = Literal["train", "test"]
SCENARIOS = ("fullclass", "subclass", "random")


class LazyImages:
    """Images decoded on demand, a batch at a time: the fallback for data too big to cache.

    ``decode(ids)`` turns sample ids (for example positions in a file list) into a uint8
    ``[len(ids), C, H, W]`` tensor, typically with per-sample PIL decoding. Indexing returns
    another lazy view (nothing is decoded); ``to(device)`` decodes the selected samples.
    The tensor loader calls ``images[batch].to(device)``, so a lazy dataset is decoded one
    batch at a time and never held in memory whole.
    """

    def __init__(self, decode: Callable[[list[int]], torch.Tensor], ids: torch.Tensor,
                 sample_shape: tuple[int, int, int]) -> None:
        self.decode = decode
        self.ids = ids
        self.sample_shape = sample_shape

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self), *self.sample_shape)

    def __getitem__(self, index: Any) -> LazyImages:
        ids = self.ids[index]
        return LazyImages(self.decode, ids.reshape(-1), self.sample_shape)

    def to(self, device: Any = None, non_blocking: bool = False) -> torch.Tensor:
        """Decode the selected samples (uint8) onto ``device``."""
        images = self.decode([int(i) for i in self.ids])
        return images if device is None else images.to(device, non_blocking=non_blocking)


@dataclass(frozen=True)
class ImageTensors:
    """A split: uint8 images ``[N, C, H, W]`` and int64 labels ``[N]``.

    ``labels`` are what the model is trained to predict. For datasets with a coarse/fine
    hierarchy (CIFAR-20) ``fine_labels`` holds the fine class of each image. ``images`` is
    a tensor, or :class:`LazyImages` for datasets decoded batch by batch.
    """

    images: torch.Tensor | LazyImages
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
            _cat_images([p.images for p in parts]), torch.cat([p.labels for p in parts]), fine
        )

    def to(self, device: Any) -> ImageTensors:
        """The split with its tensors on ``device`` (lazy images stay lazy)."""
        images = self.images if isinstance(self.images, LazyImages) else self.images.to(device)
        fine = None if self.fine_labels is None else self.fine_labels.to(device)
        return ImageTensors(images, self.labels.to(device), fine)

    def materialised(self) -> ImageTensors:
        """The same split with its images decoded into one tensor."""
        if isinstance(self.images, LazyImages):
            return ImageTensors(self.images.to(), self.labels, self.fine_labels)
        return self


def _cat_images(parts: Sequence[torch.Tensor | LazyImages]) -> torch.Tensor | LazyImages:
    """Concatenate image parts; lazy parts of one source stay lazy, mixed ones are decoded."""
    import torch

    lazy = [p for p in parts if isinstance(p, LazyImages)]
    if lazy and len(lazy) == len(parts) and all(p.decode is lazy[0].decode for p in lazy):
        return LazyImages(lazy[0].decode, torch.cat([p.ids for p in lazy]), lazy[0].sample_shape)
    return torch.cat([p.to() if isinstance(p, LazyImages) else p for p in parts])


class DatasetSpec(Component[C]):
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
    #: Minimum accuracy (percent) of a correctly trained M_o, checked in every cell:
    #: ``{"train": 99.0, "test": 94.0}``, optionally per model family
    #: (``{"resnet": {"test": 94.0}}``; supreme/gates.py). Undeclared: three times chance.
    reference_floors: ClassVar[Mapping[str, Any]] = {}
    #: A dataset *family* claims every name ``PREFIX:REST`` instead of one name: a
    #: registered class with ``prefix = "hf"`` answers ``hf:ORG/NAME`` through
    #: :meth:`member` (``supreme list datasets`` shows it as ``hf:*``).
    prefix: ClassVar[str | None] = None

    @classmethod
    def member(cls, name: str) -> type[DatasetSpec[Any]]:
        """The class of the family member ``name`` (``PREFIX:REST``); called once per name.

        The default is a subclass whose ``name`` is ``name`` (its config is the family's
        ``Config``, its provenance the family's). Override it to refuse a malformed ``REST``
        with :class:`supreme.errors.UnknownComponentError`.
        """
        attrs = {"name": name, "__module__": cls.__module__, "__qualname__": cls.__qualname__,
                 "__doc__": cls.__doc__}
        return cast("type[DatasetSpec[Any]]", type(cls.__name__, (cls,), attrs))

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

    def check_files(self) -> None:
        """Optional: raise :class:`supreme.errors.DatasetError` when the source files cannot
        give a sound dataset. Called before anything is computed; the default checks
        nothing (``load`` reports missing files)."""

    def split_labels(self, split: Split) -> tuple[torch.Tensor, torch.Tensor | None] | None:
        """Optional: the labels (and fine labels, or ``None``) of ``split`` without decoding
        any image, for the checks before compute. The default, ``None``, lets them call
        :meth:`load` and read the labels from its result."""
        return None

    @property
    def cached(self) -> bool:
        """Whether the pipeline keeps decoded uint8 tensors in its store.

        A spec whose :meth:`load` returns :class:`LazyImages` sets this to ``False``: its
        images are then decoded batch by batch on every use instead.
        """
        return True
