"""A --plugin file registering a method under a name the core already provides (bad-input corpus)."""

from typing import Any

from supreme import hookimpl
from supreme.contracts import UnlearningMethod


class Retrain(UnlearningMethod):
    """A second 'retrain'."""

    name = "retrain"

    def unlearn(self, model: Any, data: Any, fabric: Any) -> Any:
        return model


@hookimpl
def supreme_register_methods() -> list[type[UnlearningMethod]]:
    return [Retrain]
