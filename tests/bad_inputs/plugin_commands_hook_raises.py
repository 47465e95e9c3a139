"""A --plugin file whose command-registration hook raises (bad-input corpus)."""

from typing import Any

from supreme import hookimpl


@hookimpl
def supreme_register_commands(app: Any) -> None:
    raise ValueError("adding commands fails on purpose")
