"""The global options of the ``supreme`` command line, declared once.

``--debug``, ``--strict-plugins`` and ``--plugin PATH`` are read before the Typer app is
built (plugins may add commands to it), wherever they appear on the command line.
:data:`GLOBAL_OPTIONS` is the one declaration: :func:`split_global_options` parses from it
and the app's callback shows it in ``supreme --help``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class GlobalOption:
    flag: str
    attribute: str
    help: str
    takes_value: bool = False


GLOBAL_OPTIONS: tuple[GlobalOption, ...] = (
    GlobalOption("--debug", "debug", "Show tracebacks."),
    GlobalOption("--strict-plugins", "strict_plugins", "Fail when a plugin cannot be loaded."),
    GlobalOption("--plugin", "plugins", "Load a plugin from a .py file (repeatable).",
                 takes_value=True),
)
OPTION = {o.flag: o for o in GLOBAL_OPTIONS}


@dataclass
class GlobalOptions:
    debug: bool = False
    strict_plugins: bool = False
    plugins: list[str] = field(default_factory=list)


def split_global_options(argv: Sequence[str]) -> tuple[GlobalOptions, list[str]]:
    """Take the global options out of ``argv`` wherever they appear (not after ``--``)."""
    options, rest = GlobalOptions(), []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        flag, eq, value = arg.partition("=")
        option = OPTION.get(flag)
        if option is None or (eq and not option.takes_value):
            rest.append(arg)
        elif not option.takes_value:
            setattr(options, option.attribute, True)
        elif eq:
            getattr(options, option.attribute).append(value)
        elif i + 1 >= len(args):
            rest.append(arg)  # let Typer report the missing value
        else:
            getattr(options, option.attribute).append(args[i + 1])
            i += 1
        i += 1
    return options, rest
