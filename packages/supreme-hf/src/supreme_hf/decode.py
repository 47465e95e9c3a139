"""Images of an Arrow ``Image`` column decoded with Pillow into uint8 ``[N, C, S, S]``."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from supreme.errors import DatasetError

if TYPE_CHECKING:
    import numpy as np
    import torch

#: 16- and 32-bit integer modes, scaled to 8 bits rather than clipped at 255
WIDE_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
#: modes of one channel (the others become RGB when ``channels`` is not set)
GREY_MODES = frozenset({"1", "L", "LA", "La", "F", *WIDE_MODES})
#: rows decoded per batch (the Arrow column is read a batch at a time)
BATCH = 512


def open_image(cell: dict[str, Any]) -> Any:
    """The PIL image of one cell of an undecoded ``Image`` column (``bytes`` or ``path``)."""
    from PIL import Image

    data, path = cell.get("bytes"), cell.get("path")
    if data is not None:
        return Image.open(io.BytesIO(data))
    if path:
        return Image.open(path)
    raise ValueError("the cell holds neither image bytes nor a path")


def channels_of(mode: str) -> int:
    """1 for a greyscale Pillow mode, 3 otherwise."""
    return 1 if mode in GREY_MODES else 3


def to_array(image: Any, channels: int, size: int | None) -> np.ndarray:
    """One image as uint8 ``[C, H, W]``: converted to ``L`` or ``RGB`` (16-bit and float
    images scaled, not clipped; alpha dropped; palettes expanded) and, when ``size`` is given
    and differs, resized whole (bilinear, antialiased)."""
    import numpy as np
    from PIL import Image

    if image.mode in WIDE_MODES or image.mode == "F":
        values = np.nan_to_num(np.asarray(image, dtype=np.float64))
        peak = float(values.max()) if values.size else 0.0
        if image.mode == "F":
            scale = 255.0 if peak <= 1.0 else 1.0
        else:
            scale = 1 / 257 if image.mode != "I" or peak > 255 else 1.0
        image = Image.fromarray(np.clip(np.rint(values * scale), 0, 255).astype(np.uint8), "L")
    image = image.convert("L" if channels == 1 else "RGB")
    if size is not None and image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    array = np.array(image, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def decode_column(ds: Any, column: str, channels: int, side: int, resize: bool,
                  where: Callable[[int], str]) -> torch.Tensor:
    """Every image of ``column`` of the Arrow dataset ``ds``, in row order, as uint8
    ``[N, channels, side, side]``.

    With ``resize`` every image is resized whole to ``side``; without, every image must
    already be ``side`` x ``side``. ``where(i)`` names row ``i`` in errors. Decoding runs in
    a thread pool: Pillow releases the GIL while it decodes and resizes.
    """
    from concurrent.futures import ThreadPoolExecutor

    import datasets
    import torch

    raw = ds.select_columns([column]).cast_column(column, datasets.Image(decode=False))
    out = torch.empty((len(raw), channels, side, side), dtype=torch.uint8)

    def one(i: int, cell: dict[str, Any]) -> np.ndarray:
        try:
            with open_image(cell) as image:
                return to_array(image, channels, side if resize else None)
        except (OSError, ValueError, SyntaxError) as exc:  # Image.DecompressionBombError is one
            raise DatasetError(
                f"{where(i)}: cannot decode the image ({type(exc).__name__}: {exc})",
                "Replace or remove that row: every row needs a readable image.",
            ) from exc

    with ThreadPoolExecutor(max_workers=4) as pool:
        for start in range(0, len(raw), BATCH):
            cells = raw[start:start + BATCH][column]
            arrays = pool.map(one, range(start, start + len(cells)), cells)
            for i, array in enumerate(arrays, start=start):
                if array.shape[1:] != (side, side):
                    h, w = array.shape[1:]
                    raise DatasetError(
                        f"{where(i)}: the image is {w}x{h}, the first training image "
                        f"{side}x{side}",
                        f"Set the dataset's image_size (e.g. image_size = {side}) to resize "
                        "every image to one size.",
                    )
                out[i] = torch.from_numpy(array)
    return out
