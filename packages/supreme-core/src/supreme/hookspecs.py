"""The plugin API of SUPREME: every hook a plugin can implement.

A plugin is a module (or object) with functions named like these hooks and decorated
with :data:`supreme.hookimpl`. Distributions expose plugins through the ``supreme``
entry-point group::

    [project.entry-points.supreme]
    my_plugin = "my_package.plugin"

Registration hooks return *classes*, never live objects; SUPREME instantiates them
with their validated configuration when an experiment needs them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import typer

    from supreme.contracts import (
        Cell,
        DatasetSpec,
        Failure,
        Metric,
        ModelSpec,
        Record,
        StageEvent,
        UnlearningMethod,
    )

PROJECT = "supreme"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def supreme_register_methods() -> Iterable[type[UnlearningMethod]]:
    """Return the :class:`~supreme.contracts.UnlearningMethod` classes this plugin provides."""


@hookspec
def supreme_register_metrics() -> Iterable[type[Metric]]:
    """Return the :class:`~supreme.contracts.Metric` classes this plugin provides."""


@hookspec
def supreme_register_datasets() -> Iterable[type[DatasetSpec]]:
    """Return the :class:`~supreme.contracts.DatasetSpec` classes this plugin provides."""


@hookspec
def supreme_register_models() -> Iterable[type[ModelSpec]]:
    """Return the :class:`~supreme.contracts.ModelSpec` classes this plugin provides."""


@hookspec
def supreme_register_commands(app: typer.Typer) -> None:
    """Add sub-commands to the ``supreme`` command-line application ``app``."""


@hookspec
def supreme_stage_start(event: StageEvent) -> None:
    """Called as a stage of a cell starts (``event.reused`` is ``None``): ``event.stage``
    (``train``, ``retrain``, ``unlearn NAME``, ``evaluate ROW:METRIC``, ...), ``event.cell``,
    ``event.kind`` and ``event.key`` (its store artifact)."""


@hookspec
def supreme_stage_end(event: StageEvent) -> None:
    """Called as a stage ends: as at the start, plus ``event.reused`` (found in the store)
    and ``event.seconds``."""


@hookspec
def supreme_cell_end(cell: Cell, records: list[Record], failures: list[Failure]) -> None:
    """Called once per cell that ran, after its outcome file is written: its result records
    and the failures of its stages (both empty lists when there are none)."""
