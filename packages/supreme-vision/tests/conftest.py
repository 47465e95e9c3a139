"""On-disk fixtures in each dataset's real format (written once per test session)."""

from __future__ import annotations

from pathlib import Path

import pytest
from supreme_vision import fixtures


@pytest.fixture(autouse=True)
def _no_data_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests must not read a developer's real datasets by accident.
    monkeypatch.delenv("SUPREME_DATA", raising=False)


@pytest.fixture(scope="session")
def cifar_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cifar")
    fixtures.write_cifar10(root, train_per_class=10, test_per_class=4)
    fixtures.write_cifar100(root, train_per_fine=3, test_per_fine=1)
    return root


@pytest.fixture(scope="session")
def caltech_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    fixtures.write_caltech101(root, per_class=6)
    return root


@pytest.fixture(scope="session")
def pins_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pins")
    fixtures.write_pins(root, per_class=5)
    return root
