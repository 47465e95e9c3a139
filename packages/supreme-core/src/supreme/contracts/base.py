"""What every pluggable component shares: a name, a validated config and provenance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Generic, cast, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError
from typing_extensions import TypeVar


class ComponentConfig(BaseModel):
    """Base class of every component's configuration.

    Unknown keys are rejected, defaults are validated like given values, floats must be
    finite (NaN and infinities are refused), and instances are immutable, so a config can
    be hashed into the store key of everything it influences. Bounded numeric types for
    common hyperparameters are in :mod:`supreme.contracts.types`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True,
                              allow_inf_nan=False)


def config_defaults_error(config_cls: Any) -> str | None:
    """Why the defaults of ``config_cls`` are not valid (``"field = value: reason"``), or
    ``None`` when every default validates.

    A field without a default is *required*: it is not an error here, and every experiment
    using the component must set it (the run's configuration check names it). The defaults
    that exist are validated as given values, so a subclass that turned ``validate_default``
    off is checked all the same.
    """
    if not (isinstance(config_cls, type) and issubclass(config_cls, ComponentConfig)):
        return f"its Config ({config_cls!r}) is not a subclass of ComponentConfig"
    defaults: dict[str, Any] = {}
    for name, field in config_cls.model_fields.items():
        if field.is_required():
            continue
        try:
            defaults[field.alias or name] = field.get_default(call_default_factory=True,
                                                                validated_data=dict(defaults))
        except Exception as exc:  # a default_factory that raises
            return f"{name}: its default_factory raised {type(exc).__name__}: {exc}"
    try:
        config_cls.model_validate(defaults)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            if err["type"] == "missing":
                continue
            field_name = ".".join(str(p) for p in err["loc"]) or "(config)"
            problems.append(f"{field_name} = {err.get('input')!r}: {err['msg']}")
        return "; ".join(problems) or None
    return None


@dataclass(frozen=True)
class Provenance:
    """Where a registered component comes from."""

    plugin: str
    distribution: str
    version: str

    def as_dict(self) -> dict[str, str]:
        return {"plugin": self.plugin, "distribution": self.distribution, "version": self.version}


#: The configuration type of a component (``Component[MyConfig]``).
C = TypeVar("C", bound=ComponentConfig, default=ComponentConfig, covariant=True)


class Component(Generic[C]):
    """Base class of methods, metrics, datasets and models, generic in their config type.

    Subclasses set ``name`` and, when they have hyperparameters, a ``Config`` subclass of
    :class:`ComponentConfig` holding every one of them with its default. Declaring the
    config as the type argument types ``self.config`` for mypy and sets ``Config``::

        class MyConfig(ComponentConfig):
            epochs: Epochs = 2

        class MyMethod(UnlearningMethod[MyConfig]):   # self.config: MyConfig
            name = "my_method"

    A nested ``class Config(ComponentConfig)`` (with ``config: Config`` in the class body
    for type checkers) works the same at run time.
    """

    name: ClassVar[str] = ""
    Config: ClassVar[type[ComponentConfig]] = ComponentConfig
    config: C

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "Config" in vars(cls):
            return
        for base in getattr(cls, "__orig_bases__", ()):
            args = get_args(base)
            if (args and isinstance(args[0], type) and issubclass(args[0], ComponentConfig)
                    and get_origin(base) is not Generic):
                cls.Config = args[0]  # Component[MyConfig] declares Config = MyConfig
                return

    def __init__(self, config: C | None = None) -> None:
        self.config = config if config is not None else cast(C, self.Config())

    @classmethod
    def describe(cls) -> str:
        """One line for ``supreme list``: the first line of the class docstring."""
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""
