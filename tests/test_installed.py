"""The installed distributions as a user sees them through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys


def supreme(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "supreme", *args], capture_output=True,
                          text=True, check=False)


def test_every_distribution_registers_through_its_entry_point() -> None:
    done = supreme("plugins", "--json")
    assert done.returncode == 0, done.stderr
    rows = {r["plugin"]: r for r in json.loads(done.stdout)}
    assert {r["distribution"] for r in rows.values()} >= {
        "supreme-core", "supreme-methods", "supreme-metrics", "supreme-vision", "supreme-hf",
        "supreme-hello"}
    assert all(r["status"] == "loaded" for r in rows.values()), rows
    assert "warning" not in done.stderr


def test_list_shows_the_first_components_with_their_providers() -> None:
    expected = {
        "methods": {"original": "supreme-core", "retrain": "supreme-core",
                    "finetune": "supreme-methods", "hello_forget": "supreme-hello"},
        "metrics": {"accuracy": "supreme-metrics", "loss": "supreme-metrics"},
        "datasets": {"digits": "supreme-vision", "hf:*": "supreme-hf"},
        "models": {"resnet18": "supreme-vision"},
    }
    for kind, names in expected.items():
        done = supreme("list", kind, "--json")
        assert done.returncode == 0, done.stderr
        providers = {r["name"]: r["distribution"] for r in json.loads(done.stdout)}
        for name, dist in names.items():
            assert providers.get(name) == dist, (kind, name, providers)


def test_help_imports_no_heavy_module() -> None:
    code = ("import sys, runpy\nsys.argv = ['supreme', '--help']\n"
            "try:\n    runpy.run_module('supreme', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'lightning', 'timm', 'torchvision', 'sklearn')"
            " if m in sys.modules]\nprint(heavy)\nassert not heavy")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-500:] + done.stderr[-2000:]
