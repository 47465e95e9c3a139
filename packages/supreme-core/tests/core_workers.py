"""Functions run inside spawned gloo processes (importable by name: conftest puts this
folder on sys.path)."""

from __future__ import annotations

from typing import Any

import torch
from supreme.pipeline.split import build_split


def random_split_on_every_rank(fabric: Any) -> list[list[int]]:
    """Every rank builds the random split after seeding its global RNG differently."""
    from toyplugin import Toy

    spec = Toy()
    torch.manual_seed(100 + fabric.global_rank)
    torch.randn(1000)
    split = build_split(spec, spec.load("train"), spec.load("test"), "random", "0.25", seed=3)
    return fabric.all_gather(split.forget_train).tolist()
