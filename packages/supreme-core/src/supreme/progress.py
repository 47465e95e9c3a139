"""Progress bars for long loops: rich bars on an interactive terminal, silence otherwise.

Methods and the pipeline call :func:`track`; the CLI decides whether bars are shown
(never with ``--json``, never on ranks other than 0, never when stderr is not a terminal).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

_state: dict[str, Any] = {"enabled": None, "progress": None}


def enable(flag: bool | None) -> None:
    """``True``/``False`` forces bars on/off; ``None`` shows them on a terminal only."""
    _state["enabled"] = flag


def _enabled() -> bool:
    flag = _state["enabled"]
    if flag is None:
        return sys.stderr.isatty()
    return bool(flag)


@contextlib.contextmanager
def track(total: int, description: str) -> Iterator[Callable[[int], None]]:
    """A context yielding ``advance(n)``; draws a bar when bars are enabled."""
    if not _enabled() or total <= 0:
        yield lambda n=1: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    outer = _state["progress"] is None
    progress = _state["progress"] or Progress(
        TextColumn("[bold blue]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    if outer:
        _state["progress"] = progress
        progress.start()
    task = progress.add_task(description, total=total)
    try:
        yield lambda n=1: progress.advance(task, n)
    finally:
        progress.remove_task(task)
        if outer:
            progress.stop()
            _state["progress"] = None
