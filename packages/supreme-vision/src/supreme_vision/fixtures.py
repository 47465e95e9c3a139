"""Small datasets written in the exact on-disk formats the loaders read, for tests and benchmarks.

Every writer produces learnable images (each class has its own colour and stripe, plus
noise) from a seed, so tests, benchmarks and end-to-end runs can drive the real loaders
without any download::

    from supreme_vision.fixtures import write_cifar100
    write_cifar100(tmp_path, train_per_fine=5, test_per_fine=2)
    Cifar20(Cifar20.Config(root=tmp_path)).load("train")
"""

from __future__ import annotations

import pickle
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supreme_vision.datasets import cifar_names as names

if TYPE_CHECKING:
    import numpy as np

#: Identities of the Pins fixture: the five default targets, the reference's id 0, and a
#: lower-case folder (Kaggle has some) that ``ImageFolder`` sorts after the capitalised ones.
PINS_FOLDERS = (
    "pins_Adriana Lima",
    "pins_Alex Lawther",
    "pins_Bill Gates",
    "pins_Danielle Panabaker",
    "pins_Hugh Jackman",
    "pins_Josh Radnor",
    "pins_alycia dabnem carey",
)
#: Categories of the Caltech-101 fixture (the five default targets and three others),
#: plus the ``BACKGROUND_Google`` folder that is not a class.
CALTECH_FOLDERS = (
    "BACKGROUND_Google",
    "Faces",
    "Leopards",
    "airplanes",
    "car_side",
    "chair",
    "elephant",
    "lamp",
    "zebra",
)


def class_images(labels: np.ndarray, size: int, seed: int, channels: int = 3) -> np.ndarray:
    """uint8 ``[N, channels, size, size]``: class colour + class stripe + noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = len(labels)
    palette = np.random.default_rng(12345).integers(30, 226, size=(int(labels.max()) + 1, channels))
    images = rng.integers(0, 40, size=(n, channels, size, size)).astype(np.int64)
    images += palette[labels][:, :, None, None]
    rows = (labels * 7) % size
    images[np.arange(n), :, rows, :] = 255
    return images.clip(0, 255).astype(np.uint8)


class _Py2Str(bytes):
    """A byte string that pickles as a Python 2 ``str`` (as in the authors' files)."""


# The pure-Python pickler lets a subclass add an opcode writer for one type.
_PurePickler: Any = getattr(pickle, "_Pickler")  # noqa: B009 - private, untyped


class _Py2Pickler(_PurePickler):
    dispatch = _PurePickler.dispatch.copy()

    def save_py2str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + bytes(obj))
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + bytes(obj))
        self.memoize(obj)

    dispatch[_Py2Str] = save_py2str


def _dump(path: Path, payload: dict) -> None:
    """Pickle like the CIFAR authors' Python 2 files: protocol 2, keys and names as ``str``.

    Python 3 then reads keys as ``str`` with ``encoding="latin1"`` (torchvision) and as
    ``bytes`` with ``encoding="bytes"``, exactly as with the real files.
    """

    def py2(value: object) -> object:
        if isinstance(value, str):
            return _Py2Str(value.encode("latin1"))
        if isinstance(value, list) and value and isinstance(value[0], str):
            return [py2(v) for v in value]
        return value

    with path.open("wb") as handle:
        _Py2Pickler(handle, protocol=2).dump({py2(k): py2(v) for k, v in payload.items()})


def write_cifar10(root: Path, train_per_class: int = 10, test_per_class: int = 4, seed: int = 0) -> Path:
    """``root/cifar-10-batches-py`` with five training batches, a test batch and the meta file."""
    import numpy as np

    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    train = rng.permutation(np.repeat(np.arange(10), train_per_class))
    test = rng.permutation(np.repeat(np.arange(10), test_per_class))
    parts = np.array_split(np.arange(len(train)), 5)
    images = class_images(train, 32, seed + 1)
    for i, part in enumerate(parts, start=1):
        _dump(
            folder / f"data_batch_{i}",
            {
                "batch_label": f"training batch {i} of 5",
                "labels": train[part].tolist(),
                "data": images[part].reshape(len(part), -1),
                "filenames": [f"train_{j}.png" for j in part],
            },
        )
    _dump(
        folder / "test_batch",
        {
            "batch_label": "testing batch 1 of 1",
            "labels": test.tolist(),
            "data": class_images(test, 32, seed + 2).reshape(len(test), -1),
            "filenames": [f"test_{j}.png" for j in range(len(test))],
        },
    )
    _dump(
        folder / "batches.meta",
        {
            "label_names": list(names.CIFAR10_CLASSES),
            "num_cases_per_batch": len(parts[0]),
            "num_vis": 3072,
        },
    )
    return folder


def write_cifar100(root: Path, train_per_fine: int = 3, test_per_fine: int = 1, seed: int = 0) -> Path:
    """``root/cifar-100-python`` with ``train``, ``test`` and ``meta`` (fine and coarse labels)."""
    import numpy as np

    folder = Path(root) / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    coarse_of = np.asarray(names.COARSE_OF_FINE)
    for split, per, offset in (("train", train_per_fine, 1), ("test", test_per_fine, 2)):
        fine = rng.permutation(np.repeat(np.arange(100), per))
        _dump(
            folder / split,
            {
                "filenames": [f"{split}_{j}.png" for j in range(len(fine))],
                "batch_label": f"{split}ing batch 1 of 1",
                "fine_labels": fine.tolist(),
                "coarse_labels": coarse_of[fine].tolist(),
                "data": class_images(fine, 32, seed + offset).reshape(len(fine), -1),
            },
        )
    _dump(
        folder / "meta",
        {
            "fine_label_names": list(names.CIFAR100_FINE),
            "coarse_label_names": list(names.CIFAR100_COARSE),
        },
    )
    return folder


def write_image_folder(
    directory: Path,
    folders: Sequence[str],
    per_class: int,
    seed: int = 0,
    sizes: Sequence[tuple[int, int]] = ((48, 40), (30, 36), (64, 64)),
    grey_every: int = 0,
) -> Path:
    """One sub-folder of JPEG files per class, of varying sizes (some greyscale)."""
    import numpy as np
    from PIL import Image

    directory = Path(directory)
    for label, folder in enumerate(folders):
        (directory / folder).mkdir(parents=True, exist_ok=True)
        labels = np.full(per_class, label)
        images = class_images(labels, 64, seed + label)
        for j in range(per_class):
            w, h = sizes[j % len(sizes)]
            picture = Image.fromarray(images[j].transpose(1, 2, 0)).resize((w, h))
            if grey_every and j % grey_every == grey_every - 1:
                picture = picture.convert("L")
            picture.save(directory / folder / f"image_{j + 1:04d}.jpg", quality=90)
    return directory


def write_caltech101(root: Path, per_class: int = 6, seed: int = 0) -> Path:
    """``root/caltech101/101_ObjectCategories`` with :data:`CALTECH_FOLDERS` (1 in 3 grey)."""
    return write_image_folder(
        Path(root) / "caltech101" / "101_ObjectCategories",
        CALTECH_FOLDERS,
        per_class,
        seed,
        grey_every=3,
    )


def write_pins(root: Path, per_class: int = 5, seed: int = 0) -> Path:
    """``root/105_classes_pins_dataset`` with :data:`PINS_FOLDERS`."""
    return write_image_folder(
        Path(root) / "105_classes_pins_dataset",
        PINS_FOLDERS,
        per_class,
        seed,
        sizes=((60, 60), (45, 50)),
    )
