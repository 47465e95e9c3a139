"""A tiny plugin for the bad-input corpus, loaded with ``--plugin tests/bad_inputs/tinyplugin.py``.

``bi_toy`` + ``bi_tiny`` + ``bi_acc`` make a real experiment that trains in well under a
second. The other components are deliberately faulty, each for one corpus case: datasets
whose forget or retain set is empty or whose labels are out of range, a model without a
linear head, metrics with unmet needs. Every name starts with ``bi_``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from supreme import hookimpl
from supreme.contracts import (
    ComponentConfig,
    DatasetSpec,
    EvalContext,
    ImageTensors,
    Metric,
    ModelSpec,
    UnlearningMethod,
)
from supreme.testing import TinyNet, synthetic_images, tiny_recipe


class BiToy(DatasetSpec):
    """Four synthetic stripe classes, 8x8 grey (16 training and 4 test images each)."""

    name = "bi_toy"
    class_names = ("a", "b", "c", "d")
    channels = 1
    image_size = 8
    mean = (0.3,)
    std = (0.3,)
    allow_hflip = False
    default_targets = {"fullclass": ("b",), "random": ("0.25",)}

    def load(self, split: str) -> ImageTensors:
        return synthetic_images(4, 16 if split == "train" else 4, seed=0 if split == "train" else 1)


class BiGappy(BiToy):
    """Class ``d`` is listed but has no training image (an empty forget set when targeted)."""

    name = "bi_gappy"

    def load(self, split: str) -> ImageTensors:
        data = super().load(split)
        if split == "train":
            keep = (data.labels != 3).nonzero().flatten()
            return data.subset(keep)
        return data


class BiOneClass(BiToy):
    """Every training image is of class ``a`` (an empty retain set when ``a`` is forgotten)."""

    name = "bi_oneclass"
    class_names = ("a", "b")
    default_targets = {"fullclass": ("a",)}

    def load(self, split: str) -> ImageTensors:
        data = synthetic_images(1, 16, seed=0)
        if split == "test":
            return ImageTensors(data.images[:4], torch.tensor([0, 0, 1, 1]))
        return data


class BiBadLabels(BiToy):
    """Labels up to 7 for four class names (a broken dataset plugin)."""

    name = "bi_badlabels"

    def load(self, split: str) -> ImageTensors:
        data = super().load(split)
        return data.with_labels(data.labels * 2 + 1)


class BiTiny(ModelSpec):
    """TinyNet, width 4, one epoch by default."""

    name = "bi_tiny"
    family = "tiny"
    default_recipe = tiny_recipe(epochs=1)

    class Config(ComponentConfig):
        width: int = 4

    def create(self, num_classes: int, in_channels: int, image_size: int) -> torch.nn.Module:
        return TinyNet(num_classes, in_channels, self.config.width)


class _NoLinear(torch.nn.Module):
    def __init__(self, num_classes: int, in_channels: int) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(in_channels, num_classes, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).mean(dim=(2, 3))


class BiNoLinear(ModelSpec):
    """A convolution and a global average: no linear head, so no penultimate features."""

    name = "bi_nolinear"
    family = "tiny"
    default_recipe = tiny_recipe(epochs=1)

    def create(self, num_classes: int, in_channels: int, image_size: int) -> torch.nn.Module:
        return _NoLinear(num_classes, in_channels)


class BiAscent(UnlearningMethod):
    """One pass of gradient ascent on the forget set."""

    name = "bi_ascent"

    def unlearn(self, model: Any, data: Any, fabric: Any) -> Any:
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        model, optimizer = fabric.setup(model, optimizer)
        for x, y in data.loader("forget"):
            loss = -F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            fabric.backward(loss)
            optimizer.step()
        return model


class BiAcc(Metric):
    """Accuracy (%) on the three test splits."""

    name = "bi_acc"

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        out = {}
        for split in ("test", "retain_test", "forget_test"):
            o = ctx.outputs("unlearned", split)
            out[split] = 100.0 * float((o.logits.argmax(1) == o.labels).double().mean())
        return out


class BiWantsGpu(Metric):
    """Declares a need the pipeline does not know."""

    name = "bi_wants_gpu"
    needs = frozenset({"gpu"})

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        return {"x": 0.0}


class BiFeatures(Metric):
    """Mean penultimate activation (needs features)."""

    name = "bi_features"
    needs = frozenset({"features"})

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        features = ctx.outputs("unlearned", "test", features=True).features
        return {"test": float(features.mean()) if features is not None else float("nan")}


@hookimpl
def supreme_register_datasets() -> list[type[DatasetSpec]]:
    return [BiToy, BiGappy, BiOneClass, BiBadLabels]


@hookimpl
def supreme_register_models() -> list[type[ModelSpec]]:
    return [BiTiny, BiNoLinear]


@hookimpl
def supreme_register_methods() -> list[type[UnlearningMethod]]:
    return [BiAscent]


@hookimpl
def supreme_register_metrics() -> list[type[Metric]]:
    return [BiAcc, BiWantsGpu, BiFeatures]
