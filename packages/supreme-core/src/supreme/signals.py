"""SIGINT and SIGTERM: stopping after the current stage, which signal stopped the run,
and the exit code that says so.

SIGTERM (what SLURM sends at a time limit or preemption, and what ``kill`` and
``docker stop`` send) is handled like a first Ctrl-C: the stage in progress finishes, the
finished cells are collected, and the process exits with 143 (128 + 15) instead of 130.
During compute the handler is :func:`interruptible`'s and the runner calls
:func:`check_interrupt` at every stage boundary; everywhere else it is
:func:`supreme.cli.main.main`'s. This module holds the process's one stop state.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from supreme.errors import Interrupted

_last: dict[str, int | None] = {"signal": None}


@dataclass
class _Stop:
    """Whether this process was asked to stop after the current stage, and an optional
    other source of that request (a worker's parent)."""

    requested: bool = False
    external: Callable[[], bool] | None = None


_stop = _Stop()

NAMES = {signal.SIGINT: "Ctrl-C (SIGINT)", signal.SIGTERM: "SIGTERM"}


def record(signum: int) -> None:
    _last["signal"] = signum


def last() -> int | None:
    return _last["signal"]


def reset() -> None:
    _last["signal"] = None


def name(signum: int | None = None) -> str:
    signum = last() if signum is None else signum
    return NAMES.get(signum, "a signal") if signum is not None else "Ctrl-C (SIGINT)"  # type: ignore[arg-type]


def stopped_by() -> str:
    """How a stop message starts: "stopped by SIGTERM" or "interrupted"."""
    return "stopped by SIGTERM" if last() == signal.SIGTERM else "interrupted"


def exit_code() -> int:
    """130 after SIGINT (or no signal), 143 after SIGTERM."""
    return 128 + (last() or signal.SIGINT)


class Terminated(KeyboardInterrupt):
    """SIGTERM outside a stage (while validating, waiting for SLURM, writing a report)."""


def terminate(signum: int, frame: object) -> None:
    """The CLI's SIGTERM handler outside compute: stop like Ctrl-C would."""
    record(signum)
    raise Terminated


# -- stop after the current stage -----------------------------------------------------------
def stop_from(source: Callable[[], bool]) -> None:
    """Let ``source()`` request the stop instead of SIGINT (worker processes: the parent
    handles Ctrl-C and tells its workers through an event)."""
    _stop.external = source


def request_stop() -> None:
    """Stop after the current stage (a worker's SIGTERM handler)."""
    _stop.requested = True


def stop_requested() -> bool:
    """Whether this process was asked to stop after the current stage (Ctrl-C, SIGTERM)."""
    return _stop.requested


def check_interrupt(stage: str) -> None:
    """Raise :class:`~supreme.errors.Interrupted` at a stage boundary when a stop was
    requested."""
    if _stop.requested or (_stop.external is not None and _stop.external()):
        raise Interrupted(
            f"{stopped_by()} after stage {stage!r}; every finished artifact is kept in the store",
            "Run the same command again to resume: finished stages are reused.",
            exit_code(),
        )


def stop_handler(signum: int, frame: object) -> None:
    """First SIGINT or SIGTERM: finish the current stage, then stop; a second one: now."""
    record(signum)
    if _stop.requested:
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt
    _stop.requested = True
    print(f"\nstopping after the current stage ({name(signum)} again to stop now)",
          file=sys.stderr, flush=True)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """First SIGINT or SIGTERM: finish the current stage, then stop; a second one stops at
    once (:func:`stop_handler`). Outside the main thread, or where another source decides
    (:func:`stop_from`), it installs nothing."""
    import threading

    if threading.current_thread() is not threading.main_thread() or _stop.external:
        yield
        return
    previous = {s: signal.signal(s, stop_handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        _stop.requested = False
