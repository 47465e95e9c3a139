"""The acceptance test: a digits-shaped dataset saved with ``save_to_disk`` and the same
images as an ``imagefolder`` each run through ``supreme run`` and give exactly the records
of the same images through the built-in path (a ``DatasetSpec`` returning the arrays).

The model, the metric and the reference dataset are registered at run time, so the test
needs only supreme-core and this package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
from supreme import hookimpl, registry
from supreme.contracts import DatasetSpec, EvalContext, ImageTensors, Metric, ModelSpec
from supreme.testing import TinyNet, tiny_recipe
from supreme_hf import fixtures
from supreme_hf.dataset import statistics_of

DIGITS = fixtures.digits_like()
TRAIN_IMAGES = torch.from_numpy(DIGITS["train"].images[:, None].copy())
MEAN, STD = statistics_of(TRAIN_IMAGES)


class DigitsArrays(DatasetSpec):
    """The digits-shaped images straight from their arrays (the built-in path)."""

    name = "digits_arrays"
    class_names = fixtures.CLASSES
    channels = 1
    image_size = 8
    mean = MEAN
    std = STD
    allow_hflip = False
    default_targets: ClassVar = {"random": ("0.1",), "fullclass": ("3",)}

    def load(self, split: str) -> ImageTensors:
        part = DIGITS[split]
        return ImageTensors(torch.from_numpy(part.images[:, None].copy()),
                            torch.from_numpy(part.labels))

    def fingerprint(self) -> str:
        return "digits_like(seed=0)"


FINE = fixtures.with_fine_labels(DIGITS)
FINE_NAMES = tuple(f"{c}{k}" for c in fixtures.CLASSES for k in "ab")


class FineDigitsArrays(DigitsArrays):
    """The same images with two fine classes per class (the built-in path)."""

    name = "fine_digits_arrays"
    fine_class_names = FINE_NAMES
    coarse_of_fine = tuple(c for c in range(10) for _ in "ab")
    default_targets: ClassVar = {"subclass": ("3b",)}

    def load(self, split: str) -> ImageTensors:
        part = FINE[split]
        return ImageTensors(torch.from_numpy(part.images[:, None].copy()),
                            torch.from_numpy(part.labels), torch.from_numpy(part.fine))


class Tiny(ModelSpec):
    """TinyNet: two conv-BN-ReLU layers and a linear head."""

    name = "tiny"
    family = "tiny"
    default_recipe = tiny_recipe(epochs=2)

    def create(self, num_classes: int, in_channels: int, image_size: int) -> torch.nn.Module:
        return TinyNet(num_classes, in_channels, 8)


class SplitScores(Metric):
    """Accuracy, mean true-class logit and size of each test split."""

    name = "split_scores"

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        out: dict[str, float] = {}
        for split in ("test", "retain_test", "forget_test", "forget_train"):
            o = ctx.outputs("unlearned", split)
            out[f"{split}_accuracy"] = 100.0 * float((o.logits.argmax(1) == o.labels).double().mean())
            out[f"{split}_logit"] = float(o.logits.gather(1, o.labels[:, None]).double().mean())
            out[f"{split}_size"] = float(len(o.labels))
        return out


class Local:
    @hookimpl
    def supreme_register_datasets(self) -> list[type[DatasetSpec]]:
        return [DigitsArrays, FineDigitsArrays]

    @hookimpl
    def supreme_register_models(self) -> list[type[ModelSpec]]:
        return [Tiny]

    @hookimpl
    def supreme_register_metrics(self) -> list[type[Metric]]:
        return [SplitScores]


def by_dataset(records: list[dict[str, Any]]) -> dict[str, dict[tuple[Any, ...], float]]:
    out: dict[str, dict[tuple[Any, ...], float]] = {}
    for r in records:
        key = (r["model"], r["scenario"], r["target"], r["train_seed"], r["unlearn_seed"],
               r["eval_seed"], r["method"], r["metric"], r["key"])
        out.setdefault(r["dataset"], {})[key] = r["value"]
    return out


def test_save_to_disk_and_imagefolder_give_the_records_of_the_built_in_path(
        tmp_path: Path, disk_root: Path, folder_root: Path) -> None:
    import supreme

    registry.register_plugin(Local(), name="local")
    hf_options = {"hflip": False, "targets": {"fullclass": ["3"]}}
    config = supreme.load_config(data={
        "output_dir": str(tmp_path / "runs"),
        "datasets": ["digits_arrays", "hf:local/digits_disk", "hf:local/digits_folder"],
        "models": ["tiny"],
        # the random scenario draws its forget set with a seed that mixes in the dataset's
        # name (pipeline/split.py), so only the named-class scenarios can compare across names
        "scenarios": ["fullclass"],
        "methods": ["original", "retrain"],
        "metrics": ["split_scores"],
        "seeds": {"train": [3]},
        "dataset": {
            "hf:local/digits_disk": {"path": str(disk_root), **hf_options},
            "hf:local/digits_folder": {"path": str(folder_root), "format": "imagefolder",
                                       **hf_options},
        },
    })
    results = supreme.run(config)
    assert not results.failures
    found = by_dataset(results.records)
    reference = found["digits_arrays"]
    assert len(reference) == 2 * 12  # rows x values
    # the run trained something: M_o beats chance on D' by far
    assert reference[("tiny", "fullclass", "3", 3, 3, 3, "original", "split_scores",
                      "test_accuracy")] > 50.0
    assert reference[("tiny", "fullclass", "3", 3, 3, 3, "original", "split_scores",
                      "forget_test_size")] == 8.0
    for name in ("hf:local/digits_disk", "hf:local/digits_folder"):
        assert found[name] == reference, name
    provenance = {r["dataset"]: r["provenance"]["dataset"]["distribution"]
                  for r in results.records}
    assert provenance["hf:local/digits_disk"] == "supreme-hf"


def test_a_fine_label_column_gives_the_sub_class_records_of_the_built_in_path(
        tmp_path: Path) -> None:
    import supreme

    registry.register_plugin(Local(), name="local")
    root = fixtures.write_save_to_disk(tmp_path / "fine", FINE, fine_names=FINE_NAMES)
    config = supreme.load_config(data={
        "output_dir": str(tmp_path / "runs"),
        "datasets": ["fine_digits_arrays", "hf:local/fine_digits"],
        "models": ["tiny"],
        "scenarios": ["subclass"],
        "methods": ["original", "retrain"],
        "metrics": ["split_scores"],
        "seeds": {"train": [3]},
        "dataset": {"hf:local/fine_digits": {
            "path": str(root), "fine_label_column": "fine_label", "hflip": False,
            "targets": {"subclass": ["3b"]}}},
    })
    results = supreme.run(config)
    assert not results.failures
    found = by_dataset(results.records)
    reference = found["fine_digits_arrays"]
    # D'_f: the test images of fine class 3b (4 of the 8 test images of class 3)
    assert reference[("tiny", "subclass", "3b", 3, 3, 3, "original", "split_scores",
                      "forget_test_size")] == 4.0
    assert found["hf:local/fine_digits"] == reference
