"""Entry point and the one error boundary of the CLI.

The global options (``--debug``, ``--strict-plugins``, ``--plugin PATH``;
:mod:`supreme.cli.options`) are read before the Typer app is built (plugins may add
commands to it) and accepted anywhere on the command line. A :class:`SupremeError` becomes
a two-line red message (the problem, then the fix) and its exit code (2 usage/config,
1 runtime); ``--debug`` shows the traceback.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence

from supreme.cli.options import GlobalOptions, split_global_options
from supreme.errors import SupremeError

__all__ = ["GlobalOptions", "main", "print_error", "split_global_options"]


def print_error(error: SupremeError) -> None:
    from rich.console import Console
    from rich.markup import escape

    from supreme.secrets import scrub

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    console.print(f"[bold red]Error:[/] {escape(scrub(error.message))}")
    if error.hint:
        console.print(f"[red]Fix:[/] {escape(scrub(error.hint))}")


def _show_warning(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.markup import escape

    from supreme.secrets import scrub

    text = scrub(str(message))
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[yellow]warning:[/] {escape(text)}")


def main(argv: Sequence[str] | None = None) -> None:
    import signal
    import threading

    from supreme import signals

    options, args = split_global_options(sys.argv[1:] if argv is None else argv)
    warnings.showwarning = _show_warning
    signals.reset()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, signals.terminate)  # like Ctrl-C, exit 143
    try:
        _main(options, args)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main(options: GlobalOptions, args: list[str]) -> None:
    from supreme import signals

    try:
        from supreme import registry
        from supreme.cli.app import build_app

        registry.configure(strict=options.strict_plugins, paths=options.plugins)
        app = build_app()
        app(args=args, prog_name="supreme", standalone_mode=True)
    except SupremeError as error:
        if options.debug:
            raise
        print_error(error)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        print(f"stopped by {signals.name()}", file=sys.stderr)
        sys.exit(signals.exit_code())
    except Exception as exc:  # a bug, not bad input: short message unless --debug
        if options.debug:
            raise
        print_error(SupremeError(
            f"unexpected {type(exc).__name__}: {exc}",
            "Rerun with --debug for the traceback, and please report it with `supreme env`.",
        ))
        sys.exit(1)
