"""Per-context defaults: hyperparameters whose reference value depends on the cell.

A method's ``Config`` leaves such a hyperparameter at ``None`` ("use the table") and holds
a ``by_context`` tuple of rules. A rule names the scenario, datasets and models (model
names or families) it applies to and the values it sets; :func:`resolve` applies every
matching rule in order (later rules win) to the fields the user left at ``None``. So the
experiment file can either set the value outright (``[method.ssd] alpha = 5``) or replace
the table (``[[method.ssd.by_context]] ...``).

No torch here: this module is imported when the plugin loads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field
from supreme.contracts import ComponentConfig

if TYPE_CHECKING:
    from supreme.contracts import UnlearnData

MATCH_FIELDS = ("scenario", "datasets", "models")


class ContextRule(ComponentConfig):
    """Values that apply to cells matching every given condition (empty = any)."""

    scenario: Literal["fullclass", "subclass", "random"] | None = None
    datasets: tuple[str, ...] = Field(default=(), description="dataset names (case-insensitive)")
    models: tuple[str, ...] = Field(
        default=(), description="model names or families (case-insensitive)"
    )

    def matches(self, scenario: str, dataset: str, model_names: tuple[str, ...]) -> bool:
        if self.scenario is not None and self.scenario != scenario:
            return False
        if self.datasets and dataset.lower() not in {d.lower() for d in self.datasets}:
            return False
        wanted = {m.lower() for m in self.models}
        return not self.models or any(m.lower() in wanted for m in model_names)

    def values(self) -> dict[str, Any]:
        """The hyperparameters this rule sets (every non-match field that is not None)."""
        return {k: v for k, v in self if k not in MATCH_FIELDS and v is not None}


def resolve(config: ComponentConfig, data: UnlearnData) -> dict[str, Any]:
    """``config`` as a dict, with ``None`` fields filled from its matching ``by_context`` rules."""
    values = {k: v for k, v in config if k != "by_context"}
    explicit = {k for k, v in values.items() if v is not None}
    models = (data.model_name, data.model_family)
    for rule in getattr(config, "by_context", ()):
        if rule.matches(data.scenario, data.dataset_name, models):
            values.update({k: v for k, v in rule.values().items() if k not in explicit})
    return values
