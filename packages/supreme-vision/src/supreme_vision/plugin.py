"""Registers supreme-vision's datasets and models with SUPREME.

Only light modules are imported here: torch, torchvision, timm and scikit-learn are
imported inside the components' methods, so ``supreme list`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supreme.hookspecs import hookimpl

from supreme_vision.datasets import DATASETS
from supreme_vision.models import MODELS

if TYPE_CHECKING:
    from supreme.contracts import DatasetSpec, ModelSpec


@hookimpl
def supreme_register_datasets() -> list[type[DatasetSpec]]:
    return list(DATASETS)


@hookimpl
def supreme_register_models() -> list[type[ModelSpec]]:
    return list(MODELS)
