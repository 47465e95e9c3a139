"""Shared machinery of the image-folder datasets: listing, splitting, decoding."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field
from supreme.errors import DatasetError

from supreme_vision.datasets._files import RootConfig

if TYPE_CHECKING:
    import numpy as np
    import torch

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".ppm", ".tif", ".tiff", ".webp"})
#: Pillow modes :func:`decode_images` turns into 8-bit RGB or greyscale.
SUPPORTED_MODES = frozenset({
    "1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "HSV",
    "I", "I;16", "I;16B", "I;16L", "I;16N", "F",
})
#: 16- and 32-bit integer modes (scaled to 8 bits rather than clipped at 255).
WIDE_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})


class FolderConfig(RootConfig):
    """Location plus the seeded stratified split and the stored image size."""

    split_seed: int = Field(0, ge=0, le=2**32 - 1, description="seed of the stratified train/test split")
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
    """Image files in ``folder``, in sorted (deterministic) order.

    Files are recognised by their suffix (:data:`IMAGE_SUFFIXES`, as torchvision's
    ``ImageFolder`` does); hidden files (``.DS_Store``, ``._x.jpg`` from macOS) and files
    with other suffixes are ignored.
    """
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES)


def n_train_of(n: int, test_fraction: float) -> int:
    """How many of a class's ``n`` images :func:`stratified_test_mask` keeps for training."""
    import math

    n_train = math.floor((1 - test_fraction) * n + 1e-9)
    return min(n_train, n - 1) if n > 1 else n_train


def image_problem(path: Path) -> str | None:
    """Why ``path`` cannot be decoded (read from its header only), or ``None`` when it can."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            mode, (width, height) = image.mode, image.size
    except Image.DecompressionBombError as exc:
        return f"refused as a decompression bomb ({exc})"
    except Exception as exc:  # UnidentifiedImageError, OSError, SyntaxError from plugins
        return f"not a readable image ({type(exc).__name__}: {exc})"
    if mode not in SUPPORTED_MODES:
        return f"unsupported image mode {mode!r}"
    if width < 1 or height < 1:
        return f"empty image ({width}x{height})"
    return None


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
                resized = to_mode(image, mode).resize((size, size), Image.Resampling.BILINEAR)
        except Image.DecompressionBombError as exc:
            raise DatasetError(
                f"image {path} is refused as a decompression bomb ({exc})",
                "Delete or replace it (Pillow's MAX_IMAGE_PIXELS limit protects the decoder).",
            ) from exc
        except (OSError, ValueError, SyntaxError) as exc:
            raise DatasetError(
                f"cannot decode image {path} ({type(exc).__name__}: {exc})",
                "Delete or replace the damaged file and run again.",
            ) from exc
        array = np.array(resized, dtype=np.uint8)  # a writable copy
        return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)

    out = torch.empty((len(paths), channels, size, size), dtype=torch.uint8)
    with ThreadPoolExecutor(max_workers=4) as pool:
        for i, array in enumerate(pool.map(one, paths)):
            out[i] = torch.from_numpy(array)
    return out


def to_mode(image: Any, mode: str) -> Any:
    """``image`` converted to 8-bit ``mode`` ("RGB" or "L").

    Pillow clips 16-bit and float images at 255 when converting (a 16-bit greyscale PNG
    comes out almost white, a float image in [0, 1] black): those are scaled to 8 bits
    first. Every other mode in :data:`SUPPORTED_MODES` converts directly (alpha is dropped,
    palettes are expanded, CMYK/YCbCr/HSV become RGB).
    """
    import numpy as np
    from PIL import Image

    if image.mode in WIDE_MODES or image.mode == "F":
        values = np.nan_to_num(np.asarray(image, dtype=np.float64))
        peak = float(values.max()) if values.size else 0.0
        if image.mode == "F":
            scale = 255.0 if peak <= 1.0 else 1.0
        else:
            scale = 1 / 257 if image.mode != "I" or peak > 255 else 1.0
        grey = np.clip(np.rint(values * scale), 0, 255).astype(np.uint8)
        image = Image.fromarray(grey, "L")
    return image.convert(mode)
