"""Forget/retain splits of the three scenarios (D_f, D_r, D'_f, D'_r).

========== ======================== ============== ========================= ==============
scenario   D_f                      D_r            D'_f                      D'_r
========== ======================== ============== ========================= ==============
fullclass  train samples of class t all other train test samples of class t  other test
subclass   train samples of fine t  all other train test samples of fine t   other test
random     random subset of train   complement     = D_f (train samples)     whole test set
========== ======================== ============== ========================= ==============

The random subset is drawn from a generator of its own, seeded by (dataset, scenario,
target, unlearning seed) only, so it does not depend on the model, on the number of
processes or on the methods run (the reference drew it from the global RNG after model
construction, so ResNet and ViT forgot different samples).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from supreme.contracts.data import DatasetSpec, ImageTensors
from supreme.errors import ConfigError

if TYPE_CHECKING:  # torch is imported where a split is built: naming targets needs none
    import torch


@dataclass(frozen=True)
class Split:
    """Indices of each part; ``forget_test`` indexes the *train* set in ``random``."""

    scenario: str
    target: str
    forget_class: int | None
    forget_train: torch.Tensor
    retain_train: torch.Tensor
    forget_test: torch.Tensor
    retain_test: torch.Tensor

    def tensors(self) -> dict[str, torch.Tensor]:
        return {
            "forget_train": self.forget_train,
            "retain_train": self.retain_train,
            "forget_test": self.forget_test,
            "retain_test": self.retain_test,
        }

    @property
    def forget_test_from_train(self) -> bool:
        return self.scenario == "random"

    def materialise(self, train: ImageTensors, test: ImageTensors) -> dict[str, ImageTensors]:
        """The five evaluation splits as tensors."""
        return {
            "test": test,
            "retain_test": test.subset(self.retain_test),
            "forget_test": (train if self.forget_test_from_train else test).subset(self.forget_test),
            "retain_train": train.subset(self.retain_train),
            "forget_train": train.subset(self.forget_train),
        }


def split_seed(dataset: str, scenario: str, target: str, seed: int) -> int:
    digest = hashlib.sha256(f"{dataset}|{scenario}|{target}|{seed}".encode()).hexdigest()
    return int(digest[:15], 16)


def parse_amount(target: str, n: int) -> int:
    """A random-scenario target: a fraction in (0, 1) (``"0.01"``) or a count (``"50"``)."""
    try:
        value = float(target)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(
            f"random-scenario target {target!r} is not a positive fraction or count",
            'Use a fraction in (0, 1) such as "0.01", or a sample count such as "50".',
        )
    if value < 1:
        # torch.utils.data.random_split sizes: floors, remainder to the forget part first
        forget = math.floor(value * n)
        return forget + (1 if forget + math.floor((1 - value) * n) < n else 0)
    if value != int(value):
        raise ConfigError(f"random-scenario count {target!r} is not a whole number", "Use e.g. 50.")
    return int(value)


def _unknown_target(target: str, names: tuple[str, ...], kind: str) -> ConfigError:
    return ConfigError(
        f"forget target {target!r} is not a {kind} of this dataset",
        f"Choose one of: {', '.join(names[:30])}{' ...' if len(names) > 30 else ''}.",
    )


def check_target(spec: DatasetSpec, scenario: str, target: str) -> None:
    """Raise :class:`ConfigError` when ``target`` cannot be a target of ``scenario``."""
    if scenario == "fullclass" and target not in spec.class_names:
        raise _unknown_target(target, spec.class_names, "class")
    if scenario == "subclass" and spec.fine_class_names and target not in spec.fine_class_names:
        raise _unknown_target(target, spec.fine_class_names, "fine class")
    if scenario == "random":
        parse_amount(target, 2**62)


def build_split(
    spec: DatasetSpec, train: ImageTensors, test: ImageTensors, scenario: str, target: str, seed: int
) -> Split:
    check_target(spec, scenario, target)
    if scenario == "fullclass":
        cls = spec.class_id(target)
        f_tr, f_te = train.labels == cls, test.labels == cls
        split = Split(scenario, target, cls, *_parts(f_tr), *_parts(f_te))
    elif scenario == "subclass":
        fine_names, coarse = spec.fine_class_names, spec.coarse_of_fine
        if fine_names is None or coarse is None or train.fine_labels is None or test.fine_labels is None:
            raise ConfigError(
                f"dataset {spec.name!r} has no coarse/fine labels, so it has no sub-class scenario",
                "Use a dataset with a class hierarchy (e.g. cifar20), or another scenario.",
            )
        fine = fine_names.index(target)
        f_tr, f_te = train.fine_labels == fine, test.fine_labels == fine
        split = Split(scenario, target, coarse[fine], *_parts(f_tr), *_parts(f_te))
    elif scenario == "random":
        n = len(train)
        size = parse_amount(target, n)
        if size >= n:
            raise ConfigError(
                f"random-scenario target {target!r} would forget {size} of {n} training samples",
                "Forget fewer samples: the retain set must not be empty.",
            )
        import torch

        g = torch.Generator().manual_seed(split_seed(spec.name, scenario, target, seed))
        order = torch.randperm(n, generator=g)
        forget = order[:size].sort().values
        retain = order[size:].sort().values
        split = Split(scenario, target, None, forget, retain, forget, torch.arange(len(test)))
    else:
        raise ConfigError(f"unknown scenario {scenario!r}", "Use fullclass, subclass or random.")
    for part in ("forget_train", "retain_train"):
        if len(getattr(split, part)) == 0:
            raise ConfigError(
                f"the {part.replace('_', ' ')} set of {spec.name}/{scenario}/{target} is empty",
                "Choose a target with samples in the training set.",
            )
    return split


def _parts(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(indices where mask, indices where not mask)."""
    return mask.nonzero().flatten(), (~mask).nonzero().flatten()


def from_tensors(scenario: str, target: str, forget_class: int | None, t: dict[str, torch.Tensor]) -> Split:
    return Split(scenario, target, forget_class, t["forget_train"], t["retain_train"],
                 t["forget_test"], t["retain_test"])


def validation_indices(train: ImageTensors, fraction: float, seed: int) -> torch.Tensor:
    """The training examples held out as a validation split (``[validation]``, ``supreme
    tune``): per class (the fine class where the dataset has one, so a sub-class target
    keeps validation examples), ``round(fraction * n_c)`` examples drawn by a generator
    of its own seeded by ``seed``, at least one of any class with two or more examples and
    never all of one. Sorted; the same for every model, scenario and process."""
    import torch

    classes = train.fine_labels if train.fine_labels is not None else train.labels
    g = torch.Generator().manual_seed(int(seed))
    chosen = []
    for cls in torch.unique(classes).tolist():
        members = (classes == cls).nonzero().flatten()
        n = len(members)
        take = min(max(round(fraction * n), 1 if n >= 2 else 0), n - 1)
        if take > 0:
            chosen.append(members[torch.randperm(n, generator=g)[:take]])
    if not chosen:
        return torch.zeros(0, dtype=torch.long)
    return torch.cat(chosen).sort().values


def carve_validation(train: ImageTensors, fraction: float, seed: int
                     ) -> tuple[ImageTensors, ImageTensors]:
    """(training data without the validation examples, the validation examples): the
    dataset a tuning trial runs on, whose test split is carved from the training data."""
    import torch

    held = validation_indices(train, fraction, seed)
    keep = torch.ones(len(train), dtype=torch.bool)
    keep[held] = False
    return train.subset(keep.nonzero().flatten()), train.subset(held)
