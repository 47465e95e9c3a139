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


@dataclass(frozen=True)
class ShadowOutputs:
    """The shadow models of a metric that declares ``shadows``, run over ``forget_train``.

    Shadow k was trained on a seeded random half H_k of the cell's training examples
    (D_f ∪ D_r); its forget set is F_k = D_f ∩ H_k. ``members[k, s]`` says whether example
    s of ``forget_train`` is in F_k. ``unlearned[k]``: the evaluated row's method applied
    to shadow k with forget set F_k (for the ``original`` row shadow k itself, for the
    ``retrain`` row ``retrained[k]``); ``retrained[k]``: a model trained from scratch on
    H_k without F_k, which never saw any example of D_f.
    """

    members: torch.Tensor
    unlearned: tuple[Outputs, ...]
    retrained: tuple[Outputs, ...]

    def __len__(self) -> int:
        return len(self.unlearned)


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
    #: Computes the shadow models' outputs (metrics that declare ``shadows``); read it
    #: through :meth:`shadow_outputs`.
    shadows: Callable[[], ShadowOutputs] | None = None
    _shadow_outputs: ShadowOutputs | None = field(default=None, repr=False)
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

    def shadow_outputs(self) -> ShadowOutputs:
        """The shadow models' forward passes over ``forget_train`` (computed once)."""
        if self._shadow_outputs is None:
            if self.shadows is None:
                raise KeyError("shadows: this context has no shadow models; declare "
                               "'shadows' in the metric's needs and return a count from "
                               "shadow_models()")
            self._shadow_outputs = self.shadows()
        return self._shadow_outputs

    def add_model(self, role: str, model: nn.Module) -> None:
        """Register an extra model (for example an incompetent teacher) under ``role``."""
        self.models = {**self.models, role: model}
