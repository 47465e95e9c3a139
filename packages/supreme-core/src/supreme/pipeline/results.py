"""What a run returns (:class:`Results`): records, failures, gate verdicts and stage log.

Kept apart from :mod:`supreme.pipeline.run` so that answering a run whose cells have all
finished (the engine's reuse path) and reading results import neither torch nor Lightning.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supreme.contracts.records import Failure, Record, StageEvent

if TYPE_CHECKING:
    import pandas as pd

CSV_COLUMNS = ("experiment", "dataset", "model", "scenario", "target", "train_seed",
               "unlearn_seed", "eval_seed", "method", "metric", "key", "value")
#: The columns of ``results.csv`` and ``results.parquet``: the record's fields (``detail``
#: true for a key its metric declared a detail, else empty), the store key of the
#: evaluated model, and the provenance as a compact JSON string.
TIDY_COLUMNS = (*CSV_COLUMNS, "non_finite", "detail", "artifact", "provenance")
_INT_COLUMNS = ("train_seed", "unlearn_seed", "eval_seed")


def tidy_rows(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One dict per record with :data:`TIDY_COLUMNS` (missing fields: None)."""
    rows = []
    for r in records:
        row = {c: r.get(c) for c in CSV_COLUMNS}
        row["non_finite"] = r.get("non_finite")
        row["detail"] = True if r.get("detail") else None
        row["artifact"] = r.get("artifact")
        provenance = r.get("provenance")
        row["provenance"] = (None if provenance is None else
                             json.dumps(provenance, sort_keys=True, separators=(",", ":"), default=str))
        rows.append(row)
    return rows


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
    #: the grid metrics' per-example outputs named by the cells' outcomes (cell fields,
    #: ``method``, ``metric``, ``artifact``, ``model_key``); what :mod:`supreme.pipeline.grid`
    #: aggregates
    examples: list[dict[str, Any]] = field(default_factory=list)
    #: the grid metrics' records (``grid_results.jsonl``): per (dataset, model, scenario,
    #: target), row, metric and key, with the number of models on each side
    grid: list[dict[str, Any]] = field(default_factory=list)

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

    def to_pandas(self, *, details: bool = True) -> pd.DataFrame:
        """The records as a tidy :class:`pandas.DataFrame`: one row per cell, method, metric
        and key, with the columns of ``results.csv`` (:data:`TIDY_COLUMNS`: the cell's
        fields and seeds, ``method``, ``metric``, ``key``, ``value``, ``non_finite``,
        ``detail``, the evaluated model's store key ``artifact`` and ``provenance`` as
        compact JSON). Seeds are ``Int64``, ``value`` ``float64`` (NaN where a metric
        declared the value non-finite: see ``non_finite``), ``detail`` boolean.
        ``details=False`` leaves out the keys metrics declare details (per-layer values).
        Needs pandas (``pip install 'supreme-core[report]'``)."""
        try:
            import pandas as pd
        except ImportError:
            from supreme.errors import UsageError

            raise UsageError("Results.to_pandas needs pandas, which is not installed",
                             "Install the report extra: pip install 'supreme-core[report]'."
                             ) from None
        records = self.records if details else [r for r in self.records if not r.get("detail")]
        rows = tidy_rows(records)
        frame = pd.DataFrame(rows, columns=list(TIDY_COLUMNS))
        for column in _INT_COLUMNS:
            frame[column] = frame[column].astype("Int64")
        frame["value"] = frame["value"].astype("float64")
        frame["detail"] = frame["detail"].fillna(False).astype(bool)
        return frame
