"""The one observer channel of a run: the stage and cell hooks.

Everything that watches a run implements the same three hooks
(``supreme_stage_start(event)``, ``supreme_stage_end(event)``,
``supreme_cell_end(cell, records, failures)``, specified in :mod:`supreme.hookspecs`):
plugins through pluggy, and the run's own observers, the reporter that prints stage lines
and the experiment loggers (:mod:`supreme.loggers`), as plain objects with those methods.
:class:`Observers` calls them all, in that order, on global rank 0 of the process that
observes the run: the run's own process, the parent of ``--workers`` (the workers forward
their events to it), or a SLURM array task (its launcher feeds the loggers the collected
cells when it waits).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from supreme.contracts.records import Cell, Failure, Record, StageEvent

#: the hooks an observer may implement
HOOKS = ("supreme_stage_start", "supreme_stage_end", "supreme_cell_end")


class Observers:
    """Calls the observer hooks of the plugins (``hook``, pluggy's hook relay, or ``None``
    for none) and of ``plugins`` (objects with any of the :data:`HOOKS` as methods)."""

    def __init__(self, hook: Any = None, plugins: Sequence[object] = ()) -> None:
        self.hook = hook
        self.plugins = tuple(p for p in plugins if p is not None)

    def with_plugins(self, *plugins: object) -> Observers:
        """These observers and ``plugins`` (called after them)."""
        return Observers(self.hook, (*self.plugins, *plugins))

    def _call(self, name: str, **kwargs: Any) -> None:
        if self.hook is not None:
            getattr(self.hook, name)(**kwargs)
        for plugin in self.plugins:
            method = getattr(plugin, name, None)
            if method is not None:
                method(**kwargs)

    def stage_start(self, event: StageEvent) -> None:
        self._call("supreme_stage_start", event=event)

    def stage_end(self, event: StageEvent) -> None:
        self._call("supreme_stage_end", event=event)

    def cell_end(self, cell: Cell, records: list[Record], failures: list[Failure]) -> None:
        self._call("supreme_cell_end", cell=cell, records=records, failures=failures)


class Reporter:
    """An observer calling ``callback(event)`` as each stage ends (``supreme run`` prints
    the event's line; ``supreme.run(reporter=...)`` takes any callable)."""

    def __init__(self, callback: Callable[[StageEvent], None]) -> None:
        self.callback = callback

    def supreme_stage_end(self, event: StageEvent) -> None:
        self.callback(event)


class Forwarder:
    """An observer passing every stage event to ``send(phase, event)`` (a ``--workers``
    process forwards them to its parent, which observes the run)."""

    def __init__(self, send: Callable[[str, StageEvent], None]) -> None:
        self.send = send

    def supreme_stage_start(self, event: StageEvent) -> None:
        self.send("start", event)

    def supreme_stage_end(self, event: StageEvent) -> None:
        self.send("end", event)
