"""SIGINT and SIGTERM: which one stopped the run, and the exit code that says so.

SIGTERM (what SLURM sends at a time limit or preemption, and what ``kill`` and
``docker stop`` send) is handled like a first Ctrl-C: the stage in progress finishes, the
finished cells are collected, and the process exits with 143 (128 + 15) instead of 130.
The handlers live in :func:`supreme.pipeline.run.interruptible` (during compute) and in
:func:`supreme.cli.main.main` (everywhere else); this module only remembers the signal.
"""

from __future__ import annotations

import signal

_last: dict[str, int | None] = {"signal": None}

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
