"""The plugin registers every component, cheaply (no torch at import time)."""

from __future__ import annotations

import subprocess
import sys

from supreme_vision import plugin
from supreme_vision.datasets import DATASETS
from supreme_vision.models import MODELS


def test_plugin_import_does_not_load_heavy_libraries() -> None:
    code = (
        "import sys, supreme_vision.plugin\n"
        "heavy = [m for m in ('torch', 'torchvision', 'timm', 'sklearn') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_hooks_return_every_component() -> None:
    assert plugin.supreme_register_datasets() == list(DATASETS)
    assert plugin.supreme_register_models() == list(MODELS)
    names = [c.name for c in (*DATASETS, *MODELS)]
    assert len(names) == len(set(names))
    assert {"digits", "resnet18"} <= set(names)


def test_registry_lists_components_with_provenance() -> None:
    from supreme.plugins import PluginManager
    from supreme.registry import Registry

    manager = PluginManager()
    manager.load_entry_points()
    registry = Registry(manager)
    for kind, classes in (("datasets", DATASETS), ("models", MODELS)):
        for cls in classes:
            entry = registry.entry(kind, cls.name)  # type: ignore[arg-type]
            assert entry.cls is cls
            assert entry.provenance.distribution == "supreme-vision"
