"""The ``supreme`` command line: thin Typer commands over library functions."""

from supreme.cli.main import main

__all__ = ["main"]
