"""Small datasets in each local format the ``hf:*`` datasets read, for tests and examples.

:func:`digits_like` makes 8x8 grey images of ten classes with NumPy (a stripe texture
per class plus noise, deterministic); the writers store the same images with the datasets library itself
as ``save_to_disk``, Parquet files and an ``imagefolder`` tree. Every writer keeps the
images in class order (class 0 first, each class in generation order), which is also the
order in which the datasets library lists an image folder, so every format yields the
same rows in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CLASSES = tuple(str(d) for d in range(10))


@dataclass(frozen=True)
class Images:
    """uint8 images ``[N, H, W]`` (grey) or ``[N, H, W, 3]`` and int64 labels ``[N]``."""

    images: np.ndarray
    labels: np.ndarray
    fine: np.ndarray | None = None


def digits_like(train_per_class: int = 30, test_per_class: int = 8, size: int = 8,
                seed: int = 0) -> dict[str, Images]:
    """``{"train": ..., "test": ...}``: ten classes of ``size`` x ``size`` grey images in
    class order. Class ``c`` is a stripe texture of period ``2 + c // 2``, horizontal for
    even ``c`` and vertical for odd ``c``, at a random phase, plus noise: a small
    convolutional network learns it in a few epochs."""
    rng = np.random.RandomState(seed)
    coords = np.arange(size)
    out = {}
    for split, per_class in (("train", train_per_class), ("test", test_per_class)):
        labels = np.repeat(np.arange(len(CLASSES), dtype=np.int64), per_class)
        period = (2 + labels // 2)[:, None]
        phase = rng.randint(0, 8, (len(labels), 1))
        on = (coords[None, :] + phase) % period == 0  # [N, size]: which rows (or columns)
        stripes = np.where((labels % 2 == 0)[:, None, None], on[:, :, None], on[:, None, :])
        noise = rng.randint(0, 70, (len(labels), size, size))
        images = np.clip(noise + 170 * stripes, 0, 255).astype(np.uint8)
        out[split] = Images(images, labels)
    return out


def with_fine_labels(data: dict[str, Images], fine_per_class: int = 2) -> dict[str, Images]:
    """The same images with fine classes: ``fine = 2 * label + (position in class) % 2``
    (coarse class ``c`` holds fine classes ``2c`` and ``2c + 1``)."""
    out = {}
    for split, part in data.items():
        position = np.zeros(len(part.labels), dtype=np.int64)
        for c in np.unique(part.labels):
            members = np.flatnonzero(part.labels == c)
            position[members] = np.arange(len(members))
        fine = part.labels * fine_per_class + position % fine_per_class
        out[split] = Images(part.images, part.labels, fine)
    return out


def to_datasets(data: dict[str, Images], class_names: tuple[str, ...] = CLASSES,
                fine_names: tuple[str, ...] | None = None) -> Any:
    """A ``datasets.DatasetDict`` with columns ``image``, ``label`` (and ``fine_label``)."""
    import datasets
    from PIL import Image

    features = {"image": datasets.Image(), "label": datasets.ClassLabel(names=list(class_names))}
    if fine_names is not None:
        features["fine_label"] = datasets.ClassLabel(names=list(fine_names))
    splits = {}
    for split, part in data.items():
        columns: dict[str, list[Any]] = {
            "image": [Image.fromarray(a) for a in part.images],
            "label": part.labels.tolist(),
        }
        if fine_names is not None and part.fine is not None:
            columns["fine_label"] = part.fine.tolist()
        splits[split] = datasets.Dataset.from_dict(columns,
                                                   features=datasets.Features(features))
    return datasets.DatasetDict(splits)


def write_save_to_disk(root: Path, data: dict[str, Images], **kwargs: Any) -> Path:
    """``data`` written with ``DatasetDict.save_to_disk`` into ``root``."""
    to_datasets(data, **kwargs).save_to_disk(str(root))
    return root


def write_parquet(root: Path, data: dict[str, Images], **kwargs: Any) -> Path:
    """``data`` as Parquet files ``root/data/<split>-00000-of-00001.parquet`` (the Hub's
    layout; the datasets library infers the splits from the names)."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    for split, ds in to_datasets(data, **kwargs).items():
        ds.to_parquet(str(root / "data" / f"{split}-00000-of-00001.parquet"))
    return root


def write_imagefolder(root: Path, data: dict[str, Images],
                      class_names: tuple[str, ...] = CLASSES) -> Path:
    """``data`` as PNG files ``root/<split>/<class name>/<index>.png``."""
    from PIL import Image

    for split, part in data.items():
        for i, (image, label) in enumerate(zip(part.images, part.labels, strict=True)):
            folder = root / split / class_names[int(label)]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{i:05d}.png")
    return root
