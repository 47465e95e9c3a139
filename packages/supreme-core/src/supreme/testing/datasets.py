"""Conformance check for dataset specs: :func:`check_dataset`.

Run it from a plugin's test suite for every dataset the plugin registers, on a spec
instance that can load (a shipped dataset, or one pointed at a fixture directory)::

    from supreme.testing.datasets import check_dataset

    @pytest.mark.parametrize("spec", [Digits(), Cifar10(Cifar10.Config(root=fixture))])
    def test_conformance(spec):
        check_dataset(spec)

Each failed check raises ``AssertionError`` with a troubleshooting note saying which part
of the :class:`~supreme.contracts.DatasetSpec` contract is broken and how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch

from supreme.contracts import SCENARIOS, DatasetSpec, ImageTensors, Recipe

__all__ = ["check_dataset", "check_spec_metadata", "check_targets", "check_tensors"]

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


def _fail(what: str, fix: str) -> AssertionError:
    return AssertionError(f"{what}\n  troubleshooting: {fix}")


def check_dataset(
    spec: DatasetSpec,
    splits: Sequence[str] = ("train", "test"),
    *,
    require_all_classes: bool = False,
) -> dict[str, ImageTensors]:
    """Check ``spec``'s metadata and every split it loads; return the loaded splits.

    ``require_all_classes`` additionally demands that every class occurs in every split
    (true for the real datasets, not necessarily for small fixtures).
    """
    check_spec_metadata(spec)
    loaded: dict[str, ImageTensors] = {}
    for split in splits:
        tensors = spec.load(split)  # type: ignore[arg-type]
        check_tensors(spec, tensors, split, require_all_classes=require_all_classes)
        loaded[split] = tensors
    fingerprint = spec.fingerprint()
    if not isinstance(fingerprint, str) or fingerprint != spec.fingerprint():
        raise _fail(
            f"{spec.name}: fingerprint() must return the same string on every call, got {fingerprint!r}",
            "derive it from the source files' names, sizes and modification times (or a "
            "constant for shipped data), never from the clock or a random number",
        )
    return loaded


def check_spec_metadata(cls: DatasetSpec | type[DatasetSpec]) -> None:
    """Checks that need no decoded images: names, statistics, maps, targets, recipes.

    Pass an instance for datasets whose class names come from the files on disk (their
    ``class_names`` is a property); a class is enough for the others.
    """
    prefix = cls.prefix
    member = prefix is not None and (cls.name or "").startswith(f"{prefix}:") and \
        len(cls.name) > len(prefix) + 1  # a dataset family's member, e.g. hf:ORG/NAME
    if not (member or NAME_PATTERN.match(cls.name or "")):
        raise _fail(
            f"dataset name {cls.name!r} is not lowercase snake_case",
            "set the class attribute `name`, e.g. name = 'cifar10'",
        )
    if not cls.describe():
        raise _fail(
            f"{cls.name}: the class has no docstring",
            "its first line is the description shown by `supreme list datasets`",
        )
    names = cls.class_names
    if len(names) < 2 or len(set(names)) != len(names):
        raise _fail(
            f"{cls.name}: class_names must hold at least two distinct names, got "
            f"{len(names)} ({len(set(names))} distinct)",
            "list one name per label id, in label order",
        )
    if cls.channels not in (1, 3):
        raise _fail(f"{cls.name}: channels = {cls.channels}", "images are grey (1) or RGB (3)")
    if cls.image_size < 1:
        raise _fail(f"{cls.name}: image_size = {cls.image_size}", "give the stored side length")
    for label, stats in (("mean", cls.mean), ("std", cls.std)):
        if len(stats) != cls.channels or not all(0 <= v <= 1 for v in stats):
            raise _fail(
                f"{cls.name}: {label} = {stats} must have {cls.channels} value(s) in [0, 1]",
                "statistics are per channel on the [0, 1] pixel scale",
            )
    if any(v <= 0 for v in cls.std):
        raise _fail(
            f"{cls.name}: std = {cls.std} has a non-positive value",
            "a zero standard deviation divides by zero when normalising",
        )
    fine, coarse = cls.fine_class_names, cls.coarse_of_fine
    if (fine is None) != (coarse is None):
        raise _fail(
            f"{cls.name}: fine_class_names and coarse_of_fine must be set together",
            "give both (a coarse/fine hierarchy) or neither",
        )
    if fine is not None and coarse is not None:
        if len(fine) != len(coarse) or len(set(fine)) != len(fine):
            raise _fail(
                f"{cls.name}: {len(fine)} fine names (distinct: {len(set(fine))}) but "
                f"{len(coarse)} coarse ids",
                "coarse_of_fine[i] is the coarse id of fine_class_names[i]",
            )
        if sorted(set(coarse)) != list(range(len(names))):
            raise _fail(
                f"{cls.name}: coarse_of_fine must use every coarse id 0..{len(names) - 1} "
                f"and no other, got {sorted(set(coarse))}",
                "each coarse class needs at least one fine class",
            )
    check_targets(cls)
    for family, overrides in cls.recipes.items():
        given = dict(overrides)
        try:
            recipe = Recipe.model_validate(given)
        except Exception as exc:  # pydantic ValidationError
            raise _fail(
                f"{cls.name}: recipes[{family!r}] is not a valid Recipe update: {exc}",
                "use Recipe's field names (epochs, milestones, batch_size, augment, ...)",
            ) from None
        if "milestones" in given and any(m > recipe.epochs for m in recipe.milestones):
            raise _fail(
                f"{cls.name}: recipes[{family!r}] has milestones {recipe.milestones} beyond "
                f"{recipe.epochs} epochs",
                "a milestone after the last epoch never applies",
            )
        if "augment" in given and recipe.augment.hflip and not cls.allow_hflip:
            raise _fail(
                f"{cls.name}: allow_hflip is False but recipes[{family!r}] flips",
                "set augment.hflip = False for this dataset",
            )


def check_targets(cls: DatasetSpec | type[DatasetSpec]) -> None:
    """Every default target names something that exists in its scenario."""
    have_fine = cls.fine_class_names is not None and cls.coarse_of_fine is not None
    for scenario, targets in cls.default_targets.items():
        if scenario not in SCENARIOS or (scenario == "subclass" and not have_fine):
            raise _fail(
                f"{cls.name}: default_targets has scenario {scenario!r}",
                f"use one of {SCENARIOS} (subclass needs a coarse/fine map)",
            )
        if isinstance(targets, str) or not targets:
            raise _fail(
                f"{cls.name}: default_targets[{scenario!r}] = {targets!r}",
                "give a non-empty tuple of strings",
            )
        for target in targets:
            if scenario == "fullclass" and target not in cls.class_names:
                raise _fail(
                    f"{cls.name}: fullclass target {target!r} is not a class name",
                    "targets are entries of class_names",
                )
            if scenario == "subclass" and target not in (cls.fine_class_names or ()):
                raise _fail(
                    f"{cls.name}: subclass target {target!r} is not a fine class name",
                    "targets are entries of fine_class_names",
                )
            if scenario == "random" and not _is_random_target(target):
                raise _fail(
                    f"{cls.name}: random target {target!r} is neither a fraction in "
                    "(0, 1) nor a positive count",
                    "write e.g. '0.1' or '500'",
                )


def _is_random_target(target: str) -> bool:
    try:
        value = float(target)
    except ValueError:
        return False
    if value.is_integer() and value >= 1:
        return True
    return 0 < value < 1


def check_tensors(
    spec: DatasetSpec,
    tensors: ImageTensors,
    split: str = "train",
    *,
    require_all_classes: bool = False,
) -> None:
    """A loaded split is uint8 NCHW at the spec's size with labels in range."""
    where = f"{spec.name}/{split}"
    images, labels = tensors.images, tensors.labels
    if not isinstance(images, torch.Tensor) or images.dtype != torch.uint8:
        raise _fail(
            f"{where}: images must be a uint8 tensor, got {getattr(images, 'dtype', type(images))}",
            "keep 0..255 pixels as torch.uint8",
        )
    expected = (spec.channels, spec.image_size, spec.image_size)
    if images.dim() != 4 or tuple(images.shape[1:]) != expected:
        raise _fail(
            f"{where}: images have shape {tuple(images.shape)}, expected [N, *{expected}]",
            "decode to channels-first at image_size (resize when the files differ)",
        )
    if labels.dtype != torch.int64 or labels.dim() != 1 or len(labels) != len(images):
        raise _fail(
            f"{where}: labels must be int64 [N] matching {len(images)} images, got "
            f"{labels.dtype} {tuple(labels.shape)}",
            "one label per image",
        )
    if len(labels) == 0:
        raise _fail(f"{where}: the split is empty", "check the split rule and the files")
    if int(labels.min()) < 0 or int(labels.max()) >= spec.num_classes:
        raise _fail(
            f"{where}: labels span {int(labels.min())}..{int(labels.max())}, outside "
            f"0..{spec.num_classes - 1}",
            "labels index class_names",
        )
    if require_all_classes:
        missing = sorted(set(range(spec.num_classes)) - set(labels.unique().tolist()))
        if missing:
            raise _fail(
                f"{where}: classes {missing[:10]} have no sample",
                "every class should appear in every split (stratify)",
            )
    fine = tensors.fine_labels
    coarse = spec.coarse_of_fine
    if coarse is None:
        if fine is not None:
            raise _fail(
                f"{where}: fine_labels given but the spec has no coarse_of_fine",
                "declare fine_class_names and coarse_of_fine, or drop fine_labels",
            )
        return
    if fine is None or fine.dtype != torch.int64 or fine.shape != labels.shape:
        raise _fail(
            f"{where}: a coarse/fine dataset must give int64 fine_labels [N]",
            "fill ImageTensors.fine_labels with the fine class of every image",
        )
    if int(fine.min()) < 0 or int(fine.max()) >= len(coarse):
        raise _fail(
            f"{where}: fine labels outside 0..{len(coarse) - 1}",
            "fine labels index fine_class_names",
        )
    mapped = torch.tensor(coarse, dtype=torch.int64)[fine]
    if not torch.equal(mapped, labels):
        bad = int((mapped != labels).sum())
        raise _fail(
            f"{where}: {bad} samples have a label that is not coarse_of_fine[fine_label]",
            "the training label of a coarse/fine dataset is the coarse class",
        )
