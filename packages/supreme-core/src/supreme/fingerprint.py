"""Code fingerprints: what enters a store key so that a code change recomputes what it affects.

Every stage key (docs/architecture.md, "What enters a key") holds two code fingerprints:

* **the component's code**: the source files of the module defining the component's class
  and of every class in its MRO outside the core, plus, transitively, every module of the
  same top-level package that those files import (statically, function-local imports
  included), and the ``__init__.py`` of each package on the way (whose own imports are not
  followed: they often re-export every sibling module). A change to
  ``supreme_methods/finetune.py`` or to the ``_training.py`` it imports changes
  ``finetune``'s fingerprint and nothing else's. A class without a source file (defined
  in a notebook) is fingerprinted by its bytecode, constants and names instead.
* **the core's code that the stage runs**: the files of one of the :data:`CORE_CODE` sets
  (``data`` for decoding and splits, ``model`` for M_o, M_r, unlearning and method caches,
  ``evaluate`` for metrics). Every other core module is listed in :data:`NOT_IN_KEYS` with
  the reason it cannot change a stored number; a test keeps the two lists complete.

File digests are cached per process by ``(path, mtime_ns, size)``, so the cost is one read
of each file per process (``bench/startup.py`` measures it). Package data files that a
component reads are not in its fingerprint: datasets declare their data through
``DatasetSpec.fingerprint()``.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import os
import sys
import types
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

#: Core modules (relative to the ``supreme`` package) whose code a stage runs, by stage
#: family. A directory name stands for every module under it.
CORE_CODE: dict[str, tuple[str, ...]] = {
    "data": ("contracts", "pipeline/split.py", "pipeline/data.py"),
    "model": ("contracts", "builtins.py", "testing", "api.py", "pipeline/run.py", "pipeline/train.py",
              "pipeline/services.py",
              "pipeline/data.py", "pipeline/fabric.py", "pipeline/speed.py",
              "pipeline/checkpoint.py", "pipeline/resources.py", "pipeline/split.py"),
    "evaluate": ("contracts", "testing", "api.py", "pipeline/run.py", "pipeline/evaluate.py",
                 "pipeline/data.py", "pipeline/fabric.py", "pipeline/speed.py",
                 "pipeline/checkpoint.py", "pipeline/grid.py"),
}

#: Core modules that never change a stored artifact, and why (a test checks that every
#: module of the core is in a :data:`CORE_CODE` set or here).
NOT_IN_KEYS: dict[str, str] = {
    "__init__.py": "the public re-exports",
    "__main__.py": "python -m supreme",
    "cli": "the command line: parses arguments, prints",
    "report": "reads results.jsonl after the run",
    "launch": "local worker processes and SLURM jobs; every cell runs through pipeline/run.py",
    "engine.py": "validates, launches and collects; every cell runs through pipeline/run.py",
    "tune.py": "chooses the settings each trial runs with; they are in the trial's keys",
    "loggers.py": "copies records to experiment loggers",
    "observers.py": "passes stage and cell events to hooks, the reporter and loggers",
    "secrets.py": "masks secret values in messages, logs and job scripts",
    "gc.py": "deletes unreferenced artifacts",
    "validate.py": "checks before compute; refuses, never changes a value",
    "progress.py": "progress bars",
    "errors.py": "exception classes",
    "hookspecs.py": "hook signatures",
    "plugins.py": "plugin loading",
    "registry.py": "component lookup",
    "config.py": "parses the experiment; every value that matters is in the key itself",
    "plan.py": "names cells and seeds; the seeds are in the keys",
    "stage.py": "names stages; what a stage computes from is in its key",
    "store.py": "reads and writes artifacts byte for byte",
    "fingerprint.py": "computes these fingerprints",
    "recompute.py": "decides which stages --recompute redoes",
    "pipeline/__init__.py": "empty package marker",
    "pipeline/cells.py": "schedules cells and writes outcome files",
    "pipeline/results.py": "holds what a run returns (records already computed)",
    "values.py": "checks metric values (refuses, never changes one)",
    "describe.py": "supreme describe: prints a component's settings",
    "scaffold.py": "supreme new plugin: writes a project to start from",
    "lease.py": "run leases that keep gc off live runs",
    "rundir.py": "one run directory, one experiment",
    "safeio.py": "writes files atomically; refuses, never changes a value",
    "signals.py": "SIGINT/SIGTERM: the stop state checked at stage boundaries",
    "gates.py": "applies thresholds to stored reference accuracies (a verdict, not a value)",
}

_CORE_ROOT = Path(__file__).resolve().parent
_file_cache: dict[str, tuple[int, int, str]] = {}
_imports_cache: dict[str, tuple[int, int, tuple[tuple[str, int], ...]]] = {}


def file_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, cached by ``(path, mtime_ns, size)``."""
    name = os.fspath(path)
    stat = os.stat(name)
    cached = _file_cache.get(name)
    if cached is not None and cached[:2] == (stat.st_mtime_ns, stat.st_size):
        return cached[2]
    with open(name, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    _file_cache[name] = (stat.st_mtime_ns, stat.st_size, digest)
    return digest


def _combine(parts: Iterable[tuple[str, str]]) -> str:
    h = hashlib.sha256()
    for name, digest in sorted(parts):
        h.update(f"{name}\0{digest}\n".encode())
    return h.hexdigest()[:20]


# -- the core ---------------------------------------------------------------------------
def _core_files(entries: Iterable[str]) -> list[Path]:
    files: list[Path] = []
    for entry in entries:
        path = _CORE_ROOT / entry
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
        elif path.is_file():
            files.append(path)
    return files


def core_code(stage: str) -> str:
    """The fingerprint of the core's code that a stage family (``data``, ``model``,
    ``evaluate``) runs."""
    files = _core_files(CORE_CODE[stage])
    return _combine((_core_name(p), file_digest(p)) for p in files)


def _core_name(path: Path) -> str:
    try:
        return path.relative_to(_CORE_ROOT).as_posix()
    except ValueError:  # an entry outside the package (tests extend the sets)
        return str(path)


def core_modules() -> list[str]:
    """Every module of the core, relative to the ``supreme`` package (for the test that
    keeps :data:`CORE_CODE` and :data:`NOT_IN_KEYS` complete)."""
    return sorted(p.relative_to(_CORE_ROOT).as_posix() for p in _CORE_ROOT.rglob("*.py")
                  if "__pycache__" not in p.parts)


def classify(module: str) -> str | None:
    """The entry of :data:`CORE_CODE` or :data:`NOT_IN_KEYS` covering ``module``, else None."""
    for entry in [*(e for es in CORE_CODE.values() for e in es), *NOT_IN_KEYS]:
        if module == entry or module.startswith(entry.rstrip("/") + "/"):
            return entry
    return None


# -- components -------------------------------------------------------------------------
def _is_core(module: str) -> bool:
    return module == "supreme" or module.startswith("supreme.")


def _module_file(name: str) -> str | None:
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None) if module is not None else None
    if path and path.endswith(".py") and os.path.isfile(path):
        return path
    return None


def _package_root(module: str, path: str) -> tuple[str, Path]:
    """``(top-level package name, its directory)``; for a single-file top-level module, the
    file itself."""
    top = module.split(".")[0]
    file = Path(path)
    if "." not in module and file.name != "__init__.py":
        return top, file
    root = file.parent  # the directory of the module's own package
    for _ in range(module.count(".") - (0 if file.name == "__init__.py" else 1)):
        root = root.parent
    return top, root


def _imports(path: str, module: str) -> tuple[tuple[str, int], ...]:
    """Absolute module names imported by a file (``(name, level)`` resolved to level 0)."""
    stat = os.stat(path)
    cached = _imports_cache.get(path)
    if cached is not None and cached[:2] == (stat.st_mtime_ns, stat.st_size):
        return cached[2]
    try:
        tree = ast.parse(Path(path).read_bytes(), filename=path)
    except (SyntaxError, ValueError):
        tree = ast.Module(body=[], type_ignores=[])
    package = module if Path(path).name == "__init__.py" else module.rpartition(".")[0]
    names: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join([*parts, base] if base else parts)
            names.append((base, 0))
            names += [(f"{base}.{alias.name}", 1) for alias in node.names]
    result = tuple(dict.fromkeys(names))
    _imports_cache[path] = (stat.st_mtime_ns, stat.st_size, result)
    return result


def _source_of(name: str, top: str, root: Path) -> str | None:
    """The file of module ``name`` inside the package ``top`` at ``root``, if any."""
    if root.is_file():
        return str(root) if name == top else None
    candidate = root.joinpath(*name.split(".")[1:])
    for path in (candidate / "__init__.py", candidate.with_suffix(".py")):
        if path.is_file() and path != root.with_suffix(".py"):
            return str(path)
    return None


def module_closure(module: str) -> dict[str, str]:
    """``{module name: file}`` of ``module`` and every module of its top-level package that
    it imports, transitively, with the ``__init__.py`` of each package on the way."""
    path = _module_file(module)
    if path is None:
        return {}
    if _is_core(module):  # the core's own modules are in the CORE_CODE sets
        return {module: path}
    top, root = _package_root(module, path)
    found: dict[str, str] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        source = _module_file(name) if name == module else _source_of(name, top, root)
        if source is None:
            continue
        found[name] = source
        if name != module and source.endswith("__init__.py"):
            continue  # a package's own imports are mostly re-exports: not followed
        for imported, _ in _imports(source, name):
            if imported == top or imported.startswith(top + "."):
                todo.append(imported)
    # the packages on the way run too, but their own imports (often re-exports of every
    # sibling module) are not followed
    for name in list(found):
        parts = name.split(".")
        for i in range(1, len(parts)):
            parent = ".".join(parts[:i])
            source = _source_of(parent, top, root)
            if source is not None:
                found.setdefault(parent, source)
    return found


def _code_digest(code: types.CodeType, h: Any) -> None:
    h.update(code.co_code)
    h.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _code_digest(const, h)
        else:
            h.update(repr(const).encode())


def _bytecode_digest(cls: type) -> str:
    """For a class without a source file (a notebook): its functions' bytecode, constants
    and names, and its other attributes' reprs."""
    h = hashlib.sha256()
    for name, value in sorted(vars(cls).items()):
        h.update(name.encode())
        function = getattr(value, "__func__", value)
        if isinstance(value, property):
            function = value.fget
        code = getattr(function, "__code__", None)
        if isinstance(code, types.CodeType):
            _code_digest(code, h)
        elif isinstance(value, type):
            h.update(_class_digest(value).encode())
        elif not name.startswith("__"):
            h.update(repr(value).encode())
    return h.hexdigest()


def _class_digest(cls: type) -> str:
    """The digest of one class's own code (its module closure, or its bytecode)."""
    files = module_closure(cls.__module__)
    if files:
        return _combine((name, file_digest(path)) for name, path in files.items())
    return _bytecode_digest(cls)


def component_code(cls: type) -> str:
    """The fingerprint of a component class's code (see the module docstring).

    Not cached beyond the file digests: a notebook that edits a plugin's file and reloads
    its module gets the new fingerprint in the same process."""
    parts: dict[str, str] = {}
    for klass in inspect.getmro(cls):
        if klass is object or (_is_core(klass.__module__) and not _defines_component(klass)):
            continue
        if klass.__module__ == "builtins":
            continue
        files = module_closure(klass.__module__)
        if files:
            parts.update({name: file_digest(path) for name, path in files.items()})
        else:
            parts[f"{klass.__module__}.{klass.__qualname__}"] = _bytecode_digest(klass)
    return _combine(parts.items())


def _defines_component(klass: type) -> bool:
    """A concrete component defined in the core (``original``, ``retrain``, the testing
    helpers): its module is fingerprinted like any plugin's."""
    return bool(getattr(klass, "name", "")) and "name" in vars(klass)


def distribution_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def forget() -> None:
    """Drop the per-process caches (tests that edit files within one mtime tick)."""
    _file_cache.clear()
    _imports_cache.clear()


def callable_code(function: Any) -> str:
    """The fingerprint of a function's code: its module's closure (as for a component), or
    its bytecode when it has no source file."""
    function = getattr(function, "func", function)  # functools.partial
    module = getattr(function, "__module__", None)
    files = module_closure(module) if isinstance(module, str) else {}
    if files:
        return _combine((name, file_digest(path)) for name, path in files.items())
    h = hashlib.sha256()
    code = getattr(function, "__code__", None)
    if isinstance(code, types.CodeType):
        _code_digest(code, h)
    else:
        h.update(repr(type(function)).encode())
    return h.hexdigest()[:20]
