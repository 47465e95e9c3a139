"""A --plugin file whose registration hook raises (bad-input corpus)."""

from supreme import hookimpl


@hookimpl
def supreme_register_methods() -> list[type]:
    raise RuntimeError("registration fails on purpose")
