"""Plugin loading: our own loop over the ``supreme`` entry points, on top of pluggy.

Rules (see docs/plugins.md):

* the core registers its built-ins through the same hooks as everybody else;
* ``SUPREME_LOAD_PLUGINS=a,b`` loads only the named plugins, ``SUPREME_DISABLE_PLUGINS=a,b``
  skips the named ones (names are entry-point names or distribution names);
* a plugin that fails to import, or whose hook raises, is skipped with a warning naming it,
  its distribution and version and how to disable it; with ``strict=True``
  (``--strict-plugins``) the failure is fatal;
* hook implementations whose names match no hook (misspelt) are rejected at start-up;
* any other hook (stage callbacks, commands) that raises becomes a :class:`PluginError`
  naming the plugin and the hook, instead of a bare traceback from inside the pipeline.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.util
import os
import re
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from supreme import hookspecs
from supreme.contracts.base import Provenance
from supreme.errors import PluginError, SupremeError

ENTRY_POINT_GROUP = hookspecs.PROJECT
LOAD_ENV = "SUPREME_LOAD_PLUGINS"
DISABLE_ENV = "SUPREME_DISABLE_PLUGINS"
CORE_DISTRIBUTION = "supreme-core"
#: Hooks whose failures the registry handles itself (skip with a warning, or strict).
REGISTRATION_HOOKS = frozenset({
    "supreme_register_methods", "supreme_register_metrics", "supreme_register_datasets",
    "supreme_register_models",
})


class PluginWarning(UserWarning):
    """A plugin was skipped; the message says which and how to silence it."""


@dataclass(frozen=True)
class LoadFailure:
    plugin: str
    distribution: str
    version: str
    error: str


def _env_list(name: str) -> list[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


def core_version() -> str:
    try:
        return metadata.version(CORE_DISTRIBUTION)
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


class PluginManager:
    """Loads plugins and remembers where each came from."""

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.provenance: dict[str, Provenance] = {}
        self.failures: list[LoadFailure] = []

    # -- registration -------------------------------------------------------------
    def register(self, plugin: Any, name: str, provenance: Provenance) -> None:
        """Register a plugin object or module under ``name``."""
        if self.pm.has_plugin(name) or name in self.provenance:
            other = self.provenance.get(name)
            where = f" (already provided by {other.distribution} {other.version})" if other else ""
            raise PluginError(
                f"two plugins are named {name!r}{where}",
                "Rename one of them, or disable one with "
                f"{DISABLE_ENV}={name}.",
            )
        try:
            self.pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(
                f"plugin {name!r} from {provenance.distribution} {provenance.version} "
                f"implements a hook with the wrong arguments: {_hook_problem(exc)}",
                "Match the hook's signature in docs/plugins.md (since supreme-core 0.3.0 the "
                "stage hooks take one argument, event: supreme.contracts.StageEvent).",
            ) from exc
        self.provenance[name] = provenance
        self.check_pending()
        self._guard_hooks(plugin, provenance)

    def _guard_hooks(self, plugin: Any, provenance: Provenance) -> None:
        """Make an exception from ``plugin``'s non-registration hooks a :class:`PluginError`."""
        for caller in self.pm.get_hookcallers(plugin) or []:
            if caller.name in REGISTRATION_HOOKS:
                continue
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and not (impl.hookwrapper or impl.wrapper):
                    impl.function = _guarded(  # type: ignore[misc]
                        impl.function, caller.name, provenance)

    def check_pending(self) -> None:
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            name = self.pm.get_name(exc.plugin) or repr(exc.plugin)
            found = re.search(r"unknown hook '([^']+)'", str(exc))
            hook = found.group(1) if found else str(exc)
            hooks = [h for h in dir(hookspecs) if h.startswith("supreme_")]
            close = difflib.get_close_matches(hook, hooks, n=1)
            raise PluginError(
                f"plugin {name!r} implements a hook that does not exist: {hook!r}",
                (f"Did you mean {close[0]!r}? " if close else "")
                + "Check the hook name against docs/plugins.md (every hook starts with "
                "'supreme_').",
            ) from exc

    def fail(self, plugin: str, distribution: str, version: str, error: BaseException) -> None:
        """Record a plugin failure: a warning, or a :class:`PluginError` when strict."""
        detail = f"{type(error).__name__}: {error}"
        self.failures.append(LoadFailure(plugin, distribution, version, detail))
        message = f"plugin {plugin!r} from {distribution} {version} failed to load: {detail}"
        hint = (
            f"Disable it with {DISABLE_ENV}={plugin}, or fix or uninstall "
            f"{distribution}; --strict-plugins makes this an error."
        )
        if self.strict:
            raise PluginError(message, hint.replace("; --strict-plugins makes this an error.", "."))
        warnings.warn(f"{message}\n{hint}", PluginWarning, stacklevel=2)

    # -- loading ------------------------------------------------------------------
    def load_builtins(self) -> None:
        from supreme import builtins

        self.register(builtins, "supreme", Provenance("supreme", CORE_DISTRIBUTION, core_version()))

    def load_entry_points(self, entry_points: Iterable[metadata.EntryPoint] | None = None) -> None:
        """Load every ``supreme`` entry point allowed by the environment variables."""
        if entry_points is None:
            entry_points = metadata.entry_points(group=ENTRY_POINT_GROUP)
        only, disabled = _env_list(LOAD_ENV), _env_list(DISABLE_ENV) or []
        for ep in sorted(entry_points, key=lambda e: e.name):
            dist = ep.dist.name if ep.dist is not None else "unknown"
            version = ep.dist.version if ep.dist is not None else "unknown"
            names = {ep.name, dist}
            if names & set(disabled) or (only is not None and not names & set(only)):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                self.fail(ep.name, dist, version, exc)
                continue
            self.register(plugin, ep.name, Provenance(ep.name, dist, version))

    def load_path(self, path: str | Path) -> ModuleType:
        """Load an unpackaged plugin from a Python file (``--plugin path.py``)."""
        path = Path(path)
        shown = str(path)
        if not path.is_file():
            what = "is a directory, not a file" if path.is_dir() else "does not exist"
            raise PluginError(
                f"plugin file {shown!r} {what}",
                "Pass the path of a Python file that defines supreme_* hook functions.",
            )
        if path.suffix != ".py":
            raise PluginError(
                f"plugin file {shown!r} is not a Python file (.py)",
                "Pass the path of a .py file that defines supreme_* hook functions; installed "
                "plugins are found through their entry points without --plugin.",
            )
        name = f"supreme_file_plugin_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise PluginError(f"cannot import {shown!r}", "Pass a .py file.")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except (Exception, SystemExit) as exc:
            sys.modules.pop(name, None)
            detail = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, SyntaxError):
                detail = f"SyntaxError at line {exc.lineno}: {exc.msg}"
            elif isinstance(exc, SystemExit):
                detail = f"it called sys.exit({exc.code!r})"
            raise PluginError(
                f"plugin file {shown!r} raised on import: {detail}",
                "Fix the file, or drop the --plugin option.",
            ) from exc
        self.register(module, path.stem, Provenance(path.stem, shown, "file"))
        return module

    def plugins(self) -> list[tuple[str, Any, Provenance]]:
        return [(n, p, self.provenance[n]) for n, p in self.pm.list_name_plugin()]

    def hookimpls(self, hook: str) -> list[pluggy.HookImpl]:
        return list(getattr(self.pm.hook, hook).get_hookimpls())


def _hook_problem(exc: BaseException) -> str:
    """``supreme_x takes {'a', 'b'}, which the hook does not have`` from pluggy's message."""
    text = str(exc)
    hook = re.search(r"for hook '([^']+)'", text)
    args = re.search(r"Argument\(s\) (\{[^}]*\})", text)
    if hook and args:
        names = ", ".join(sorted(re.findall(r"'([^']+)'", args.group(1))))
        return f"{hook.group(1)} takes {names}, which the hook does not have"
    return text.strip().splitlines()[0][:300] if text.strip() else type(exc).__name__


def _guarded(function: Any, hook: str, p: Provenance) -> Any:
    """``function`` with its exceptions (other than SUPREME's own) as a :class:`PluginError`."""

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except SupremeError:
            raise
        except Exception as exc:
            raise PluginError(
                f"plugin {p.plugin!r} from {p.distribution} {p.version} raised in its {hook} "
                f"hook: {type(exc).__name__}: {exc}",
                f"Fix the plugin, or disable it with {DISABLE_ENV}={p.plugin} (a file plugin: "
                "drop its --plugin option).",
            ) from exc

    return call
