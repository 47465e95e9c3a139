"""The error tree. Every error a user can cause or fix is a :class:`SupremeError`.

Each carries a message (what went wrong) and a hint (what to do about it). The CLI
prints both on two lines and exits with :attr:`SupremeError.exit_code`: 2 for usage and
configuration problems, 1 for problems at run time.
"""

from __future__ import annotations


class SupremeError(Exception):
    """Base class: a problem with a message and a hint saying how to fix it."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message


class UsageError(SupremeError):
    """The command line or the experiment file asks for something invalid (exit code 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """The experiment configuration does not validate."""


class PluginError(SupremeError):
    """A plugin failed to load, or two plugins register the same name."""

    exit_code = 2


class UnknownComponentError(UsageError):
    """A method, metric, dataset or model name that no loaded plugin provides."""


class DatasetError(SupremeError):
    """A dataset is missing or malformed on disk."""


class StoreError(SupremeError):
    """An artifact in the store is unreadable or inconsistent."""


class StageError(SupremeError):
    """A stage of a cell failed (a method or metric raised, or produced non-finite numbers)."""


class CellsFailed(SupremeError):
    """A run finished, but some cells failed; their errors are in ``failures.jsonl``."""


class Interrupted(SupremeError):
    """The run was stopped by SIGINT or SIGTERM after a stage; every finished artifact is
    kept. Exit code 130 after SIGINT, 143 after SIGTERM: the raiser passes
    :func:`supreme.signals.exit_code`."""

    exit_code = 130

    def __init__(self, message: str, hint: str = "", exit_code: int = 130) -> None:
        super().__init__(message, hint)
        self.exit_code = exit_code
