"""Shared fixtures: a tiny trained M_o on synthetic 8x8 images (CPU, seconds)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

# --import-mode=importlib does not put this folder on sys.path; the helpers module needs it.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def tiny():
    """(M_o, training set) for the full-class scenario; M_o is trained to high accuracy."""
    from supreme.testing.methods import tiny_original

    torch.set_num_threads(1)
    return tiny_original("fullclass", seed=0)


@pytest.fixture
def fullclass_data(tiny):
    """A fresh UnlearnData (forget class 0) for the tiny M_o."""
    from supreme.testing.methods import tiny_unlearn_data

    original, train = tiny
    return tiny_unlearn_data(original, train, "fullclass", seed=0)
