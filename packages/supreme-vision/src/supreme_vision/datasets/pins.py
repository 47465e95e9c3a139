"""``pins``: Pins Face Recognition, 105 celebrities' face crops (manual download).

Kaggle dataset ``hereisburak/pins-face-recognition`` (17,534 images): folder
``105_classes_pins_dataset`` with one folder ``pins_<Name>`` per identity. Kaggle needs an
account, so SUPREME never downloads it.

Class ids are the ``ImageFolder`` order of the folder names (so reference target "1" is id
1); class names are the folder names without ``pins_``, lower-cased, spaces as underscores
(``pins_Alex Lawther`` -> ``alex_lawther``).

Difference from the reference (reference §9-1): the reference trains and tests on the same
images; we hold out a seeded stratified 20% of every identity as the test set.
"""

from __future__ import annotations

from typing import ClassVar

from supreme_vision.datasets.cifar import RANDOM_FRACTIONS
from supreme_vision.datasets.folder_dataset import FolderDataset

URL = "https://www.kaggle.com/datasets/hereisburak/pins-face-recognition"
FOLDER = "105_classes_pins_dataset"


class Pins(FolderDataset):
    """Pins Face Recognition (105 identities; download by hand from Kaggle; seeded 80/20 split)."""

    name = "pins"
    subdir = "pins"
    candidates = (FOLDER, "")
    layout = f"<root>/{FOLDER}/pins_<Name>/<image>.jpg"
    channels = 3
    # Spec §2.1 (computed by the reference over all images resized to 36x36).
    mean = (0.516226053237915, 0.4191001355648041, 0.37332481145858765)
    std = (0.2862764596939087, 0.2552863657474518, 0.2460651993751526)
    # The reference's ids 1, 10, 20, 30, 40 (reference §2.3), by name.
    default_targets: ClassVar = {
        "fullclass": (
            "alex_lawther",
            "bill_gates",
            "danielle_panabaker",
            "hugh_jackman",
            "josh_radnor",
        ),
        "random": RANDOM_FRACTIONS,
    }
    recipes: ClassVar = {
        "resnet": {"epochs": 200, "milestones": (60, 120, 160)},
        "vit": {"epochs": 8},
    }

    @staticmethod
    def display_name(folder: str) -> str:
        name = folder[5:] if folder.lower().startswith("pins_") else folder
        return "_".join(name.lower().split())

    def how_to_get(self) -> str:
        return (
            f"Pins must be downloaded by hand: get the archive from {URL} (or "
            "`kaggle datasets download -d hereisburak/pins-face-recognition`), unzip it and "
            f"place the folder {FOLDER} inside {self.root}."
        )
