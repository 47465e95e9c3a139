"""The options of a Hugging Face dataset: the ``[dataset."hf:ORG/NAME"]`` table."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator
from supreme.contracts import ComponentConfig

#: How a local ``path`` is read (``auto``: detected from what the path holds).
Format = Literal["auto", "arrow", "parquet", "imagefolder"]
Scenario = Literal["fullclass", "subclass", "random"]
#: A per-channel statistic on the [0, 1] pixel scale.
Unit = Annotated[float, Field(ge=0.0, le=1.0)]


class HfConfig(ComponentConfig):
    """Where the dataset is, which columns hold the images and labels, and how to decode."""

    path: str | None = Field(
        None,
        description="a local source: a save_to_disk directory, a Parquet file or directory, or "
        "an imagefolder directory (unset: the Hub dataset ORG/NAME of the name)",
    )
    format: Format = Field(
        "auto", description="how to read `path`: arrow (save_to_disk), parquet or imagefolder "
        "(auto: detected)",
    )
    revision: str | None = Field(
        None, description="Hub datasets: the branch, tag or commit to load (default: main)"
    )
    cache_dir: str | None = Field(
        None, description="the datasets library's cache directory (default: $HF_DATASETS_CACHE)"
    )
    image_column: str = Field("image", min_length=1, description="the column holding the images")
    label_column: str = Field(
        "label", min_length=1,
        description="the column holding the class the model learns (the coarse class when "
        "fine_label_column is set)",
    )
    fine_label_column: str | None = Field(
        None, min_length=1,
        description="a column of fine classes, each within one class of label_column: enables "
        "the sub-class scenario",
    )
    train_split: str = Field("train", min_length=1, description="the split models train on")
    test_split: str = Field("test", min_length=1, description="the split models are tested on")
    class_names: dict[str, str] = Field(
        default_factory=dict,
        description="rename classes: {label in the data (its class name, or its value) = "
        "name used in targets}",
    )
    fine_class_names: dict[str, str] = Field(
        default_factory=dict, description="rename fine classes, like class_names"
    )
    image_size: int | None = Field(
        None, ge=1, le=1024,
        description="side length images are resized to (unset: the images' own size, which "
        "must then be square and the same for every image)",
    )
    channels: Literal[1, 3] | None = Field(
        None, description="1 (grey) or 3 (RGB); unset: from the first training image"
    )
    mean: tuple[Unit, ...] | None = Field(
        None, description="per-channel mean on the [0, 1] scale (unset: computed from the "
        "training images)",
    )
    std: tuple[Unit, ...] | None = Field(
        None, description="per-channel standard deviation (unset: computed with the mean)"
    )
    hflip: bool = Field(
        True, description="whether a horizontally flipped image keeps its class (false for "
        "digits and text)",
    )
    targets: dict[Scenario, tuple[str, ...]] = Field(
        default_factory=dict,
        description="default forget targets per scenario (class names, fine class names, "
        "fractions); random defaults to 0.1",
    )

    @field_validator("format")
    @classmethod
    def _format_needs_path(cls, value: str, info: ValidationInfo) -> str:
        if value != "auto" and info.data.get("path") is None:
            raise ValueError("applies to a local path only; set path as well, or leave "
                             "format out for a Hub dataset")
        return value

    @field_validator("revision")
    @classmethod
    def _revision_is_hub_only(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("path") is not None:
            raise ValueError("applies to Hub datasets only; leave it out when path is set")
        if value is not None and not value.strip():
            raise ValueError("is empty; name a branch, tag or commit, or leave it out")
        return value

    @field_validator("test_split")
    @classmethod
    def _two_splits(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("train_split"):
            raise ValueError("is the training split too; the test images must be others")
        return value

    @field_validator("fine_label_column")
    @classmethod
    def _fine_is_another_column(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and value == info.data.get("label_column"):
            raise ValueError("is label_column too; name the column of fine classes")
        return value

    @field_validator("class_names", "fine_class_names")
    @classmethod
    def _distinct_names(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        if info.field_name == "fine_class_names" and value and \
                info.data.get("fine_label_column") is None:
            raise ValueError("needs fine_label_column (the column of fine classes)")
        empty = [k for k, v in value.items() if not v.strip()]
        if empty:
            raise ValueError(f"gives {empty[0]!r} an empty name")
        seen: dict[str, str] = {}
        for label, name in value.items():
            if name in seen:
                raise ValueError(f"gives {seen[name]!r} and {label!r} the same name {name!r}")
            seen[name] = label
        return value

    @field_validator("std")
    @classmethod
    def _statistics(cls, std: tuple[float, ...] | None,
                    info: ValidationInfo) -> tuple[float, ...] | None:
        mean = info.data.get("mean")
        if (mean is None) != (std is None):
            raise ValueError("set mean and std together, or neither (then both are computed "
                             "from the training images)")
        if std is not None and mean is not None:
            if len(std) != len(mean) or len(std) not in (1, 3):
                raise ValueError(f"has {len(std)} value(s) and mean {len(mean)}; give one per "
                                 "channel (1 or 3)")
            channels = info.data.get("channels")
            if channels is not None and len(std) != channels:
                raise ValueError(f"has {len(std)} value(s) but channels = {channels}")
            if any(v <= 0 for v in std):
                raise ValueError("has a zero value (normalising would divide by zero)")
        return std

    @field_validator("targets")
    @classmethod
    def _targets(cls, targets: dict[str, tuple[str, ...]],
                 info: ValidationInfo) -> dict[str, tuple[str, ...]]:
        for scenario, chosen in targets.items():
            if not chosen:
                raise ValueError(f"targets.{scenario} is empty; list at least one target")
        if "subclass" in targets and info.data.get("fine_label_column") is None:
            raise ValueError("has subclass targets but no fine_label_column")
        return targets
