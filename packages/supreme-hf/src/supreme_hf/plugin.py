"""Registers the ``hf:*`` dataset family with SUPREME.

Only light modules are imported here: the datasets library, torch and Pillow are imported
inside the dataset's methods, so ``supreme list`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supreme.hookspecs import hookimpl

from supreme_hf.dataset import HfDataset

if TYPE_CHECKING:
    from supreme.contracts import DatasetSpec


@hookimpl
def supreme_register_datasets() -> list[type[DatasetSpec]]:
    return [HfDataset]
