"""A --plugin file registering a method whose name is not a valid name (bad-input corpus)."""

from typing import Any

from supreme import hookimpl
from supreme.contracts import UnlearningMethod


class BadName(UnlearningMethod):
    """Its name has a capital letter and a dash."""

    name = "Bad-Name"

    def unlearn(self, model: Any, data: Any, fabric: Any) -> Any:
        return model


@hookimpl
def supreme_register_methods() -> list[type[UnlearningMethod]]:
    return [BadName]
