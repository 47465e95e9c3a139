"""What a run returns (:class:`Results`): records, failures, gate verdicts and stage log.

Kept apart from :mod:`supreme.pipeline.run` so that answering a run whose cells have all
finished (the engine's reuse path) and reading results import neither torch nor Lightning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supreme.contracts.records import Failure, Record, StageEvent

#: called with every stage event of a run (``supreme run`` prints them)
Reporter = Callable[[StageEvent], None]


@dataclass
class Results:
    """The records of a run (one per cell, method, metric and key) and its stage log."""

    records: list[Record]
    run_dir: Path
    events: list[StageEvent] = field(default_factory=list)
    #: one record per failed stage (cell fields, method, metric, stage, error_type, error)
    failures: list[Failure] = field(default_factory=list)
    #: how many cells the experiment has
    cells: int = 0
    #: this process's global rank (only rank 0 writes and prints)
    rank: int = 0
    #: cells that neither finished nor recorded a failure (cancelled or killed tasks)
    unfinished: int = 0
    #: per checked cell: its fields and the reference-model verdict (supreme/gates.py)
    gates: list[dict[str, Any]] = field(default_factory=list)
    #: cells this call ran, the others' outcomes being current already (``None``: not
    #: counted, e.g. a SLURM job array's collected results)
    ran: int | None = None

    def failed_gates(self) -> list[dict[str, Any]]:
        """The cells whose reference models failed a check."""
        return [g for g in self.gates if not g.get("passed", True)]

    def values(self, method: str, metric: str, key: str, **where: Any) -> list[float]:
        """The finite values of one (method, metric, key); a value a metric declared
        non-finite (recorded as null) is left out."""
        return [
            r["value"]
            for r in self.records
            if r["method"] == method and r["metric"] == metric and r["key"] == key
            and r["value"] is not None and all(r.get(k) == v for k, v in where.items())
        ]

    def mean(self, method: str, metric: str, key: str, **where: Any) -> float:
        values = self.values(method, metric, key, **where)
        if not values:
            raise KeyError(f"no result for {method}/{metric}/{key}")
        return sum(values) / len(values)
