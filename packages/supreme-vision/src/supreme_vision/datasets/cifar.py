"""``cifar10``, ``cifar100`` and ``cifar20``: torchvision's CIFAR python-pickle format.

Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009. The official
50,000/10,000 train/test splits. ``cifar20`` is CIFAR-100 with its 20 coarse (super-)classes
as labels, keeping each image's fine label for the sub-class scenario.

Layout under ``root`` (torchvision's; default ``$SUPREME_DATA/cifar``)::

    cifar-10-batches-py/  data_batch_1 .. data_batch_5, test_batch, batches.meta
    cifar-100-python/     train, test, meta

The files are pickles, as distributed by the authors. Unlike torchvision we never let a
pickle import what it likes: :func:`read_pickle` unpickles with an allow-list holding only
what a CIFAR batch contains (NumPy arrays and dtypes besides plain containers), so a file
crafted to run code on load is refused with a :class:`~supreme.errors.DatasetError`.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from supreme.contracts import DatasetSpec
from supreme.errors import DatasetError

from supreme_vision.datasets import cifar_names as names
from supreme_vision.datasets._files import (
    RootConfig,
    download_failed,
    files_fingerprint,
    missing_error,
    resolve_root,
)

if TYPE_CHECKING:
    import numpy as np
    from supreme.contracts import ImageTensors
    from supreme.contracts.data import Split

RANDOM_FRACTIONS = ("0.001", "0.005", "0.01", "0.05", "0.1")
# Spec §2.1: mean/std of the training split (CIFAR-100 statistics are used for CIFAR-20).
CIFAR10_MEAN = (0.4913999140262604, 0.48215872049331665, 0.4465313255786896)
CIFAR10_STD = (0.24703191220760345, 0.243484228849411, 0.2615869343280792)
CIFAR100_MEAN = (0.5070753693580627, 0.4865487813949585, 0.44091784954071045)
CIFAR100_STD = (0.2673334777355194, 0.25643861293792725, 0.2761504352092743)


def _allowed_globals() -> dict[tuple[str, str], Any]:
    """The only globals a CIFAR pickle may name: how NumPy pickles an array."""
    import numpy as np

    try:
        from numpy._core import multiarray
    except ImportError:  # NumPy 1.x
        from numpy.core import multiarray  # type: ignore[no-redef]
    allowed: dict[tuple[str, str], Any] = {("numpy", "ndarray"): np.ndarray,
                                           ("numpy", "dtype"): np.dtype}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = multiarray._reconstruct
        allowed[(module, "scalar")] = multiarray.scalar
    # protocol 2 written by Python 3 stores bytes as _codecs.encode(text, "latin1")
    allowed[("_codecs", "encode")] = _latin1_encode
    return allowed


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"it encodes bytes with {encoding!r}, not latin1")
    return text.encode("latin1")


class _CifarUnpickler(pickle.Unpickler):
    """An unpickler that resolves no global outside :func:`_allowed_globals`."""

    allowed: dict[tuple[str, str], Any] = {}

    def find_class(self, module: str, name: str) -> Any:
        found = self.allowed.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"it names the global {module}.{name}, which a CIFAR "
                                         "batch never does")
        return found


def read_pickle(path: Path) -> dict[str, Any]:
    """One CIFAR batch file, with its (Python 2 byte-string) keys decoded.

    Unpickled with an allow-list (NumPy arrays only), so a malicious file cannot run code.
    """
    unpickler_error = (f"Replace {path.name} with the file from the official archive "
                       "(https://www.cs.toronto.edu/~kriz/cifar.html).")
    try:
        with path.open("rb") as handle:
            unpickler = _CifarUnpickler(handle, encoding="bytes")
            unpickler.allowed = _allowed_globals()
            raw = unpickler.load()
    except pickle.UnpicklingError as exc:
        raise DatasetError(f"{path} is refused: {exc} (nothing in it was run)",
                           unpickler_error) from exc
    except (OSError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, MemoryError) as exc:
        raise DatasetError(f"{path} is not a readable CIFAR batch ({type(exc).__name__}: {exc})",
                           unpickler_error) from exc
    if not isinstance(raw, dict):
        raise DatasetError(f"{path} is not a CIFAR batch (it holds a {type(raw).__name__}, "
                           "not a dictionary)", unpickler_error)
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in raw.items()}


def decode_names(values: list[Any]) -> tuple[str, ...]:
    return tuple(v.decode() if isinstance(v, bytes) else str(v) for v in values)


class _Cifar(DatasetSpec):
    """Shared reading, checking and downloading of the two CIFAR archives."""

    Config = RootConfig
    image_size = 32
    channels = 3
    #: Folder inside ``root``, the batch files per split, the meta file, the archive's URL,
    #: a title for messages and the torchvision class that downloads the archive.
    folder: ClassVar[str] = ""
    batches: ClassVar[dict[str, tuple[str, ...]]] = {}
    meta_file: ClassVar[str] = ""
    url: ClassVar[str] = ""
    title: ClassVar[str] = ""
    torchvision_class: ClassVar[str] = ""

    @property
    def root(self) -> Path:
        return resolve_root(self.config.root, "cifar")  # type: ignore[attr-defined]

    @property
    def directory(self) -> Path:
        return self.root / self.folder

    def _paths(self) -> list[Path]:
        files = [f for split in ("train", "test") for f in self.batches[split]]
        return [self.directory / f for f in (*files, self.meta_file)]

    def ensure_files(self) -> None:
        """Download when asked and absent; raise a :class:`DatasetError` when still absent."""
        missing = [p for p in self._paths() if not p.is_file()]
        if missing and self.config.download:  # type: ignore[attr-defined]
            self._download()
            missing = [p for p in self._paths() if not p.is_file()]
        if missing:
            raise missing_error(
                self.name,
                missing[0],
                f"{self.directory}/{{{', '.join(p.name for p in self._paths())}}}",
                f"Set download = true for this dataset to fetch it with torchvision, or "
                f"download {self.url} and extract it into {self.root}.",
            )

    def _download(self) -> None:
        import torchvision

        factory = getattr(torchvision.datasets, self.torchvision_class)
        try:
            factory(str(self.root), train=True, download=True)
        except Exception as exc:  # no network, bad checksum, full disk, ...
            raise download_failed(
                self.title,
                self.root,
                exc,
                f"download {self.url} elsewhere and extract it into {self.root} (giving {self.directory}).",
            ) from exc

    def read(self, split: Split) -> tuple[np.ndarray, dict[str, list[int]]]:
        """uint8 images [N, 3, 32, 32] and the label lists of ``split``'s batch files."""
        import numpy as np

        self.ensure_files()
        images: list[np.ndarray] = []
        labels: dict[str, list[int]] = {}
        for file in self.batches[split]:
            batch = read_pickle(self.directory / file)
            try:
                data = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            except (KeyError, ValueError) as exc:
                raise DatasetError(
                    f"{self.name}: {self.directory / file} is not a CIFAR batch ({exc})",
                    f"Replace it with the file from {self.url}.",
                ) from exc
            images.append(data)
            for key, value in batch.items():
                if key.endswith("labels"):
                    labels.setdefault(key, []).extend(int(v) for v in value)
        return np.concatenate(images), labels

    def check_meta(self, key: str, expected: tuple[str, ...]) -> None:
        meta = read_pickle(self.directory / self.meta_file)
        if key not in meta:
            raise DatasetError(
                f"{self.name}: {self.directory / self.meta_file} has no {key!r} entry",
                f"Replace the files in {self.directory} with the archive {self.url}.",
            )
        found = decode_names(meta[key])
        if found != expected:
            raise DatasetError(
                f"{self.name}: {self.directory / self.meta_file} lists {len(found)} {key} "
                f"that differ from the official ones (first: {found[:3]})",
                f"Replace the files in {self.directory} with the archive {self.url}.",
            )

    def fingerprint(self) -> str:
        present = [p for p in self._paths() if p.is_file()]
        return f"{self.name}:{files_fingerprint(present, self.root) if present else 'missing'}"

    @staticmethod
    def tensors(images: np.ndarray, labels: list[int], fine: list[int] | None = None) -> ImageTensors:
        import numpy as np
        import torch
        from supreme.contracts import ImageTensors

        fine_t = None if fine is None else torch.from_numpy(np.asarray(fine, dtype=np.int64))
        return ImageTensors(
            torch.from_numpy(np.ascontiguousarray(images)),
            torch.from_numpy(np.asarray(labels, dtype=np.int64)),
            fine_t,
        )


class _Cifar10Files(_Cifar):
    folder = "cifar-10-batches-py"
    batches: ClassVar = {
        "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
        "test": ("test_batch",),
    }
    meta_file = "batches.meta"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    title = "CIFAR-10"
    torchvision_class = "CIFAR10"


class _Cifar100Files(_Cifar):
    folder = "cifar-100-python"
    batches: ClassVar = {"train": ("train",), "test": ("test",)}
    meta_file = "meta"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    title = "CIFAR-100"
    torchvision_class = "CIFAR100"
    mean = CIFAR100_MEAN
    std = CIFAR100_STD


class Cifar10(_Cifar10Files):
    """CIFAR-10: 60,000 32x32 colour images in 10 classes (torchvision pickle format)."""

    name = "cifar10"
    class_names = names.CIFAR10_CLASSES
    mean = CIFAR10_MEAN
    std = CIFAR10_STD
    default_targets: ClassVar = {"random": RANDOM_FRACTIONS}
    recipes: ClassVar = {"resnet": {"epochs": 20, "milestones": (8, 12, 16)}, "vit": {"epochs": 8}}

    def load(self, split: Split) -> ImageTensors:
        images, labels = self.read(split)
        self.check_meta("label_names", self.class_names)
        return self.tensors(images, labels["labels"])


class Cifar100(_Cifar100Files):
    """CIFAR-100: 60,000 32x32 colour images in 100 fine classes (torchvision pickle format)."""

    name = "cifar100"
    class_names = names.CIFAR100_FINE
    default_targets: ClassVar = {"fullclass": ("rocket", "mushroom", "baby", "lamp", "sea")}
    recipes: ClassVar = {
        "resnet": {"epochs": 200, "milestones": (60, 120, 160)},
        "vit": {"epochs": 8},
    }

    def load(self, split: Split) -> ImageTensors:
        images, labels = self.read(split)
        self.check_meta("fine_label_names", self.class_names)
        return self.tensors(images, labels["fine_labels"])


class Cifar20(_Cifar100Files):
    """CIFAR-20: CIFAR-100 images with the 20 coarse labels (fine labels kept for sub-class)."""

    name = "cifar20"
    class_names = names.CIFAR100_COARSE
    fine_class_names = names.CIFAR100_FINE
    coarse_of_fine = names.COARSE_OF_FINE
    # The reference's five superclass targets (vehicle2, veg, people, electrical_devices,
    # natural_scenes; reference §2.3), under their official CIFAR-100 names.
    default_targets: ClassVar = {
        "fullclass": (
            "vehicles_2",
            "fruit_and_vegetables",
            "people",
            "household_electrical_devices",
            "large_natural_outdoor_scenes",
        ),
        "subclass": ("rocket", "mushroom", "baby", "lamp", "sea"),
    }
    recipes: ClassVar = {"resnet": {"epochs": 40, "milestones": (15, 30, 35)}, "vit": {"epochs": 9}}

    def load(self, split: Split) -> ImageTensors:
        import numpy as np

        images, labels = self.read(split)
        self.check_meta("fine_label_names", names.CIFAR100_FINE)
        self.check_meta("coarse_label_names", self.class_names)
        fine, coarse = labels["fine_labels"], labels["coarse_labels"]
        mapped = np.asarray(names.COARSE_OF_FINE)[np.asarray(fine, dtype=np.int64)]
        if not np.array_equal(mapped, np.asarray(coarse)):
            raise DatasetError(
                f"cifar20: coarse labels in {self.directory} disagree with the official CIFAR-100 coarse map",
                f"Replace the files with the archive {self.url}.",
            )
        return self.tensors(images, coarse, fine)
