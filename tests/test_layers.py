"""The core's import graph: no cycle between its modules, and its layers hold.

docs/architecture.md draws the layers; ``[tool.importlinter]`` in the root pyproject.toml
declares them and ``.ci/run`` checks them with import-linter. The cycle check here reads
the source itself (function-local and TYPE_CHECKING imports included), so it holds even
where import-linter is not installed.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import supreme

CORE = Path(supreme.__file__).resolve().parent


def module_graph() -> dict[str, set[str]]:
    modules: dict[str, Path] = {}
    for path in CORE.rglob("*.py"):
        parts = ["supreme", *path.relative_to(CORE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path

    def owner(name: str) -> str | None:
        while name:
            if name in modules:
                return name
            name = name.rpartition(".")[0]
        return None

    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{alias.name}" for alias in node.names]
            for target in targets:
                found = owner(target) if target.startswith("supreme") else None
                # `import supreme` (the package's lazy re-exports) is not a dependency edge
                if found and found not in (name, "supreme"):
                    graph[name].add(found)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_module_of_the_core_imports_itself_back() -> None:
    graph = module_graph()
    assert "supreme.engine" in graph and "supreme.pipeline.cells" in graph
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_pipeline_never_reaches_up_to_launchers_loggers_or_the_engine() -> None:
    graph = module_graph()
    upper = ("supreme.engine", "supreme.launch", "supreme.loggers", "supreme.validate",
             "supreme.cli", "supreme.report")
    offending = {m: sorted(t for t in targets if t.startswith(upper))
                 for m, targets in graph.items() if m.startswith("supreme.pipeline")}
    assert {m: t for m, t in offending.items() if t} == {}


@pytest.mark.skipif(shutil.which("lint-imports") is None and not (
    Path(sys.executable).parent / "lint-imports").exists(), reason="import-linter not installed")
def test_import_linter_contracts_are_kept() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([exe, "--config", str(root / "pyproject.toml")], cwd=root,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout
