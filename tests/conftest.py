"""Integration tests: the real installed distributions working together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import supreme
from supreme import registry


@pytest.fixture(autouse=True)
def _fresh_registry() -> Any:
    registry.reset()
    yield
    registry.reset()


@pytest.fixture(scope="session")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> supreme.Results:
    """The embedded default experiment, run once for the session in a fresh store."""
    out = tmp_path_factory.mktemp("default")
    registry.reset()
    return supreme.run(supreme.load_config(overrides=[f'output_dir="{out}"']))


@pytest.fixture(scope="session")
def default_dir(default_run: supreme.Results) -> Path:
    return default_run.run_dir.parent
