"""A typed facade over the registration hooks: the only module that calls them.

>>> from supreme import registry
>>> registry.get_method("finetune")            # doctest: +SKIP
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from supreme import hookspecs
from supreme.contracts import DatasetSpec, Metric, ModelSpec, UnlearningMethod
from supreme.contracts.base import Component, Provenance, config_defaults_error
from supreme.errors import PluginError, UnknownComponentError, UsageError
from supreme.plugins import PluginManager

Kind = Literal["methods", "metrics", "datasets", "models"]
KINDS: tuple[Kind, ...] = ("methods", "metrics", "datasets", "models")
BASES: dict[str, type[Component]] = {
    "methods": UnlearningMethod,
    "metrics": Metric,
    "datasets": DatasetSpec,
    "models": ModelSpec,
}
SINGULAR = {"methods": "method", "metrics": "metric", "datasets": "dataset", "models": "model"}
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
C = TypeVar("C", bound=Component)


@dataclass(frozen=True)
class Entry:
    """One registered component: its class and where it came from."""

    kind: str
    name: str
    cls: type[Component]
    provenance: Provenance

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": SINGULAR[self.kind],
            "name": self.name,
            "description": self.cls.describe(),
            **self.provenance.as_dict(),
        }


class Registry:
    """Every component that the loaded plugins register, by kind and name."""

    def __init__(self, plugins: PluginManager) -> None:
        self.plugins = plugins
        self.entries: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}
        #: dataset families by prefix (``hf`` claims every ``hf:REST``), and the members
        #: resolved so far (:meth:`family_member`)
        self.families: dict[str, Entry] = {}
        self._members: dict[str, Entry] = {}
        for kind in KINDS:
            self._collect(kind)


    @property
    def hooks(self) -> Any:
        """The plugins' hook relay (``hooks.supreme_stage_end(event=...)`` calls them all)."""
        return self.plugins.pm.hook
    def _collect(self, kind: Kind) -> None:
        base = BASES[kind]
        for impl in self.plugins.hookimpls(f"supreme_register_{kind}"):
            provenance = self.plugins.provenance[impl.plugin_name]
            try:
                classes = list(impl.function() or ())
                for cls in classes:
                    _check_component(cls, base, kind, provenance)
            except PluginError:
                raise
            except Exception as exc:
                self.plugins.fail(impl.plugin_name, provenance.distribution, provenance.version, exc)
                continue
            for cls in classes:
                _check_defaults(cls, kind, provenance)
                self._add(kind, cls, provenance)

    def _add(self, kind: Kind, cls: type[Component], provenance: Provenance) -> None:
        prefix = getattr(cls, "prefix", None) if kind == "datasets" else None
        if prefix is not None:
            self._add_family(cls, prefix, provenance)
            return
        existing = self.entries[kind].get(cls.name)
        if existing is not None:
            raise PluginError(
                f"two plugins register the {SINGULAR[kind]} {cls.name!r}: "
                f"{_who(existing.provenance)} and {_who(provenance)}",
                "Uninstall or disable one of them "
                f"(SUPREME_DISABLE_PLUGINS={provenance.plugin}).",
            )
        self.entries[kind][cls.name] = Entry(kind, cls.name, cls, provenance)

    def _add_family(self, cls: type[Component], prefix: Any, provenance: Provenance) -> None:
        """A dataset class with a ``prefix`` claims every name ``PREFIX:REST``."""
        if not (isinstance(prefix, str) and NAME_PATTERN.match(prefix)):
            raise PluginError(
                f"{_who(provenance)} registers the dataset family {cls.name!r} with prefix "
                f"{prefix!r}, which is not a valid name",
                "A prefix is lowercase letters, digits and underscores, starting with a letter "
                f"(disable the plugin with SUPREME_DISABLE_PLUGINS={provenance.plugin}).",
            )
        existing = self.families.get(prefix)
        if existing is not None:
            raise PluginError(
                f"two plugins claim the dataset names {prefix}:*: "
                f"{_who(existing.provenance)} and {_who(provenance)}",
                "Uninstall or disable one of them "
                f"(SUPREME_DISABLE_PLUGINS={provenance.plugin}).",
            )
        self.families[prefix] = Entry("datasets", f"{prefix}:*", cls, provenance)

    def family_member(self, kind: Kind, name: str) -> Entry | None:
        """The entry of a dataset ``PREFIX:REST`` that a family claims (``None`` when no
        family claims ``name``). The family's ``member(name)`` gives the class, once per
        name; ``PREFIX:*`` is the family itself (what ``supreme list datasets`` shows)."""
        prefix, sep, rest = name.partition(":")
        family = self.families.get(prefix) if kind == "datasets" and sep else None
        if family is None:
            return None
        if rest == "*":
            return family
        if name not in self._members:
            cls = family.cls.member(name)  # type: ignore[attr-defined]
            if not (isinstance(cls, type) and issubclass(cls, family.cls)
                    and getattr(cls, "name", None) == name):
                raise PluginError(
                    f"{_who(family.provenance)}: the dataset family {prefix}:* answered "
                    f"{name!r} with {cls!r}, not a subclass of {family.cls.__name__} named "
                    f"{name!r}",
                    f"Fix {family.cls.__module__}.{family.cls.__qualname__}.member, or disable "
                    f"the plugin with SUPREME_DISABLE_PLUGINS={family.provenance.plugin}.",
                )
            self._members[name] = Entry("datasets", name, cls, family.provenance)
        return self._members[name]

    # -- lookup ---------------------------------------------------------------------
    def names(self, kind: Kind) -> list[str]:
        """Registered names, and ``PREFIX:*`` for each dataset family."""
        families = [e.name for e in self.families.values()] if kind == "datasets" else []
        return sorted([*self.entries[kind], *families])

    def entry(self, kind: Kind, name: str) -> Entry:
        """The entry of ``name``; a method variant ``NAME@LABEL`` is method ``NAME``'s
        (configured by its own ``[method."NAME@LABEL"]`` table, see :func:`variant_base`)."""
        base = variant_base(kind, name)
        found = self.entries[kind].get(base) or self.family_member(kind, base)
        if found is None:
            raise unknown(kind, base, self.names(kind))
        return found

    def has(self, kind: Kind, name: str) -> bool:
        """Whether ``name`` (or the method a variant ``NAME@LABEL`` runs) is registered, or
        a dataset family claims it (a name the family refuses raises its error)."""
        try:
            base = variant_base(kind, name)
        except UsageError:
            return False
        return base in self.entries[kind] or self.family_member(kind, base) is not None

    def get(self, kind: Kind, name: str) -> type[Component]:
        return self.entry(kind, name).cls

    def list(self, kind: Kind) -> list[Entry]:
        return [self.entry(kind, n) for n in self.names(kind)]


#: A method variant: ``NAME@LABEL`` runs method ``NAME`` with its own config table, so one
#: experiment can compare two settings of a method (``neg_grad`` and ``neg_grad@tuned``).
VARIANT_PATTERN = re.compile(r"^([a-z][a-z0-9_]*)@([a-z0-9][a-z0-9_]*)$")


def variant_base(kind: str, name: str) -> str:
    """The registered name behind ``name``: ``NAME`` for a method variant ``NAME@LABEL``,
    ``name`` itself otherwise. A malformed variant raises a :class:`UsageError`."""
    if "@" not in name:
        return name
    match = VARIANT_PATTERN.match(name)
    if kind != "methods" or match is None:
        what = SINGULAR.get(kind, kind)
        raise UsageError(
            f"{what} name {name!r} is not valid" + (": only methods have variants"
                                                     if kind != "methods" else ""),
            "A method variant is NAME@LABEL (lowercase letters, digits and underscores), "
            "e.g. neg_grad@tuned, configured by its own [method.\"NAME@LABEL\"] table.")
    return match.group(1)


def unknown(kind: str, name: str, known: Sequence[str]) -> UnknownComponentError:
    """The error for a name no plugin provides, with the closest match suggested."""
    what = SINGULAR.get(kind, kind)
    close = difflib.get_close_matches(name, known, n=1)
    suggestion = f"Did you mean {close[0]!r}? " if close else ""
    listing = ", ".join(known) if known else "none installed"
    return UnknownComponentError(
        f"unknown {what} {name!r}",
        f"{suggestion}Known {kind}: {listing} (see `supreme list {kind}`; "
        "a missing plugin may need `pip install`).",
    )


def _who(p: Provenance) -> str:
    return f"plugin {p.plugin!r} ({p.distribution} {p.version})"


def _check_component(cls: Any, base: type[Component], kind: str, p: Provenance) -> None:
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise TypeError(
            f"supreme_register_{kind} returned {cls!r}, which is not a {base.__name__} subclass"
        )
    if not NAME_PATTERN.match(getattr(cls, "name", "") or ""):
        raise TypeError(
            f"{cls.__name__}.name = {cls.name!r} is not a valid name "
            "(lowercase letters, digits and underscores, starting with a letter)"
        )


def _check_defaults(cls: type[Component], kind: str, p: Provenance) -> None:
    """A component whose Config has a default outside its own bounds cannot be registered:
    every run using that default would fail, or silently use an out-of-range value. A field
    without a default is required, which is fine: the run's configuration check asks for it."""
    problem = config_defaults_error(getattr(cls, "Config", None))
    if problem is not None:
        raise PluginError(
            f"{_who(p)} registers the {SINGULAR[kind]} {cls.name!r} with an invalid Config: "
            f"{problem}",
            f"Fix the default(s) in {cls.__module__}.{cls.__qualname__}.Config (a default "
            "must lie within its field's bounds; leave it out to make the field required), or "
            f"disable the plugin with SUPREME_DISABLE_PLUGINS={p.plugin}.",
        )


# -- the process-wide default registry (what the CLI and the Python API use) ----------
_state: dict[str, Any] = {"registry": None, "strict": False, "paths": [], "runtime": []}


def configure(*, strict: bool = False, paths: Iterable[str | Path] = ()) -> None:
    """Set loading options for the default registry and forget any loaded one."""
    _state.update(strict=strict, paths=list(paths), registry=None)


def register_plugin(plugin: Any, name: str | None = None) -> None:
    """Register a plugin object or module at run time (the notebook form of an entry point).

    Registering again under a name that a runtime registration already holds replaces
    that plugin, with a one-line notice on stderr: re-running a notebook cell that defines
    and registers a plugin is safe. A name held by an installed plugin (an entry point) or
    a ``--plugin`` file is still an error when the registry is built.
    """
    import sys

    plugin_name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
    runtime: list[tuple[Any, str]] = _state["runtime"]
    for i, (_, existing) in enumerate(runtime):
        if existing == plugin_name:
            runtime[i] = (plugin, plugin_name)
            print(f"supreme: replaced the runtime plugin {plugin_name!r}", file=sys.stderr)
            break
    else:
        runtime.append((plugin, plugin_name))
    _state["registry"] = None


def unregister_plugin(name: str) -> None:
    """Remove a plugin registered with :func:`register_plugin`; its components are gone
    from the next lookup. Raises :class:`~supreme.errors.UsageError` for any other name."""
    runtime: list[tuple[Any, str]] = _state["runtime"]
    names = [n for _, n in runtime]
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        raise UsageError(
            f"no runtime plugin is named {name!r}",
            (f"Did you mean {close[0]!r}? " if close else "")
            + "Runtime plugins: " + (", ".join(names) or "none") + " (installed plugins are "
            "disabled with SUPREME_DISABLE_PLUGINS, not unregistered).",
        )
    runtime[:] = [(p, n) for p, n in runtime if n != name]
    _state["registry"] = None


def reset() -> None:
    """Forget runtime plugins and options (used by tests)."""
    _state.update(registry=None, strict=False, paths=[], runtime=[])


def default() -> Registry:
    """The registry built from built-ins, entry points, ``--plugin`` files and runtime plugins."""
    if _state["registry"] is None:
        plugins = PluginManager(strict=_state["strict"])
        plugins.load_builtins()
        plugins.load_entry_points()
        for path in _state["paths"]:
            plugins.load_path(path)
        for plugin, name in _state["runtime"]:
            plugins.register(plugin, name, Provenance(name, "<runtime>", "-"))
        _state["registry"] = Registry(plugins)
    return _state["registry"]


def get_method(name: str) -> type[UnlearningMethod]:
    return default().get("methods", name)  # type: ignore[return-value]


def get_metric(name: str) -> type[Metric]:
    return default().get("metrics", name)  # type: ignore[return-value]


def get_dataset(name: str) -> type[DatasetSpec]:
    return default().get("datasets", name)  # type: ignore[return-value]


def get_model(name: str) -> type[ModelSpec]:
    return default().get("models", name)  # type: ignore[return-value]


def list_components(kind: Kind) -> list[Entry]:
    if kind not in KINDS:
        raise unknown("kind", kind, KINDS)
    return default().list(kind)


def portable_state(extra_paths: Iterable[str | Path] = ()) -> dict[str, Any]:
    """What another process needs to rebuild this registry: the plugin options, the
    ``--plugin`` files and the runtime-registered plugins that are importable modules.

    A runtime plugin that is a plain object (not a module) cannot travel; when it
    registers components or commands it is named in ``skipped`` so the caller can say so
    (one with only observer hooks needs nothing there: the parent observes the run).
    """
    import types

    from supreme.observers import HOOKS

    modules, skipped = [], []
    for plugin, name in _state["runtime"]:
        if isinstance(plugin, types.ModuleType):
            modules.append(plugin.__name__)
        elif any(callable(getattr(plugin, hook, None)) for hook in dir(hookspecs)
                 if hook.startswith("supreme_") and hook not in HOOKS):
            skipped.append(name)
    return {"strict": _state["strict"],
            "paths": [str(p) for p in [*_state["paths"], *extra_paths]],
            "modules": modules, "skipped": skipped}


def restore_state(state: dict[str, Any]) -> None:
    """Rebuild the default registry's plugin set in a fresh process (see portable_state)."""
    import importlib

    configure(strict=state["strict"], paths=list(dict.fromkeys(state["paths"])))
    _state["runtime"] = []
    for module in state["modules"]:
        register_plugin(importlib.import_module(module))
