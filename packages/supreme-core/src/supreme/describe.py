"""``supreme describe COMPONENT``: a component's provenance, summary and hyperparameters.

Everything comes from the registry entry and the component's pydantic ``Config``; nothing
imports torch.
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any

from supreme.errors import UsageError
from supreme.registry import KINDS, SINGULAR, Entry, Registry, unknown

_BOUNDS = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"), ("min_length", "min length"),
           ("max_length", "max length"))


def find(registry: Registry, name: str, kind: str | None = None) -> Entry:
    """The entry named ``name`` (``KIND:NAME`` or ``kind`` narrow it down)."""
    if kind is None and ":" in name and name.partition(":")[0] in registry.families:
        kind = "dataset"  # a dataset family's member, e.g. hf:ORG/NAME
    elif kind is None and ":" in name:
        kind, _, name = name.partition(":")
    if kind is not None:
        plural = {v: k for k, v in SINGULAR.items()}.get(kind, kind)
        if plural not in KINDS:
            raise UsageError(f"unknown kind {kind!r}",
                             "Use method, metric, dataset or model (e.g. metric:accuracy).")
        return registry.entry(plural, name)
    found = [registry.entries[k][name] for k in KINDS if name in registry.entries[k]]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        kinds = ", ".join(f"{SINGULAR[e.kind]}:{name}" for e in found)
        raise UsageError(f"{name!r} names several components: {kinds}",
                         f"Say which, e.g. supreme describe {SINGULAR[found[0].kind]}:{name}.")
    every = sorted({n for k in KINDS for n in registry.entries[k]})
    error = unknown("component", name, every)
    raise UsageError(error.message, error.hint.replace("Known component:", "Known components:").replace(
        "(see `supreme list component`; a missing plugin may need `pip install`)",
        "(`supreme list methods|metrics|datasets|models`; a missing plugin may need "
        "`pip install`)"))


def summary(cls: type) -> str:
    """The first paragraph of the class docstring, on one line."""
    doc = inspect.cleandoc(cls.__doc__ or "")
    return " ".join(doc.split("\n\n")[0].split())


def type_name(annotation: Any) -> str:
    """A readable type: ``int``, ``float | None``, ``'a' | 'b'``, ``list[int]``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if annotation is type(None):
        return "None"
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(type_name(a) for a in args)}]" if args else name
    return getattr(annotation, "__name__", str(annotation).replace("typing.", ""))


def bounds(field: Any) -> list[str]:
    """``[">= 1", "<= 100000", "finite"]`` from a pydantic field's constraints, including
    those inside ``Annotated`` types nested in ``X | None`` or containers."""
    found: list[str] = []

    def add(text: str) -> None:
        if text not in found:
            found.append(text)

    def visit(items: Any) -> None:
        for item in items:
            # annotated_types.Ge/Gt/Le/Lt/MinLen/MaxLen and pydantic's Field(ge=...) metadata
            for attr, label in _BOUNDS:
                value = getattr(item, attr, None)
                if value is not None and not callable(value):
                    add(f"{label} {value}")
            if getattr(item, "allow_inf_nan", True) is False:
                add("finite")

    def walk(annotation: Any) -> None:
        if typing.get_origin(annotation) is typing.Annotated:
            args = typing.get_args(annotation)
            visit(args[1:])
            walk(args[0])
        else:
            for arg in typing.get_args(annotation):
                walk(arg)

    visit(field.metadata)
    walk(field.annotation)
    return found


def _default(field: Any) -> Any:
    if field.default_factory is not None:
        try:
            return field.default_factory()
        except TypeError:
            return None
    default = field.default
    if hasattr(default, "model_dump"):
        return default.model_dump(mode="json")
    return default


def describe(entry: Entry) -> dict[str, Any]:
    """Everything ``supreme describe`` prints, as plain data (JSON-able)."""
    cls = entry.cls
    config_cls = cls.Config
    params = []
    finite = config_cls.model_config.get("allow_inf_nan") is False
    for name, field in config_cls.model_fields.items():
        default = _default(field)
        limits = bounds(field)
        kind = type_name(field.annotation)
        if finite and "float" in kind and "finite" not in limits:
            limits.append("finite")
        params.append({
            "name": name,
            "type": kind,
            "default": default if isinstance(default, (str, int, float, bool, type(None), list, dict))
            else str(default),
            "bounds": limits,
            "description": field.description or "",
        })
    info: dict[str, Any] = {
        "kind": SINGULAR[entry.kind],
        "name": entry.name,
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "summary": summary(cls),
        **entry.provenance.as_dict(),
        "hyperparameters": params,
    }
    for attr in ("scenarios", "needs", "non_finite_keys", "detail_keys"):
        value = getattr(cls, attr, None)
        if isinstance(value, (frozenset, set)) and (value or attr == "scenarios"):
            info[attr] = sorted(value)
    if entry.kind == "methods":
        info["reference"] = getattr(cls, "reference", None)
        space = getattr(cls, "search_space", None) or {}
        info["search_space"] = {field: search.as_dict() for field, search in space.items()}
    return info
