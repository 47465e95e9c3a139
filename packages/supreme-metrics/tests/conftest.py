"""Fixtures: evaluation contexts built from constructed logits, or from tiny real models."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
import torch
from supreme.contracts import EvalContext, ImageTensors, Outputs
from torch import nn

# --import-mode=importlib does not put this folder on sys.path; spawned workers need it.
sys.path.insert(0, str(Path(__file__).parent))

Table = Mapping[tuple[str, str], tuple[torch.Tensor, torch.Tensor]]


class Tagged(nn.Module):
    """A stand-in model that only carries its role; the fake forward looks its logits up."""

    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role
        self.weight = nn.Parameter(torch.zeros(1))


def build_logit_context(table: Table, **extra: object) -> EvalContext:
    """An EvalContext whose forward pass returns the given (logits, labels) per (role, split)."""
    roles = sorted({role for role, _ in table})
    split_names = sorted({split for _, split in table})
    sizes = {split: len(table[next(k for k in table if k[1] == split)][1]) for split in split_names}
    splits = {
        s: ImageTensors(torch.zeros(sizes[s], 1, 1, 1, dtype=torch.uint8), torch.zeros(sizes[s]))
        for s in split_names
    }
    names = {id(t): s for s, t in splits.items()}

    def forward(model: nn.Module, split: ImageTensors, features: bool) -> Outputs:
        logits, labels = table[(model.role, names[id(split)])]
        return Outputs(logits, labels.long())

    num_classes = int(next(iter(table.values()))[0].shape[1])
    kwargs: dict[str, object] = {
        "method": "test", "models": {r: Tagged(r) for r in roles}, "splits": splits,
        "forward": forward, "num_classes": num_classes, "scenario": "fullclass",
        "forget_class": 0, "seed": 0,
    }
    kwargs.update(extra)
    return EvalContext(**kwargs)  # type: ignore[arg-type]


@pytest.fixture
def logit_context() -> Callable[..., EvalContext]:
    return build_logit_context


@pytest.fixture
def tagged() -> type[Tagged]:
    """Stand-in model class: ``tagged(role)`` is looked up as ``role`` by the fake forward."""
    return Tagged
