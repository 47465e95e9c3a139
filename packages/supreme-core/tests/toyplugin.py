"""A tiny plugin used by the core's tests: a dataset, a model, a method and two metrics.

It is registered at run time (``supreme.register_plugin``), the way a notebook would,
so the core's tests need no other SUPREME package.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from pydantic import Field
from supreme import hookimpl
from supreme.contracts import (
    ComponentConfig,
    DatasetSpec,
    EvalContext,
    ImageTensors,
    LazyImages,
    Metric,
    ModelSpec,
    UnlearningMethod,
)
from supreme.contracts.types import LearningRate
from supreme.testing import TinyNet, synthetic_images, tiny_recipe


class Toy(DatasetSpec):
    """Four synthetic stripe classes, 8x8 grey."""

    name = "toy"
    class_names = ("a", "b", "c", "d")
    channels = 1
    image_size = 8
    mean = (0.3,)
    std = (0.3,)
    default_targets = {"fullclass": ("b",), "random": ("0.25",)}
    allow_hflip = False
    loads: list[str] = []  # records decode calls (the dataset cache must avoid repeats)

    class Config(ComponentConfig):
        per_class: int = Field(24, ge=1, le=10_000)

    def load(self, split: str) -> ImageTensors:
        Toy.loads.append(split)
        seed = 0 if split == "train" else 1
        per_class = self.config.per_class if split == "train" else 8
        return synthetic_images(4, per_class, seed=seed)


class ToyLazy(Toy):
    """The toy dataset decoded batch by batch (the non-cached path)."""

    name = "toy_lazy"
    decoded: list[int] = []  # sizes of every decode call

    @property
    def cached(self) -> bool:
        return False

    def load(self, split: str) -> ImageTensors:
        eager = super().load(split)

        def decode(ids: list[int]) -> torch.Tensor:
            ToyLazy.decoded.append(len(ids))
            return eager.images[torch.tensor(ids, dtype=torch.long)]

        lazy = LazyImages(decode, torch.arange(len(eager)), tuple(eager.images.shape[1:]))
        return ImageTensors(lazy, eager.labels)


class ToyFine(Toy):
    """Eight fine stripe classes grouped into four coarse classes."""

    name = "toy_fine"
    fine_class_names = tuple("abcdefgh")
    coarse_of_fine = (0, 0, 1, 1, 2, 2, 3, 3)
    default_targets = {"subclass": ("c",)}

    def load(self, split: str) -> ImageTensors:
        fine = synthetic_images(8, 12 if split == "train" else 4, seed=0 if split == "train" else 1)
        coarse = torch.tensor(self.coarse_of_fine)[fine.labels]
        return ImageTensors(fine.images, coarse, fine.labels)


class Tiny(ModelSpec):
    """TinyNet: two conv-BN-ReLU layers and a linear head."""

    name = "tiny"
    family = "tiny"
    default_recipe = tiny_recipe(epochs=4)

    class Config(ComponentConfig):
        width: int = Field(8, ge=1, le=1024)

    def create(self, num_classes: int, in_channels: int, image_size: int) -> torch.nn.Module:
        return TinyNet(num_classes, in_channels, self.config.width)


class ToyAscent(UnlearningMethod):
    """One epoch of gradient ascent on the forget set."""

    name = "toy_ascent"

    class Config(ComponentConfig):
        lr: LearningRate = 0.01

    def unlearn(self, model: Any, data: Any, fabric: Any) -> Any:
        optimizer = torch.optim.SGD(model.parameters(), lr=self.config.lr)
        model, optimizer = fabric.setup(model, optimizer)
        for x, y in data.loader("forget"):
            loss = -F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            fabric.backward(loss)
            optimizer.step()
        return model


class ToyAccuracy(Metric):
    """Accuracy (%) on the three test splits."""

    name = "toy_accuracy"

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        out = {}
        for split in ("test", "retain_test", "forget_test"):
            o = ctx.outputs("unlearned", split)
            out[split] = 100.0 * float((o.logits.argmax(1) == o.labels).double().mean())
        return out


class ToyGap(Metric):
    """Mean absolute logit difference to the retrained model on D'."""

    name = "toy_gap"
    needs = frozenset({"reference"})

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        a = ctx.outputs("unlearned", "test").logits
        b = ctx.outputs("reference", "test").logits
        return {"test": float((a - b).abs().mean())}


@hookimpl
def supreme_register_datasets() -> list[type[DatasetSpec]]:
    return [Toy, ToyLazy, ToyFine]


@hookimpl
def supreme_register_models() -> list[type[ModelSpec]]:
    return [Tiny]


@hookimpl
def supreme_register_methods() -> list[type[UnlearningMethod]]:
    return [ToyAscent]


@hookimpl
def supreme_register_metrics() -> list[type[Metric]]:
    return [ToyAccuracy, ToyGap]
