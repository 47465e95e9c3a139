"""A --plugin file that raises while it is imported (bad-input corpus)."""

raise RuntimeError("this plugin fails on import on purpose")
