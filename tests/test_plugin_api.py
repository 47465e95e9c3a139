"""The built-in plugins use only the declared plugin API: ``supreme.contracts``,
``supreme.api``, ``supreme.testing`` (in tests) and the top-level ``supreme`` names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for d in ("packages/supreme-methods/src", "packages/supreme-metrics/src",
                             "packages/supreme-vision/src", "packages/supreme-hf/src",
                             "examples/supreme-hello/src")
                 for p in (ROOT / d).rglob("*.py"))
#: what a plugin may import from the core (docs/plugins.md, "The declared API")
ALLOWED = ("supreme.api", "supreme.contracts", "supreme.errors", "supreme.hookspecs",
           "supreme.testing")


def allowed(name: str) -> bool:
    if any(part.startswith("_") for part in name.split(".")):
        return False
    return name == "supreme" or any(name == a or name.startswith(a + ".") for a in ALLOWED)


def core_imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names
                                     if node.module in ("supreme", "supreme.contracts")
                                     and a.name.startswith("_")]
        found += [(node.lineno, n) for n in names if n == "supreme" or n.startswith("supreme.")]
    return found


def test_the_sources_were_found() -> None:
    assert len(SOURCES) > 30


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugins_import_only_the_declared_api(path: Path) -> None:
    bad = [(line, name) for line, name in core_imports(path) if not allowed(name)]
    assert bad == [], (
        f"{path.relative_to(ROOT)} imports internal core modules {bad}: use supreme.api or "
        "supreme.contracts (docs/plugins.md, 'The declared API'), or declare what is missing")
