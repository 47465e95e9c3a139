"""``caltech101``: Caltech-101 in torchvision's ``101_ObjectCategories`` layout.

Fei-Fei, Fergus & Perona, "Learning generative visual models from few training examples",
CVPR Workshop 2004. 101 object categories (``BACKGROUND_Google`` is not a class, as in
torchvision), 31-800 images each, of varying size; greyscale images become RGB.

Differences from the reference (reference §2.1, §9-6): class ids follow the category folders
actually present (the reference's table assumes a 102nd folder and shifts 4 of its 5
default targets); the stratified 80/20 split is seeded instead of "first 80% of the sorted
files"; images are resized whole to ``image_size`` (default 32) for training and test alike.
"""

from __future__ import annotations

from typing import ClassVar

from supreme_vision.datasets._files import download_failed
from supreme_vision.datasets.cifar import RANDOM_FRACTIONS
from supreme_vision.datasets.folder_dataset import FolderDataset

URL = "https://data.caltech.edu/records/mzrjq-6wc02"


class Caltech101(FolderDataset):
    """Caltech-101 object categories (101 classes, torchvision layout, seeded 80/20 split)."""

    name = "caltech101"
    subdir = ""
    candidates = ("caltech101/101_ObjectCategories", "101_ObjectCategories")
    exclude = ("BACKGROUND_Google",)
    layout = "<root>/caltech101/101_ObjectCategories/<category>/image_NNNN.jpg"
    channels = 3
    # Spec §2.1 (computed by the reference over all images resized to 36x36).
    mean = (0.5458726286888123, 0.5287854075431824, 0.5021448731422424)
    std = (0.2954096496105194, 0.2890913784503937, 0.3031054437160492)
    default_targets: ClassVar = {
        "fullclass": ("airplanes", "car_side", "chair", "elephant", "lamp"),
        "random": RANDOM_FRACTIONS,
    }
    recipes: ClassVar = {
        "resnet": {"epochs": 100, "milestones": (30, 60, 80)},
        "vit": {"epochs": 8},
    }

    def how_to_get(self) -> str:
        return (
            f"Set download = true to fetch it with torchvision, or download "
            f"101_ObjectCategories.tar.gz from {URL} and extract it into "
            f"{self.root / 'caltech101'}."
        )

    def download(self) -> None:
        import torchvision

        try:
            torchvision.datasets.Caltech101(str(self.root), target_type="category", download=True)
        except Exception as exc:  # no network, missing gdown, bad checksum, ...
            raise download_failed(
                self.name,
                self.root,
                exc,
                f"download 101_ObjectCategories.tar.gz from {URL} and extract it into "
                f"{self.root / 'caltech101'} (giving {self.root / self.candidates[0]}).",
            ) from exc
