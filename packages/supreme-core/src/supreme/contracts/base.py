"""What every pluggable component shares: a name, a validated config and provenance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class ComponentConfig(BaseModel):
    """Base class of every component's configuration.

    Unknown keys are rejected and instances are immutable, so a config can be hashed into
    the store key of everything it influences.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Provenance:
    """Where a registered component comes from."""

    plugin: str
    distribution: str
    version: str

    def as_dict(self) -> dict[str, str]:
        return {"plugin": self.plugin, "distribution": self.distribution, "version": self.version}


class Component:
    """Base class of methods, metrics, datasets and models.

    Subclasses set ``name`` and, when they have hyperparameters, a nested ``Config``
    subclass of :class:`ComponentConfig` holding every one of them with its default.
    """

    name: ClassVar[str] = ""
    Config: ClassVar[type[ComponentConfig]] = ComponentConfig

    def __init__(self, config: ComponentConfig | None = None) -> None:
        self.config = config if config is not None else self.Config()

    @classmethod
    def describe(cls) -> str:
        """One line for ``supreme list``: the first line of the class docstring."""
        doc = (cls.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""
