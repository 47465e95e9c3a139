"""Fixtures of the core's tests: a fresh plugin state per test, the toy plugin, a run dir."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

import toyplugin  # noqa: E402
from supreme import registry  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Each test starts with no runtime plugins and no plugin env variables."""
    monkeypatch.delenv("SUPREME_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("SUPREME_DISABLE_PLUGINS", raising=False)
    registry.reset()
    yield
    registry.reset()


@pytest.fixture
def toy(fresh_registry: Any) -> Any:
    """The toy plugin registered at run time."""
    registry.register_plugin(toyplugin)
    return toyplugin


@pytest.fixture
def toy_experiment(tmp_path: Path, toy: Any) -> dict[str, Any]:
    """Settings of a small experiment on the toy plugin (a dict for load_config(data=...))."""
    return {
        "output_dir": str(tmp_path / "runs"),
        "datasets": ["toy"],
        "models": ["tiny"],
        "methods": ["original", "retrain", "toy_ascent"],
        "metrics": ["toy_accuracy", "toy_gap"],
    }
