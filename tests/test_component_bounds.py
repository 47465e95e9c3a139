"""Every numeric hyperparameter of every installed built-in component is bounded and finite.

One rule for methods, metrics, datasets and models alike (``supreme.contracts.types``): an
int or float field, wherever it sits in the ``Config`` (``X | None``, a tuple of numbers, a
per-context table of rules, a dict of numbers), has a lower and an upper bound, a float
refuses NaN and infinities, and an absurd value (``10**12`` epochs, a ``10**12`` batch) is
refused; the defaults validate.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo
from supreme import registry
from supreme.contracts import ComponentConfig

KINDS = ("methods", "metrics", "datasets", "models")
#: The distributions whose components this covers (the core's own, ``original`` and
#: ``retrain``, have no hyperparameters).
BUILTIN = {"supreme-methods", "supreme-metrics", "supreme-vision", "supreme-hf", "supreme-hello"}
ABSURD = 10**12


# -- walking an annotation down to its numbers -------------------------------------------
@dataclass(frozen=True)
class Leaf:
    """One number a field can hold: where, its type, its bounds, and how to reach it."""

    field: str  #: the top-level field of the Config
    path: str  #: e.g. ``lr``, ``lr_decay_epochs[]``, ``by_context[].alpha``
    type: type
    lower: float | None
    upper: float | None
    #: builds the field's input with ``value`` at this leaf
    wrap: Callable[[Any], Any]


def _constraints(metadata: Sequence[Any]) -> Iterator[Any]:
    for item in metadata:
        if isinstance(item, FieldInfo):  # Annotated[int, Field(ge=1)]
            yield from _constraints(item.metadata)
        elif isinstance(item, at.GroupedMetadata):  # Interval(ge=.., le=..)
            yield from _constraints(list(item))
        else:
            yield item


def _bounds(metadata: Sequence[Any]) -> tuple[float | None, float | None]:
    lower: float | None = None
    upper: float | None = None
    for c in _constraints(metadata):
        bound: Any
        if isinstance(c, (at.Ge, at.Gt)):
            bound = c.ge if isinstance(c, at.Ge) else c.gt
            lower = float(bound) if lower is None else max(lower, float(bound))
        elif isinstance(c, (at.Le, at.Lt)):
            bound = c.le if isinstance(c, at.Le) else c.lt
            upper = float(bound) if upper is None else min(upper, float(bound))
    return lower, upper


Wrap = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _in_mapping(wrap: Wrap) -> Wrap:
    return lambda value: wrap({"key": value})


def _in_sequence(wrap: Wrap, length: int) -> Wrap:
    return lambda value: wrap([value] * length)


def _in_model(wrap: Wrap, name: str) -> Wrap:
    return lambda value: wrap({name: value})


def _leaves(annotation: Any, metadata: Sequence[Any], field: str, path: str,
            wrap: Wrap, seen: frozenset[type] = frozenset()) -> Iterator[Leaf]:
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        yield from _leaves(args[0], [*metadata, *args[1:]], field, path, wrap, seen)
    elif origin is Union or origin is types.UnionType:
        for arg in args:
            if arg is not type(None):
                yield from _leaves(arg, metadata, field, path, wrap, seen)
    elif origin is Literal:
        return
    elif origin is not None and isinstance(origin, type) and issubclass(origin, Mapping):
        if args:
            yield from _leaves(args[-1], [], field, f"{path}[*]", _in_mapping(wrap), seen)
    elif origin is not None and isinstance(origin, type) and issubclass(
            origin, (Sequence, set, frozenset)):
        items = [a for a in args if a is not Ellipsis]
        for item in items:  # a fixed-length tuple gets the value in every position
            yield from _leaves(item, [], field, f"{path}[]", _in_sequence(wrap, len(items)),
                               seen)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return
        for name, info in annotation.model_fields.items():
            yield from _leaves(info.annotation, info.metadata, field, f"{path}.{name}",
                               _in_model(wrap, name), seen | {annotation})
    elif (isinstance(annotation, type) and issubclass(annotation, (int, float))
          and not issubclass(annotation, (bool, Enum))):
        lower, upper = _bounds(metadata)
        yield Leaf(field, path, float if issubclass(annotation, float) else int, lower, upper,
                   wrap)


def numeric_leaves(config_cls: type[BaseModel]) -> list[Leaf]:
    """Every int or float a ``Config`` can hold, with its bounds."""
    return [leaf for name, info in config_cls.model_fields.items()
            for leaf in _leaves(info.annotation, info.metadata, name, name, _identity)]


# -- the checks (each returns what is wrong, one line per problem) -------------------------
def _refuses(config_cls: type[BaseModel], leaf: Leaf, value: Any) -> bool:
    """Whether ``value`` at ``leaf`` is a validation error located in the leaf's field."""
    try:
        config_cls(**{leaf.field: leaf.wrap(value)})
    except ValidationError as exc:
        return any(err["loc"] and err["loc"][0] == leaf.field for err in exc.errors())
    return False


def default_problems(who: str, config_cls: type[BaseModel]) -> list[str]:
    try:
        config_cls.model_validate(config_cls().model_dump())
    except ValidationError as exc:
        return [f"{who}: Config() does not validate: {exc}"]
    return []


def bound_problems(who: str, config_cls: type[BaseModel]) -> list[str]:
    problems = []
    for leaf in numeric_leaves(config_cls):
        for side, bound in (("lower", leaf.lower), ("upper", leaf.upper)):
            if bound is None or not math.isfinite(bound):
                problems.append(f"{who}: field {leaf.path!r} ({leaf.type.__name__}) has no "
                                f"finite {side} bound")
    return problems


def non_finite_problems(who: str, config_cls: type[BaseModel]) -> list[str]:
    return [f"{who}: field {leaf.path!r} accepts {value!r}"
            for leaf in numeric_leaves(config_cls) if leaf.type is float
            for value in (math.inf, -math.inf, math.nan)
            if not _refuses(config_cls, leaf, value)]


def absurd_problems(who: str, config_cls: type[BaseModel]) -> list[str]:
    return [f"{who}: field {leaf.path!r} accepts {value}"
            for leaf in numeric_leaves(config_cls)
            for value in (ABSURD, -ABSURD)
            if not _refuses(config_cls, leaf, value)]


CHECKS = (default_problems, bound_problems, non_finite_problems, absurd_problems)


# -- the installed components ---------------------------------------------------------------
def _components() -> list[tuple[str, type[BaseModel]]]:
    found: list[tuple[str, type[BaseModel]]] = [
        (f"{e.kind}/{e.name} ({e.provenance.distribution})", e.cls.Config)
        for kind in KINDS for e in registry.default().list(kind)  # type: ignore[arg-type]
        if e.provenance.distribution in BUILTIN
    ]
    registry.reset()
    return found


COMPONENTS = _components()
IDS = [who.split(" ")[0] for who, _ in COMPONENTS]


def test_every_builtin_distribution_is_covered() -> None:
    dists = {who.split("(")[1].rstrip(")") for who, _ in COMPONENTS}
    assert dists == BUILTIN
    leaves = {who.split(" ")[0]: {leaf.path for leaf in numeric_leaves(cls)}
              for who, cls in COMPONENTS}
    # the walker reaches numbers behind Optional, in tuples and in per-context tables
    assert {"epochs", "lr", "momentum", "weight_decay", "batch_size"} <= leaves["methods/finetune"]
    assert {"by_context[].alpha", "by_context[].dampening", "alpha"} <= leaves["methods/ssd"]
    assert "lr_decay_epochs[]" in leaves["methods/scrub"]
    assert "by_context[].noise_iterations" in leaves["methods/unsir"]
    assert {"C", "max_iter"} <= leaves["metrics/mia"]
    assert {"split_seed", "image_size", "test_fraction"} <= leaves["datasets/pins"]
    assert {"epochs", "lr", "bias"} <= leaves["methods/hello_forget"]


@pytest.mark.parametrize(("who", "config_cls"), COMPONENTS, ids=IDS)
def test_defaults_validate(who: str, config_cls: type[BaseModel]) -> None:
    assert issubclass(config_cls, ComponentConfig), who
    problems = default_problems(who, config_cls)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("who", "config_cls"), COMPONENTS, ids=IDS)
def test_numeric_fields_have_finite_bounds(who: str, config_cls: type[BaseModel]) -> None:
    problems = bound_problems(who, config_cls)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("who", "config_cls"), COMPONENTS, ids=IDS)
def test_float_fields_refuse_nan_and_infinities(who: str, config_cls: type[BaseModel]) -> None:
    problems = non_finite_problems(who, config_cls)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("who", "config_cls"), COMPONENTS, ids=IDS)
def test_numeric_fields_refuse_absurd_values(who: str, config_cls: type[BaseModel]) -> None:
    problems = absurd_problems(who, config_cls)
    assert not problems, "\n".join(problems)


# -- the checks themselves catch what they should -------------------------------------------
class _Rule(ComponentConfig):
    weight: float | None = None


class _Loose(ComponentConfig):
    model_config = ConfigDict(allow_inf_nan=True)  # merged with the base's

    epochs: int = Field(5, ge=1)
    lr: Annotated[float, at.Gt(0)] | None = 0.1
    milestones: tuple[int, ...] = (1, 2)
    table: tuple[_Rule, ...] = ()
    scales: dict[str, float] = Field(default_factory=dict)
    flag: bool = False
    name: str = "x"


class _Tight(ComponentConfig):
    epochs: int = Field(5, ge=1, le=100)
    lr: Annotated[float, at.Interval(gt=0, le=10)] | None = 0.1
    milestones: tuple[Annotated[int, Field(ge=0, le=100)], ...] = (1, 2)


class _BadDefault(ComponentConfig):
    model_config = ConfigDict(validate_default=False)

    lr: float = Field(-1.0, gt=0, le=1)


def test_the_checks_report_unbounded_and_non_finite_fields() -> None:
    paths = {leaf.path for leaf in numeric_leaves(_Loose)}
    assert paths == {"epochs", "lr", "milestones[]", "table[].weight", "scales[*]"}
    bounds = "\n".join(bound_problems("demo", _Loose))
    assert "demo: field 'epochs' (int) has no finite upper bound" in bounds
    assert "'lr' (float) has no finite upper bound" in bounds
    for path in ("milestones[]", "table[].weight", "scales[*]"):
        assert f"field {path!r}" in bounds
    assert "demo: field 'lr' accepts inf" in non_finite_problems("demo", _Loose)
    absurd = absurd_problems("demo", _Loose)
    assert f"demo: field 'epochs' accepts {ABSURD}" in absurd
    assert f"demo: field 'table[].weight' accepts {ABSURD}" in absurd
    assert default_problems("demo", _BadDefault)


def test_the_checks_accept_bounded_fields() -> None:
    assert {leaf.path: (leaf.lower, leaf.upper) for leaf in numeric_leaves(_Tight)} == {
        "epochs": (1, 100), "lr": (0, 10), "milestones[]": (0, 100)}
    for check in CHECKS:
        assert check("demo", _Tight) == []
