"""The entry point registers the ``hf:*`` family; its module imports nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys

from supreme import list_components, registry
from supreme_hf import HfDataset


def test_the_family_is_registered_through_the_entry_point() -> None:
    rows = {e.name: e for e in list_components("datasets")}
    assert rows["hf:*"].cls is HfDataset
    assert rows["hf:*"].provenance.distribution == "supreme-hf"
    entry = registry.default().entry("datasets", "hf:someorg/digits")
    assert issubclass(entry.cls, HfDataset) and entry.cls.name == "hf:someorg/digits"
    assert entry.provenance == rows["hf:*"].provenance
    assert registry.default().entry("datasets", "hf:someorg/digits").cls is entry.cls  # once


def test_the_command_line_lists_and_describes_the_family() -> None:
    listed = subprocess.run([sys.executable, "-m", "supreme", "list", "datasets", "--json"],
                            capture_output=True, text=True, check=True)
    row = next(r for r in json.loads(listed.stdout) if r["name"] == "hf:*")
    assert row["distribution"] == "supreme-hf"
    described = subprocess.run([sys.executable, "-m", "supreme", "describe", "hf:someorg/digits",
                                "--json"], capture_output=True, text=True, check=True)
    info = json.loads(described.stdout)
    fields = [p["name"] for p in info["hyperparameters"]]
    assert fields[:3] == ["path", "format", "revision"] and "fine_label_column" in fields


def test_the_plugin_module_imports_neither_datasets_nor_torch() -> None:
    code = ("import sys, supreme_hf.plugin\n"
            "print(sorted(m for m in ('datasets', 'torch', 'PIL', 'pyarrow') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
