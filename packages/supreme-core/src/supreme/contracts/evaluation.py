"""What a metric reads: :class:`EvalContext`, a cache of forward passes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from supreme.contracts.data import ImageTensors

if TYPE_CHECKING:
    import torch
    from torch import nn

Role = Literal["unlearned", "reference", "original"]
#: Evaluation splits: D' (test), D'_r, D'_f, and the training-side D_r and D_f.
SPLITS = ("test", "retain_test", "forget_test", "retain_train", "forget_train")


@dataclass(frozen=True)
class Outputs:
    """One model's forward pass over one split (CPU tensors, in split order)."""

    logits: torch.Tensor
    labels: torch.Tensor
    features: torch.Tensor | None = None


Forward = Callable[["nn.Module", ImageTensors, bool], Outputs]
#: ``batches(tensors, batch_size, seed)``: shuffled training batches ``(x, y)``, preprocessed
#: for the evaluated model and on its device, without augmentation (rank-local)
Batches = Callable[[ImageTensors, int, int], "Iterable[tuple[torch.Tensor, torch.Tensor]]"]


@dataclass
class EvalContext:
    """Everything a metric may read about one evaluated model, computed at most once.

    ``outputs(role, split)`` runs the model in eval mode over the split on the first call
    and caches the logits; every later call (from any metric) reads the cache. Roles:
    ``unlearned`` (the model being scored, M_u, or M_o/M_r for the reference rows),
    ``reference`` (M_r) and ``original`` (M_o).
    """

    method: str
    models: Mapping[str, nn.Module]
    splits: Mapping[str, ImageTensors]
    forward: Forward
    num_classes: int
    scenario: str
    forget_class: int | None
    seed: int
    #: ``unlearn_seconds`` (T_u of the evaluated row) and ``retrain_seconds`` (T_r).
    timings: Mapping[str, float] = field(default_factory=dict)
    #: Resource measurements of the evaluated row's unlearning run (peak memory, ...).
    resources: Mapping[str, float] = field(default_factory=dict)
    #: Builds a freshly initialised network of the evaluated architecture (ZRF).
    new_model: Callable[[], nn.Module] | None = None
    #: Training batches of a split for a metric that trains a copy of a model
    #: (``relearn_time``); ``forward`` evaluates such a copy (uncached).
    batches: Batches | None = None
    _cache: dict[tuple[str, str, bool], Outputs] = field(default_factory=dict, repr=False)
    #: How many forward passes were actually run (for tests and benchmarks).
    forward_passes: int = 0

    def has(self, role: str) -> bool:
        return role in self.models

    def model(self, role: Role) -> nn.Module:
        return self.models[role]

    def outputs(self, role: Role, split: str, *, features: bool = False) -> Outputs:
        """Cached forward pass of ``role`` over ``split`` (logits, labels[, features])."""
        for key in ((role, split, True), (role, split, features)):
            if key in self._cache:
                return self._cache[key]
        if split not in self.splits:
            raise KeyError(f"unknown evaluation split {split!r}; have {sorted(self.splits)}")
        out = self.forward(self.models[role], self.splits[split], features)
        self.forward_passes += 1
        self._cache[(role, split, features)] = out
        return out

    def add_model(self, role: str, model: nn.Module) -> None:
        """Register an extra model (for example an incompetent teacher) under ``role``."""
        self.models = {**self.models, role: model}
