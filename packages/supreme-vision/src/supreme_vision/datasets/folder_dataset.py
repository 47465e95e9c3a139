"""Base class of datasets stored as one folder of images per class (Caltech-101, Pins)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from supreme.contracts import DatasetSpec
from supreme.errors import DatasetError

from supreme_vision.datasets._files import files_fingerprint, missing_error, resolve_root
from supreme_vision.datasets._folder import (
    IMAGE_SUFFIXES,
    FolderConfig,
    decode_images,
    image_problem,
    list_classes,
    list_images,
    n_train_of,
    stratified_test_mask,
)

if TYPE_CHECKING:
    import numpy as np
    import torch
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
            self._explain_missing()
            raise missing_error(self.name, self.root / self.candidates[0], self.layout, self.how_to_get())
        return found

    def _explain_missing(self) -> None:
        """A more precise error when the root exists but holds no class folders."""
        root = self.root
        if root.exists() and not root.is_dir():
            raise DatasetError(
                f"{self.name}: root {root} is a file, not a folder of class folders "
                f"(expected layout: {self.layout})",
                "Extract the archive and point the dataset's `root` option at the folder.",
            )
        if root.is_dir() and not any(
            (root / c).is_dir() and list_classes(root / c, self.exclude)
            for c in self.candidates if c
        ) and list_images(root):
            raise DatasetError(
                f"{self.name}: {root} holds images but no class folders "
                f"(expected layout: {self.layout})",
                "Put the images of each class in a folder of its own (the folder name is the "
                "class name).",
            )

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

    def split_labels(self, split: Split) -> tuple[torch.Tensor, None]:
        """The labels of ``split`` without decoding any image (for checks before compute)."""
        import torch

        _, labels = self.files
        test = self.split_mask()
        return torch.from_numpy(labels[test if split == "test" else ~test]), None

    def check_files(self) -> None:
        """Raise :class:`DatasetError` for a folder that cannot give a sound dataset.

        Called before anything is computed: class folders without images (or with only
        files that are not images), classes too small for the train/test split, and image
        files that are not readable images (checked from their headers; a file damaged
        further in is reported when it is decoded). Images of any size and of the usual
        modes are fine: they are converted and resized whole.
        """
        directory = self.find_directory()
        cfg = self.config
        empty, small = [], []
        for folder in self.folders:
            found = list_images(directory / folder)
            if not found:
                others = sum(1 for p in (directory / folder).iterdir() if p.is_file())
                empty.append(f"{folder!r}" + (f" ({others} file(s) that are not images)"
                                              if others else ""))
                continue
            n_train = n_train_of(len(found), cfg.test_fraction)  # type: ignore[attr-defined]
            if n_train < 1 or n_train == len(found):
                small.append(f"{folder!r} ({len(found)} image(s))")
        if empty:
            raise DatasetError(
                f"{self.name}: {len(empty)} class folder(s) in {directory} hold no images: "
                + ", ".join(empty[:5]) + (" ..." if len(empty) > 5 else ""),
                "Add images (" + ", ".join(sorted(IMAGE_SUFFIXES)) + ") or delete the empty "
                "folders: a class without images can be neither learnt nor forgotten.",
            )
        if small:
            raise DatasetError(
                f"{self.name}: {len(small)} class(es) in {directory} are too small for a train/"
                f"test split with test_fraction = {cfg.test_fraction}: "  # type: ignore[attr-defined]
                + ", ".join(small[:5]) + (" ..." if len(small) > 5 else ""),
                "Add images to them (at least 2 each), delete those folders, or change the "
                "dataset's test_fraction.",
            )
        paths, _ = self.files
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=4) as pool:
            bad = [(p, why) for p, why in zip(paths, pool.map(image_problem, paths), strict=True)
                   if why is not None]
        if bad:
            path, why = bad[0]
            raise DatasetError(
                f"{self.name}: {len(bad)} file(s) in {directory} cannot be used as images; "
                f"first: {path}: {why}",
                "Delete or replace them: every file with an image suffix must be an image "
                "(other files are ignored).",
            )

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

            lazy = LazyImages(decode, torch.from_numpy(keep), (channels, size, size))
            return ImageTensors(lazy, torch.from_numpy(labels[keep]))
        images = decode_images([paths[i] for i in keep], self.image_size, self.channels)
        return ImageTensors(images, torch.from_numpy(labels[keep]))

    @property
    def cached(self) -> bool:
        return bool(self.config.cache)  # type: ignore[attr-defined]

    def fingerprint(self) -> str:
        paths, _ = self.files
        return f"{self.name}:{files_fingerprint(paths, self.root)}"
