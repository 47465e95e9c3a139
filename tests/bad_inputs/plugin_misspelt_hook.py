"""A --plugin file whose hook name is misspelt (bad-input corpus)."""

from supreme import hookimpl


@hookimpl
def supreme_register_method() -> list[type]:  # missing the final "s"
    return []
