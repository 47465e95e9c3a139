"""``hf:ORG/NAME``: an image-classification dataset read with the datasets library.

The family class :class:`HfDataset` claims every name ``hf:REST`` (``prefix = "hf"``); the
registry asks it for one class per name (:meth:`HfDataset.member`), configured by that
name's ``[dataset."hf:ORG/NAME"]`` table (:class:`~supreme_hf.config.HfConfig`).

Classes, labels and images come from the data:

* the label column is a ``ClassLabel`` (ids and names as declared), or integers or strings
  (their sorted distinct values are the classes, in that order, and the names are their
  text); ``class_names`` renames classes (the names are what forget targets say);
* with ``fine_label_column``, the label column is the coarse class the model learns and
  the fine column gives each image's fine class, which must lie within one coarse class
  (the sub-class scenario forgets one fine class);
* images are decoded once with Pillow into uint8 ``[N, C, S, S]`` (the pipeline keeps them
  in its store), converted to grey or RGB and, with ``image_size``, resized whole;
* the normalisation statistics, unless given, are computed from the decoded training
  images and remembered beside the datasets cache, keyed by the data's fingerprint, so a
  process that finds the images in the store does not decode them again.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supreme.contracts import DatasetSpec
from supreme.errors import ConfigError, DatasetError, UnknownComponentError

from supreme_hf.config import HfConfig
from supreme_hf.decode import channels_of, decode_column, open_image
from supreme_hf.source import Source, open_source, table, unknown_column

if TYPE_CHECKING:
    import numpy as np
    import torch
    from supreme.contracts import ImageTensors
    from supreme.contracts.data import Split

#: ``REST`` of ``hf:REST``: a Hub repository id (``ORG/NAME`` or ``NAME``), or any such
#: label for a local ``path``
REST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
#: the version of what :meth:`HfDataset.fingerprint` and the statistics cache hold
FORMAT = "supreme-hf-1"


@dataclass(frozen=True)
class Labels:
    """The classes of a label column and each split's label ids."""

    names: tuple[str, ...]
    ids: Mapping[str, np.ndarray]  # split ("train" / "test") -> int64 ids


class HfDataset(DatasetSpec[HfConfig]):
    """Any image-classification dataset of the Hugging Face Hub, or a local save_to_disk,
    Parquet or imagefolder directory, named hf:ORG/NAME (docs/datasets.md)."""

    name = "hf"
    prefix = "hf"

    @classmethod
    def member(cls, name: str) -> type[DatasetSpec[Any]]:
        rest = name.partition(":")[2]
        if not REST.match(rest):
            raise UnknownComponentError(
                f"dataset name {name!r} is not a Hugging Face dataset name",
                "Write hf:ORG/NAME with the Hub repository id (letters, digits, '.', '_', "
                "'-'), or any such label with a local path in its [dataset.\"hf:...\"] table.",
            )
        return super().member(name)

    # -- the data ---------------------------------------------------------------------
    @cached_property
    def source(self) -> Source:
        """The opened splits (local files or the Hub), once per instance."""
        return open_source(self.name, self.config)

    def split_data(self, split: Split) -> Any:
        """The ``datasets.Dataset`` of ``split`` (``train_split`` / ``test_split``)."""
        wanted = self.config.train_split if split == "train" else self.config.test_split
        splits = self.source.splits
        if wanted not in splits:
            option = "train_split" if split == "train" else "test_split"
            raise ConfigError(
                f"{self.name}: the data have no split {wanted!r} ({option}); its splits: "
                + ", ".join(sorted(splits)),
                f"Set {table(self.name)} {option} to one of them"
                + (" (one Parquet file, or a save_to_disk of one Dataset, is the split "
                   "'train': give the test images a split of their own)."
                   if len(splits) == 1 else "."),
            )
        ds = splits[wanted]
        if len(ds) == 0:
            raise DatasetError(f"{self.name}: split {wanted!r} has no rows",
                               "Every split needs images.")
        return ds

    def _column(self, split: Split, column: str, option: str) -> Any:
        ds = self.split_data(split)
        if column not in ds.column_names:
            wanted = self.config.train_split if split == "train" else self.config.test_split
            raise unknown_column(self.name, column, option, wanted, list(ds.column_names))
        return ds.features[column]

    def _labels(self, column: str, option: str, rename: Mapping[str, str],
                rename_option: str) -> Labels:
        import datasets
        import numpy as np

        features = {s: self._column(s, column, option) for s in ("train", "test")}
        if features["train"] != features["test"]:
            raise DatasetError(
                f"{self.name}: column {column!r} has other classes in the test split "
                f"({features['test']}) than in the training split ({features['train']})",
                "Both splits must label images with the same classes.",
            )
        values = {s: self.split_data(s).select_columns([column]).with_format("numpy")[:][column]
                  for s in ("train", "test")}
        feature = features["train"]
        if isinstance(feature, datasets.ClassLabel):
            names = [str(n) for n in feature.names]
            ids = {s: np.asarray(v, dtype=np.int64) for s, v in values.items()}
            for s, v in ids.items():
                bad = v[(v < 0) | (v >= len(names))]
                if bad.size:
                    raise DatasetError(
                        f"{self.name}: {int(bad.size)} row(s) of the {s} split have label "
                        f"{int(bad[0])} in column {column!r}, outside its {len(names)} classes",
                        "Remove unlabelled rows (label -1) before using the dataset.",
                    )
        elif isinstance(feature, datasets.Value) and (
                feature.dtype.startswith(("int", "uint")) or feature.dtype in ("string",
                                                                                "large_string")):
            classes = sorted(set(values["train"].tolist()) | set(values["test"].tolist()))
            names = [str(c) for c in classes]
            index = {c: i for i, c in enumerate(classes)}
            ids = {s: np.asarray([index[x] for x in v.tolist()], dtype=np.int64)
                   for s, v in values.items()}
        else:
            raise ConfigError(
                f"{self.name}: column {column!r} ({option}) holds {feature}, not class labels",
                f"Set {table(self.name)} {option} to a column of ClassLabel, integer or string "
                "labels.",
            )
        unknown = sorted(set(rename) - set(names))
        if unknown:
            raise ConfigError(
                f"{self.name}: {rename_option} renames {', '.join(map(repr, unknown))}, which "
                f"column {column!r} does not have; its classes: " + _listing(names),
                f"Use the class names (or label values) of column {column!r} as the keys of "
                f"{rename_option}.",
            )
        renamed = [rename.get(n, n) for n in names]
        clash = sorted({n for n in renamed if renamed.count(n) > 1})
        if clash:
            raise ConfigError(
                f"{self.name}: after {rename_option}, several classes of column {column!r} are "
                f"named {clash[0]!r}",
                f"Give every class a name of its own in {rename_option}.",
            )
        return Labels(tuple(renamed), ids)

    @cached_property
    def labels(self) -> Labels:
        cfg = self.config
        return self._labels(cfg.label_column, "label_column", cfg.class_names, "class_names")

    @cached_property
    def fine(self) -> tuple[Labels, tuple[int, ...]] | None:
        """The fine classes and the coarse class of each (``fine_label_column``)."""
        import numpy as np

        cfg = self.config
        if cfg.fine_label_column is None:
            return None
        fine = self._labels(cfg.fine_label_column, "fine_label_column", cfg.fine_class_names,
                            "fine_class_names")
        coarse = self.labels
        fine_ids = np.concatenate([fine.ids["train"], fine.ids["test"]])
        coarse_ids = np.concatenate([coarse.ids["train"], coarse.ids["test"]])
        coarse_of: list[int] = []
        for f, fine_name in enumerate(fine.names):
            parents = sorted(set(coarse_ids[fine_ids == f].tolist()))
            if len(parents) != 1:
                raise DatasetError(
                    f"{self.name}: fine class {fine_name!r} lies in "
                    + ("no class (it has no images)" if not parents else
                       "several classes: " + ", ".join(coarse.names[p] for p in parents)),
                    f"Each fine class of {cfg.fine_label_column!r} must lie within exactly one "
                    f"class of {cfg.label_column!r}.",
                )
            coarse_of.append(parents[0])
        empty = [coarse.names[c] for c in range(len(coarse.names)) if c not in coarse_of]
        if empty:
            raise DatasetError(
                f"{self.name}: class(es) {', '.join(map(repr, empty[:5]))} of "
                f"{cfg.label_column!r} hold no fine class",
                "Every class needs images (drop unused classes from the ClassLabel).",
            )
        return fine, tuple(coarse_of)

    @cached_property
    def first_image(self) -> tuple[str, int, int]:
        """Mode, width and height of the first training image (read from its header)."""
        import datasets

        feature = self._column("train", self.config.image_column, "image_column")
        self._column("test", self.config.image_column, "image_column")
        if not isinstance(feature, datasets.Image):
            raise ConfigError(
                f"{self.name}: column {self.config.image_column!r} (image_column) holds "
                f"{feature}, not images",
                f"Set {table(self.name)} image_column to the column of images.",
            )
        ds = self.split_data("train").select_columns([self.config.image_column])
        cell = ds.cast_column(self.config.image_column, datasets.Image(decode=False))[0]
        try:
            with open_image(cell[self.config.image_column]) as image:
                return image.mode, image.width, image.height
        except (OSError, ValueError, SyntaxError) as exc:
            raise DatasetError(
                f"{self.name}: the first training image cannot be read ({type(exc).__name__}: "
                f"{exc})", "Replace or remove that row.",
            ) from exc

    # -- what DatasetSpec declares --------------------------------------------------------
    @property
    def class_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.labels.names

    @property
    def fine_class_names(self) -> tuple[str, ...] | None:  # type: ignore[override]
        return None if self.fine is None else self.fine[0].names

    @property
    def coarse_of_fine(self) -> tuple[int, ...] | None:  # type: ignore[override]
        return None if self.fine is None else self.fine[1]

    @property
    def channels(self) -> int:  # type: ignore[override]
        if self.config.channels is not None:
            return int(self.config.channels)
        if self.config.mean is not None:
            return len(self.config.mean)
        return channels_of(self.first_image[0])

    @property
    def image_size(self) -> int:  # type: ignore[override]
        if self.config.image_size is not None:
            return int(self.config.image_size)
        _, width, height = self.first_image
        if width != height:
            raise ConfigError(
                f"{self.name}: the images are {width}x{height}, not square",
                f"Set {table(self.name)} image_size to the side they are resized to.",
            )
        return width

    @property
    def mean(self) -> tuple[float, ...]:  # type: ignore[override]
        return self.statistics[0]

    @property
    def std(self) -> tuple[float, ...]:  # type: ignore[override]
        return self.statistics[1]

    @property
    def allow_hflip(self) -> bool:  # type: ignore[override]
        return self.config.hflip

    @property
    def default_targets(self) -> dict[str, tuple[str, ...]]:  # type: ignore[override]
        return {"random": ("0.1",), **self.config.targets}

    def fingerprint(self) -> str:
        return f"{FORMAT};{self.source.fingerprint}"

    def check_files(self) -> None:
        """Open the data and check every option against them before anything is computed:
        splits, columns, labels, the fine/coarse map and the first image."""
        _ = self.labels, self.fine, self.first_image, self.channels, self.image_size

    def split_labels(self, split: Split) -> tuple[torch.Tensor, torch.Tensor | None]:
        import torch

        fine = None if self.fine is None else torch.from_numpy(self.fine[0].ids[split])
        return torch.from_numpy(self.labels.ids[split]), fine

    def load(self, split: Split) -> ImageTensors:
        from supreme.contracts import ImageTensors

        self.check_files()
        cfg = self.config
        ds = self.split_data(split)
        wanted = cfg.train_split if split == "train" else cfg.test_split
        images = decode_column(ds, cfg.image_column, self.channels, self.image_size,
                               resize=cfg.image_size is not None,
                               where=lambda i: f"{self.name}: row {i} of split {wanted!r}")
        if split == "train" and cfg.mean is None:
            self._remember(statistics_of(images))
        labels, fine = self.split_labels(split)
        return ImageTensors(images, labels, fine)

    # -- normalisation statistics ---------------------------------------------------------
    @cached_property
    def statistics(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(mean, std) per channel: as configured, else remembered, else computed."""
        cfg = self.config
        if cfg.mean is not None and cfg.std is not None:
            return tuple(cfg.mean), tuple(cfg.std)
        path = self._statistics_file()
        try:
            saved = json.loads(path.read_text())
            return tuple(saved["mean"]), tuple(saved["std"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        self.load("train")  # computes and remembers them
        return self.__dict__["statistics"]  # type: ignore[no-any-return]

    def _remember(self, stats: tuple[tuple[float, ...], tuple[float, ...]]) -> None:
        mean, std = stats
        if any(s <= 0 for s in std):
            raise DatasetError(
                f"{self.name}: every training image has the same value in some channel "
                f"(std {std})",
                f"Set {table(self.name)} mean and std by hand, or check the images.",
            )
        self.__dict__["statistics"] = stats
        path = self._statistics_file()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".stats-")
            with os.fdopen(fd, "w") as out:
                json.dump({"mean": mean, "std": std}, out)
            os.replace(tmp, path)
        except OSError:  # a read-only cache: compute them again next time
            pass

    def _statistics_file(self) -> Path:
        import datasets

        cfg = self.config
        key = json.dumps([self.fingerprint(), self.name, cfg.train_split, cfg.image_column,
                          self.channels, self.image_size, cfg.image_size is not None])
        digest = hashlib.sha256(key.encode()).hexdigest()[:24]
        base = Path(cfg.cache_dir or datasets.config.HF_DATASETS_CACHE).expanduser()
        return base / "supreme-hf" / f"statistics-{digest}.json"


def statistics_of(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and (population) standard deviation of uint8 images on the [0, 1]
    scale, from exact integer sums (the same numbers on every machine)."""
    import torch

    count = images.shape[0] * images.shape[2] * images.shape[3]
    means, stds = [], []
    for c in range(images.shape[1]):
        channel = images[:, c].reshape(-1).to(torch.int64)
        total = int(channel.sum())
        squares = int((channel * channel).sum())
        mean = total / count
        var = max(squares / count - mean * mean, 0.0)
        means.append(mean / 255.0)
        stds.append(math.sqrt(var) / 255.0)
    return tuple(means), tuple(stds)


def _listing(names: list[str], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" ... ({len(names)} in all)" if len(names) > limit else "")

