"""Base class of datasets stored as one folder of images per class (Caltech-101, Pins)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from supreme.contracts import DatasetSpec

from supreme_vision.datasets._files import files_fingerprint, missing_error, resolve_root
from supreme_vision.datasets._folder import (
    FolderConfig,
    decode_images,
    list_classes,
    list_images,
    stratified_test_mask,
)

if TYPE_CHECKING:
    import numpy as np
    from supreme.contracts import ImageTensors
    from supreme.contracts.data import Split


class FolderDataset(DatasetSpec):
    """Class names come from the folders actually present (never a hard-coded table, §9-6)
    and the train/test split is a seeded stratified one (:class:`FolderConfig`)."""

    Config = FolderConfig
    #: Default directory under ``$SUPREME_DATA`` and the candidate locations of the class
    #: folders relative to the root, tried in order.
    subdir: ClassVar[str] = ""
    candidates: ClassVar[tuple[str, ...]] = ()
    #: Folders that are not classes.
    exclude: ClassVar[tuple[str, ...]] = ()
    layout: ClassVar[str] = ""

    @property
    def root(self) -> Path:
        return resolve_root(self.config.root, self.subdir)  # type: ignore[attr-defined]

    @property
    def image_size(self) -> int:  # type: ignore[override]
        return int(self.config.image_size)  # type: ignore[attr-defined]

    def how_to_get(self) -> str:
        """The hint of the missing-files error."""
        raise NotImplementedError

    def find_directory(self) -> Path:
        """The folder holding one sub-folder per class (downloading first when asked)."""
        found = self._existing_directory()
        if found is None and self.config.download:  # type: ignore[attr-defined]
            self.download()
            found = self._existing_directory()
        if found is None:
            raise missing_error(self.name, self.root / self.candidates[0], self.layout, self.how_to_get())
        return found

    def _existing_directory(self) -> Path | None:
        for candidate in self.candidates:
            path = self.root / candidate if candidate else self.root
            if path.is_dir() and list_classes(path, self.exclude):
                return path
        return None

    def download(self) -> None:
        """Fetch the files into :attr:`root` (datasets that cannot, say how to get them)."""
        raise missing_error(self.name, self.root / self.candidates[0], self.layout, self.how_to_get())

    @cached_property
    def folders(self) -> tuple[str, ...]:
        """Class folder names, sorted like torchvision's ``ImageFolder``."""
        return tuple(list_classes(self.find_directory(), self.exclude))

    @property
    def class_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(self.display_name(f) for f in self.folders)

    @staticmethod
    def display_name(folder: str) -> str:
        return folder

    @cached_property
    def files(self) -> tuple[tuple[Path, ...], np.ndarray]:
        """Every image file and its label, classes in folder order, files sorted."""
        import numpy as np

        directory = self.find_directory()
        paths: list[Path] = []
        labels: list[int] = []
        for label, folder in enumerate(self.folders):
            found = list_images(directory / folder)
            paths.extend(found)
            labels.extend([label] * len(found))
        return tuple(paths), np.asarray(labels, dtype=np.int64)

    def split_mask(self) -> np.ndarray:
        """True for test images (seeded, stratified per class)."""
        _, labels = self.files
        cfg = self.config
        return stratified_test_mask(labels, cfg.test_fraction, cfg.split_seed)  # type: ignore[attr-defined]

    def load(self, split: Split) -> ImageTensors:
        import numpy as np
        import torch
        from supreme.contracts import ImageTensors

        paths, labels = self.files
        test = self.split_mask()
        keep = np.flatnonzero(test if split == "test" else ~test)
        if not self.cached:
            # the fallback for folders too big to hold: per-sample PIL decoding, one batch
            # at a time, of the files named by their position in ``paths``
            from supreme.contracts import LazyImages

            size, channels = self.image_size, self.channels

            def decode(ids: list[int]) -> torch.Tensor:
                return decode_images([paths[i] for i in ids], size, channels)

            images = LazyImages(decode, torch.from_numpy(keep), (channels, size, size))
            return ImageTensors(images, torch.from_numpy(labels[keep]))
        images = decode_images([paths[i] for i in keep], self.image_size, self.channels)
        return ImageTensors(images, torch.from_numpy(labels[keep]))

    @property
    def cached(self) -> bool:
        return bool(self.config.cache)  # type: ignore[attr-defined]

    def fingerprint(self) -> str:
        paths, _ = self.files
        return f"{self.name}:{files_fingerprint(paths, self.root)}"
