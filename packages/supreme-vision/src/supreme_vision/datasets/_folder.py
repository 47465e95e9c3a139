"""Shared machinery of the image-folder datasets: listing, splitting, decoding."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field
from supreme.errors import DatasetError

from supreme_vision.datasets._files import RootConfig

if TYPE_CHECKING:
    import numpy as np
    import torch

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".ppm", ".tif", ".tiff", ".webp"})


class FolderConfig(RootConfig):
    """Location plus the seeded stratified split and the stored image size."""

    split_seed: int = Field(0, ge=0, description="seed of the stratified train/test split")
    test_fraction: float = Field(0.2, gt=0, lt=1, description="share of each class held out for test")
    image_size: int = Field(32, ge=8, le=512, description="side length images are resized to")
    cache: bool = Field(
        True,
        description="decode once into a uint8 tensor cache (false: decode per batch with PIL, "
        "for folders too big to hold in memory)",
    )


def list_classes(directory: Path, exclude: Sequence[str] = ()) -> list[str]:
    """Class folder names in ``directory``, sorted like torchvision's ``ImageFolder``."""
    return sorted(e.name for e in directory.iterdir() if e.is_dir() and e.name not in exclude)


def list_images(folder: Path) -> list[Path]:
    """Image files in ``folder``, in sorted (deterministic) order."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def stratified_test_mask(labels: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """Boolean test mask: a seeded ``test_fraction`` of each class (at least one when n_c > 1).

    Each class keeps ``floor((1 - test_fraction) * n_c)`` training images, as the reference's
    Caltech-101 split does (reference §2.1), but which images are held out is drawn from
    ``numpy.random.RandomState(seed)`` (whose stream NumPy keeps stable across versions)
    rather than taken from the end of the sorted file list.
    """
    import numpy as np

    rng = np.random.RandomState(seed)
    test = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        n_train = int(np.floor((1 - test_fraction) * len(members) + 1e-9))
        if len(members) > 1:
            n_train = min(n_train, len(members) - 1)
        chosen = members[rng.permutation(len(members))[n_train:]]
        test[chosen] = True
    return test


def decode_images(paths: Sequence[Path], size: int, channels: int = 3) -> torch.Tensor:
    """uint8 ``[N, channels, size, size]``: each file decoded, converted and resized whole.

    Greyscale files are converted to RGB (the reference's GrayscaleToRGB). Resizing the
    whole image (bilinear, antialiased) for training and test alike avoids the reference's
    train/test mismatch of cropping 32 px from 36 px images only in training (reference §9-15).
    Decoding runs in a thread pool: Pillow releases the GIL while decoding and resizing.
    """
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    import torch
    from PIL import Image

    mode = "RGB" if channels == 3 else "L"

    def one(path: Path) -> np.ndarray:
        try:
            with Image.open(path) as image:
                resized = image.convert(mode).resize((size, size), Image.Resampling.BILINEAR)
        except (OSError, ValueError) as exc:
            raise DatasetError(
                f"cannot decode image {path} ({exc})",
                "Delete or replace the damaged file and run again.",
            ) from exc
        array = np.array(resized, dtype=np.uint8)  # a writable copy
        return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)

    out = torch.empty((len(paths), channels, size, size), dtype=torch.uint8)
    with ThreadPoolExecutor(max_workers=4) as pool:
        for i, array in enumerate(pool.map(one, paths)):
            out[i] = torch.from_numpy(array)
    return out
