"""What an unlearning method is given: :class:`UnlearnData`, the cell's facts and services.

:class:`CellFacts` are plain values about the cell (the splits, their sizes, the recipe,
the seed): frozen, cheap, and the same on every rank. :class:`DataServices` is what the
runtime does for a method (loaders, training, the frozen M_o, fresh networks, the cache,
sums across processes); the pipeline implements it over its one Lightning ``Fabric``, which
a method receives only as the ``fabric`` argument of ``unlearn``. :class:`UnlearnData`
joins the two under one flat, documented surface (``data.forget``, ``data.loader(...)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from supreme.contracts.data import ImageTensors

if TYPE_CHECKING:
    import torch
    from torch import nn

    from supreme.contracts.model import Augment, Recipe

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


@runtime_checkable
class Batches(Protocol):
    """Batches ``(x, y)`` of model inputs and labels on the device, with a known length."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]: ...


@dataclass(frozen=True)
class CellFacts:
    """The facts of one cell, as a method sees them: plain values, identical on every rank.

    Attributes:
        forget: D_f, the training samples to forget (uint8 images, training labels).
        retain: D_r, the rest of the training set.
        num_classes: number of model outputs.
        scenario: ``fullclass``, ``subclass`` or ``random``.
        forget_class: the label id being forgotten (the coarse class holding the forgotten
            fine class for ``subclass``), ``None`` for ``random``.
        seed: the unlearning seed s_u.
        batch_size: the scenario's default batch size (64, or 128 for ``random``).
        recipe: the training recipe of M_o (used by ``retrain``).
        input_shape: ``(channels, height, width)`` of the model's inputs (after resizing).
        dataset_name, model_name, model_family: the cell's context, for methods whose
            defaults depend on it (SSD's α/λ table, UNSIR's noise resolution).
    """

    forget: ImageTensors
    retain: ImageTensors
    num_classes: int
    scenario: str
    forget_class: int | None
    seed: int
    batch_size: int
    recipe: Recipe
    input_shape: tuple[int, int, int]
    dataset_name: str = ""
    model_name: str = ""
    model_family: str = ""

    @property
    def train(self) -> ImageTensors:
        """D = D_r ∪ D_f (retain first, then forget)."""
        return ImageTensors.concat([self.retain, self.forget])

    @property
    def sizes(self) -> dict[str, int]:
        """Samples per split: ``{"forget": |D_f|, "retain": |D_r|}``."""
        return {"forget": len(self.forget), "retain": len(self.retain)}


class DataServices(Protocol):
    """What the runtime does for a method. The pipeline implements it over its Fabric
    (``supreme.testing.make_unlearn_data`` builds the same implementation for tests); a
    method never builds one and reaches it only through :class:`UnlearnData`."""

    @property
    def original(self) -> nn.Module:
        """A frozen copy of M_o in eval mode (teacher); never modify it."""

    @property
    def device(self) -> torch.device:
        """This rank's device."""

    @property
    def rank(self) -> int:
        """This process's global rank (0 … ``world_size`` − 1)."""

    @property
    def world_size(self) -> int:
        """The number of processes running the method together."""

    def new_model(self) -> nn.Module:
        """A freshly initialised network of the cell's architecture, on the device."""

    def loader(self, tensors: ImageTensors, *, batch_size: int, shuffle: bool,
               augment: Augment | None, seed: int) -> Batches:
        """Global batches split across ranks (see :meth:`UnlearnData.loader`)."""

    def local_loader(self, tensors: ImageTensors, *, batch_size: int) -> Batches:
        """This rank's batches of ``tensors`` in order (see :meth:`UnlearnData.local_loader`)."""

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images ``[B, C, H, W]`` as model inputs on the device."""

    def fit(self, model: nn.Module, tensors: ImageTensors, recipe: Recipe, *, seed: int,
            augment: bool, description: str) -> nn.Module:
        """Train ``model`` on ``tensors`` with ``recipe`` (M_o's training loop)."""

    def sum_over_ranks(self, values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Each tensor summed over all ranks (the same dict on one process)."""

    def cache(self, name: str, key: Mapping[str, Any],
              compute: Callable[[], dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        """``compute()``, stored under ``key`` next to M_o (see :meth:`UnlearnData.cache`)."""


@dataclass(init=False)
class UnlearnData:
    """The forget/retain data of one cell, and everything else a method may use.

    ``facts`` (:class:`CellFacts`) are plain values; ``services`` (:class:`DataServices`) are
    the runtime's. Every fact is also an attribute (``data.forget``, ``data.scenario``, ...),
    and every service a method (``data.loader(...)``), so methods read one flat surface. The
    Lightning ``Fabric`` is not among them: a method receives it as ``unlearn``'s argument.

    Attributes:
        facts: the cell's :class:`CellFacts`.
        services: the runtime's :class:`DataServices`.
        generator: a CPU ``torch.Generator`` seeded from ``seed``; draw every random number
            from it so all ranks agree.
    """

    facts: CellFacts
    services: DataServices
    generator: torch.Generator = field(repr=False)

    def __init__(self, facts: CellFacts, services: DataServices) -> None:
        import torch

        self.facts = facts
        self.services = services
        self.generator = torch.Generator().manual_seed(facts.seed)

    def replace(self, **changes: Any) -> UnlearnData:
        """A new :class:`UnlearnData` with the given facts changed (``forget=...``,
        ``forget_class=...``), the same services and a fresh generator seeded from its
        ``seed``. Facts are frozen: this is the only way to change them."""
        import dataclasses

        return UnlearnData(dataclasses.replace(self.facts, **changes), self.services)

    # -- facts --------------------------------------------------------------------------
    @property
    def forget(self) -> ImageTensors:
        """D_f, the training samples to forget (uint8 images, training labels)."""
        return self.facts.forget

    @property
    def retain(self) -> ImageTensors:
        """D_r, the rest of the training set."""
        return self.facts.retain

    @property
    def train(self) -> ImageTensors:
        """D = D_r ∪ D_f (retain first, then forget)."""
        return self.facts.train

    @property
    def num_classes(self) -> int:
        """Number of model outputs."""
        return self.facts.num_classes

    @property
    def scenario(self) -> str:
        """``fullclass``, ``subclass`` or ``random``."""
        return self.facts.scenario

    @property
    def forget_class(self) -> int | None:
        """The label id being forgotten (coarse class for ``subclass``; ``None`` for random)."""
        return self.facts.forget_class

    @property
    def seed(self) -> int:
        """The unlearning seed s_u."""
        return self.facts.seed

    @property
    def batch_size(self) -> int:
        """The scenario's default batch size."""
        return self.facts.batch_size

    @property
    def recipe(self) -> Recipe:
        """M_o's training recipe."""
        return self.facts.recipe

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """``(channels, height, width)`` of the model's inputs (after resizing)."""
        return self.facts.input_shape

    @property
    def dataset_name(self) -> str:
        return self.facts.dataset_name

    @property
    def model_name(self) -> str:
        return self.facts.model_name

    @property
    def model_family(self) -> str:
        return self.facts.model_family

    # -- services -----------------------------------------------------------------------
    @property
    def original(self) -> nn.Module:
        """A frozen copy of M_o in eval mode (teacher); never modify it."""
        return self.services.original

    @property
    def device(self) -> torch.device:
        """This rank's device (where loaders put their batches)."""
        return self.services.device

    @property
    def rank(self) -> int:
        """This process's global rank."""
        return self.services.rank

    @property
    def world_size(self) -> int:
        """The number of processes running the method together."""
        return self.services.world_size

    def new_model(self) -> nn.Module:
        """A freshly initialised network of the same architecture (an "incompetent
        teacher", or the retrain reference), on the device."""
        return self.services.new_model()

    def cache(self, name: str, key: Mapping[str, Any],
              compute: Callable[[], dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        """``compute()`` (a dict of tensors), stored under ``key`` (a JSON-able mapping) next
        to M_o, so results that depend only on M_o and D (like SSD's full-training-set
        importances) are computed once and reused across targets and methods."""
        return self.services.cache(name, key, compute)

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
            tensors: ImageTensors = getattr(self.facts, which)
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
    ) -> Batches:
        """Batches ``(x, y)`` of normalised inputs on the device.

        ``which``: see :meth:`tensors` (a split, any :class:`ImageTensors`, or a mix). The
        global batch is split across ranks (:func:`supreme.api.rank_share`); the shuffling
        order comes from ``seed``, or, when ``None``, from a seed drawn from
        :attr:`generator` (identical on every rank). ``augment`` applies M_o's recipe's
        augmentation.
        """
        return self.services.loader(
            self.tensors(which), batch_size=batch_size or self.batch_size, shuffle=shuffle,
            augment=self.recipe.augment if augment else None,
            seed=self.draw_seed() if seed is None else seed)

    def rank_shard(self, which: Which | ImageTensors | Sequence[Which | ImageTensors]
                   ) -> ImageTensors:
        """This rank's strided share of ``which`` (samples ``rank``, ``rank + world``, ...):
        disjoint across ranks, together all of it, no padding. For exact sums over a
        split (add the per-rank sums with :meth:`sum_over_ranks`)."""
        import torch

        tensors = self.tensors(which)
        if self.world_size == 1:
            return tensors
        return tensors.subset(torch.arange(self.rank, len(tensors), self.world_size))

    def local_loader(self, which: Which | ImageTensors | Sequence[Which | ImageTensors], *,
                     batch_size: int | None = None) -> Batches:
        """Batches of ``which`` in order on this rank's device, not split across ranks and
        not padded (use it on :meth:`rank_shard` for exact per-rank sums)."""
        return self.services.local_loader(self.tensors(which),
                                          batch_size=batch_size or self.batch_size)

    def sum_over_ranks(self, values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Each tensor of ``values`` summed over all ranks (``values`` itself on one
        process): with :meth:`rank_shard`, exact sums over a whole split."""
        if self.world_size == 1:
            return values
        return self.services.sum_over_ranks(values)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """A batch of uint8 images ``[B, C, H, W]`` as model inputs on the device:
        converted, resized and normalised exactly as the loaders do (no augmentation)."""
        return self.services.prepare(images)

    def fit(
        self,
        model: nn.Module,
        which: Which | ImageTensors | Sequence[Which | ImageTensors],
        recipe: Recipe | None = None,
        *,
        augment: bool = True,
        description: str = "train",
    ) -> nn.Module:
        """Train ``model`` on ``which`` with ``recipe`` (default: M_o's recipe); returns the
        plain module."""
        return self.services.fit(model, self.tensors(which), recipe or self.recipe,
                                 seed=self.draw_seed(), augment=augment,
                                 description=description)
