"""The launcher protocol: how an experiment's cells get run.

The engine (:func:`supreme.engine.run`) validates the experiment, claims its run directory
and then hands a :class:`Launch` to one :class:`Launcher`:

* :class:`~supreme.launch.inprocess.InProcess`: every cell in this process (and, under a
  distributed Fabric strategy, in the processes Fabric starts);
* :class:`~supreme.launch.workers.LocalWorkers`: ``--workers N`` local processes taking
  cells from one queue;
* :class:`~supreme.launch.slurm.Slurm`: one SLURM job array (``--launcher slurm``).

Each runs cells through :func:`supreme.pipeline.cells.run_cells` (which writes one outcome
file per cell), hands them out in the one order of :mod:`supreme.launch.order`, starts its
processes with :func:`supreme.launch.bootstrap.start_process`, and returns the collected
:class:`~supreme.pipeline.run.Results`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from supreme.config import ExperimentConfig
    from supreme.pipeline.cells import Collected
    from supreme.pipeline.results import Reporter, Results
    from supreme.plan import Cell, Resolved
    from supreme.recompute import Recompute
    from supreme.registry import Registry


@dataclass(frozen=True)
class Launch:
    """One validated experiment, ready to run: what every launcher is given."""

    config: ExperimentConfig
    registry: Registry
    resolved: Resolved
    cells: list[Cell]
    #: :meth:`Resolved.code_digest`: outcomes written by other code are stale
    code: str
    recompute: Recompute
    reporter: Reporter | None = None
    fail_fast: bool = False
    #: ``--plugin`` files beyond the registry's own (for processes started elsewhere)
    plugin_files: Sequence[str] = ()
    #: the cells' current outcomes read once before launching (``None``: no finished or
    #: failed outcome written by this code); empty when the launcher reads them itself
    outcomes: Sequence[dict[str, Any] | None] = ()

    def pending(self) -> list[int]:
        """The cells to run: those without a finished outcome (all under ``--recompute``)."""
        from supreme.pipeline.cells import pending_cells

        return pending_cells(self.config, self.cells, self.code, self.recompute,
                             outcomes=self.outcomes or None)

    def collect(self, *, write: bool = True, ran: Iterable[int] | None = None) -> Collected:
        """The outcome files of every cell, merged (:func:`~supreme.pipeline.cells.collect`).
        With ``ran`` (the cells this launch ran), the other cells' outcomes are those read
        before launching: each file is read once."""
        from supreme.pipeline.cells import collect

        known: dict[int, dict[str, Any] | None] = {}
        if ran is not None and self.outcomes:
            skip = set(ran)
            known = {i: o for i, o in enumerate(self.outcomes) if i not in skip}
        return collect(self.config, cells=self.cells, write=write, code=self.code, known=known)


class Launcher(Protocol):
    """Runs the cells of a :class:`Launch` somewhere and returns the collected results."""

    #: ``launch.launcher`` / ``--launcher`` value, or ``"workers"``
    name: str

    def launch(self, job: Launch) -> Results:
        """Run every unfinished cell of ``job``; write the outcome files, ``results.jsonl``
        and ``failures.jsonl``; return them. On an interrupt, what finished is collected
        before :class:`~supreme.errors.Interrupted` propagates."""
        ...
