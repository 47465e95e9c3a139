"""A finished run's results read back from its directory (``supreme.load_results``)."""

from __future__ import annotations

from pathlib import Path

from supreme.contracts.records import Cell
from supreme.pipeline.results import Results
from supreme.report.failures import load_failures
from supreme.report.grid import load_grid
from supreme.report.references import load_gates
from supreme.report.tables import load_records


def load_results(run_dir: str | Path) -> Results:
    """The :class:`~supreme.pipeline.results.Results` of a finished run, from ``RUN_DIR``
    (``output_dir/name``): ``results.jsonl`` (every record checked, as the report does),
    ``failures.jsonl``, ``gates.jsonl`` and ``grid_results.jsonl`` (``Results.grid``).
    ``Results.cells`` counts the cells that have a record or a failure; ``events`` is
    empty (the stage log is not kept) and ``ran`` is ``None``. ``supreme report`` reads a
    run through this function too."""
    run_dir = Path(run_dir)
    records = load_records(run_dir)
    failures = load_failures(run_dir)
    cells = {tuple(r.get(f) for f in Cell.__dataclass_fields__) for r in [*records, *failures]}
    return Results(records, run_dir, failures=failures,  # type: ignore[arg-type]
                   cells=len(cells), gates=load_gates(run_dir), grid=load_grid(run_dir))
