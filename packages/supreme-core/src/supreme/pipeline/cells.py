"""Cells as units of work: run any subset, one outcome file per cell, collect them.

Every way of running a grid (in this process, ``--workers N`` local processes, SLURM
array tasks) goes through :func:`run_cells`, which writes ``RUN_DIR/cells/<id>.json`` as
each cell finishes::

    {"index": 3, "id": "…", "cell": {...}, "status": "finished" | "failed",
     "records": [...], "failures": [...], "artifacts": ["models/…", ...],
     "examples": [{"method": …, "metric": …, "artifact": …, "model_key": …}, ...],
     "seconds": 12.5, "host": "…", "pid": 123,
     "finished_at": "2026-11-29T10:00:00+00:00"}

:func:`collect` merges the files of the current experiment's cells into
``results.jsonl`` and ``failures.jsonl``. A cell's id hashes the cell and everything in
the experiment that changes its results, so a changed experiment never picks up a stale
outcome. Cells are cheap to run again: every stage they finished is reused from the store.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supreme.config import ExperimentConfig
from supreme.contracts.records import Failure, Record
from supreme.errors import ConfigError, Interrupted
from supreme.observers import Observers
from supreme.observers import Reporter as ReporterObserver
from supreme.plan import Cell, Resolved, resolve
from supreme.recompute import Recompute
from supreme.registry import Registry, default
from supreme.rundir import experiment_identity
from supreme.store import Store, atomic_write_bytes, atomic_write_json, hash_key, strict_json

if TYPE_CHECKING:
    from supreme.pipeline.run import Reporter, Runner

#: ``open_loggers(world_size)``: the experiment loggers a process feeds (see run_cells);
#: they observe the run like the plugins' hooks (supreme.observers)
OpenLoggers = Callable[[int], Any]


@dataclass
class CellOutcome:
    index: int
    cell: Cell
    status: str  # "finished" | "failed"
    records: list[Record]
    failures: list[Failure]
    seconds: float
    #: "kind/key" of every store artifact the cell used
    artifacts: list[str] = field(default_factory=list)
    #: the reference-model gates (supreme/gates.py), None when off or not reached
    gates: dict[str, Any] | None = None
    #: the per-example outputs of grid metrics (``Runner.examples``)
    examples: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Collected:
    """The merged outcome files of an experiment's cells."""

    cells: list[Cell]
    #: as read from the outcome files (written from :class:`Record` / :class:`Failure`)
    records: list[Record] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    #: per cell index: "finished", "failed" or "missing"
    status: dict[int, str] = field(default_factory=dict)
    #: one entry per cell whose reference models were checked: the cell's fields + verdict
    gates: list[dict[str, Any]] = field(default_factory=list)
    #: the grid metrics' per-example outputs of the cells: the cell's fields plus
    #: ``method``, ``metric``, ``artifact`` (a ``results`` store key) and ``model_key``
    examples: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {"finished": 0, "failed": 0, "missing": 0}
        for state in self.status.values():
            out[state] += 1
        return out


def cell_id(config: ExperimentConfig, cell: Cell) -> str:
    """A stable id of ``cell`` within this experiment (16 hex digits)."""
    return hash_key({"cell": cell.as_dict(), "experiment": experiment_identity(config)})[:16]


def cell_path(config: ExperimentConfig, cell: Cell) -> Path:
    return config.run_dir() / "cells" / f"{cell_id(config, cell)}.json"


def read_outcome(path: Path, code: str | None = None) -> dict[str, Any] | None:
    """A cell's outcome file, or ``None`` if it is missing, unreadable or malformed (then:
    rerun; a rerun of a finished run returns what these files hold, so a damaged one must
    not pass for results).

    With ``code`` (:meth:`Resolved.code_digest`), an outcome written by other code is
    stale and counts as missing too: its records may not be what the code computes now.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (isinstance(data, dict) and data.get("status") in ("finished", "failed")):
        return None
    rows = [data.get("records"), data.get("failures")]
    if not all(isinstance(r, list) and all(isinstance(x, dict) for x in r) for r in rows):
        return None
    if data.get("gates") is not None and not isinstance(data["gates"], dict):
        return None
    examples = data.get("examples", [])
    if not (isinstance(examples, list) and all(
            isinstance(e, dict) and all(isinstance(e.get(k), str) for k in EXAMPLE_FIELDS)
            for e in examples)):
        return None
    if code is not None and data.get("code") != code:
        return None
    return data


#: the fields of an outcome's ``examples`` entries
EXAMPLE_FIELDS = ("method", "metric", "artifact", "model_key")


def read_outcomes(config: ExperimentConfig, cells: Sequence[Cell],
                  code: str | None) -> list[dict[str, Any] | None]:
    """Every cell's current outcome (:func:`read_outcome`), in grid order: the one pass over
    the outcome files a launch makes before it runs anything.

    A finished outcome counts only while every store artifact its cell used is unchanged
    (:meth:`Store.unchanged`, cheap and torch-free): a cell whose model was damaged or
    replaced in the store runs again, and the store then says what it found and
    recomputes it."""
    store = Store(config.output_dir / "store")
    checked: dict[str, bool] = {}

    def intact(outcome: dict[str, Any]) -> bool:
        for name in outcome.get("artifacts") or ():
            if not isinstance(name, str) or name.count("/") != 1:
                return False
            if name not in checked:
                checked[name] = store.unchanged(*name.split("/"))
            if not checked[name]:
                return False
        return True

    outcomes = [read_outcome(cell_path(config, cell), code) for cell in cells]
    return [o if o is None or o["status"] != "finished" or intact(o) else None for o in outcomes]


def pending_cells(config: ExperimentConfig, cells: Sequence[Cell], code: str | None,
                  recompute: Recompute | None = None, *,
                  outcomes: Sequence[dict[str, Any] | None] | None = None) -> list[int]:
    """Indices of the cells that still need a run: no finished outcome written by this
    code (every cell when ``--recompute`` asks for something). ``outcomes`` are those
    :func:`read_outcomes` already read (default: read them now)."""
    if recompute:
        return list(range(len(cells)))
    if outcomes is None:
        outcomes = read_outcomes(config, cells, code)
    return [i for i, o in enumerate(outcomes) if o is None or o["status"] != "finished"]


def write_config(config: ExperimentConfig) -> None:
    """``RUN_DIR/config.json``, with the values of secret-looking keys redacted (the run
    itself keeps using them)."""
    from supreme.secrets import redact

    atomic_write_json(config.run_dir() / "config.json", redact(config.model_dump(mode="json")))


def collect(config: ExperimentConfig, registry: Registry | None = None, *,
            cells: Sequence[Cell] | None = None, write: bool = True,
            code: str | None = None,
            known: Mapping[int, dict[str, Any] | None] | None = None) -> Collected:
    """Merge the outcome files of the experiment's cells (in grid order) and write
    ``results.jsonl`` and ``failures.jsonl`` (when ``write``). With ``code``, outcomes
    written by other code are left out (counted as missing). ``known``: outcomes already
    read by cell index (cells no process ran since); only the other files are read."""
    if cells is None:
        cells = resolve(config, registry or default()).cells()
    known = known or {}
    merged = Collected(list(cells))
    for index, cell in enumerate(cells):
        outcome = known[index] if index in known else read_outcome(cell_path(config, cell), code)
        if outcome is None:
            merged.status[index] = "missing"
            continue
        merged.status[index] = outcome["status"]
        merged.records.extend(outcome["records"])
        merged.failures.extend(outcome["failures"])
        if isinstance(outcome.get("gates"), dict):
            merged.gates.append({**cell.as_dict(), **outcome["gates"]})
        merged.examples.extend({**cell.as_dict(), **{k: e[k] for k in EXAMPLE_FIELDS}}
                               for e in outcome.get("examples", []))
    if write:
        run_dir = config.run_dir()
        for name, rows in (("results.jsonl", merged.records), ("failures.jsonl", merged.failures),
                           ("gates.jsonl", merged.gates)):
            lines = "".join(strict_json(r, sort_keys=True) + "\n" for r in rows)
            atomic_write_bytes(run_dir / name, lines.encode())
    return merged


# -- running cells in this process ---------------------------------------------------------
def prepare_process(config: ExperimentConfig) -> None:
    """Process-wide settings a run needs (deterministic algorithms)."""
    if config.deterministic:
        import torch

        # cuBLAS needs a fixed workspace for deterministic matmuls on CUDA >= 10.2
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False


def run_cells(
    config: ExperimentConfig,
    indices: Sequence[int] | None = None,
    *,
    registry: Registry | None = None,
    reporter: Reporter | None = None,
    fail_fast: bool = False,
    on_cell: Callable[[CellOutcome], None] | None = None,
    worker: int | None = None,
    resolved: Resolved | None = None,
    open_loggers: OpenLoggers | None = None,
    recompute: Recompute | None = None,
    observers: Observers | None = None,
) -> list[CellOutcome]:
    """Run the cells at ``indices`` (all when ``None``) and write their outcome files.

    A method or metric that fails marks its cell ``failed`` (the error is recorded) and
    the next cell runs; ``fail_fast`` raises :class:`~supreme.errors.StageError` instead.
    A stage every row needs (dataset, M_o, split) failing fails the whole cell.
    ``open_loggers(world_size)``, called on global rank 0 only, returns the experiment
    loggers this process feeds (``supreme.loggers.ExperimentLoggers``; the engine passes
    it when the run has ``[loggers]``); without it nothing is logged here (a parent of
    workers, a SLURM launcher log the collected outcomes themselves).

    ``observers`` (:class:`supreme.observers.Observers`) watch the stages and cells on
    global rank 0; by default the plugins' hooks, plus ``reporter`` and the loggers. A
    ``--workers`` process passes a forwarder to its parent instead, which observes the run.
    """
    outcomes, _ = run_cells_with_runner(config, indices, registry=registry, reporter=reporter,
                                        fail_fast=fail_fast, on_cell=on_cell, worker=worker,
                                        resolved=resolved, open_loggers=open_loggers,
                                        recompute=recompute, observers=observers)
    return outcomes


def run_cells_with_runner(
    config: ExperimentConfig,
    indices: Iterable[int] | None,
    *,
    registry: Registry | None,
    reporter: Reporter | None = None,
    fail_fast: bool = False,
    on_cell: Callable[[CellOutcome], None] | None = None,
    worker: int | None = None,
    resolved: Resolved | None = None,
    open_loggers: OpenLoggers | None = None,
    recompute: Recompute | None = None,
    observers: Observers | None = None,
) -> tuple[list[CellOutcome], Runner]:
    """:func:`run_cells`, also returning the :class:`~supreme.pipeline.run.Runner` (its
    Fabric and stage events); ``indices`` may be any iterable (a worker's queue)."""
    from supreme.pipeline.fabric import launch_with_timeout, make_fabric, share_cpu_threads
    from supreme.pipeline.run import Runner
    from supreme.signals import interruptible

    resolved = resolved or resolve(config, registry or default())
    cells = resolved.cells()
    chosen: Iterable[int] = range(len(cells)) if indices is None else indices
    if isinstance(chosen, Sequence):
        for index in chosen:
            if not 0 <= index < len(cells):
                raise ConfigError(f"cell index {index} is outside 0..{len(cells) - 1}",
                                  "`supreme plan` lists the cells of the experiment.")
    prepare_process(config)
    # Lightning's hint to use srun is noise where SLURM is installed but we run locally
    warnings.filterwarnings("ignore", message=r"The `srun` command is available")
    fabric = make_fabric(config.fabric)
    launch_with_timeout(fabric, config.launch.peer_timeout_s)
    share_cpu_threads(fabric, config.fabric.num_nodes)
    if not fabric.is_global_zero:
        from supreme import progress

        progress.enable(False)  # one set of progress bars, from rank 0
    loggers = open_loggers(fabric.world_size) if open_loggers and fabric.is_global_zero else None
    if observers is None:
        observers = Observers(resolved.registry.hooks)
    observers = observers.with_plugins(
        ReporterObserver(reporter) if reporter is not None else None, loggers)
    runner = Runner(resolved, fabric, Store(config.output_dir / "store"), observers,
                    fail_fast=fail_fast, worker=worker, recompute=recompute)
    code = resolved.code_digest()
    outcomes = []
    try:
        with interruptible(), leased(config) as lease:
            runner.lease = lease
            for index in chosen:
                cell = cells[index]
                start = time.perf_counter()
                try:
                    records = runner.run_cell(cell)
                except Interrupted:
                    raise
                except Exception as exc:  # a stage the whole cell needs
                    records = []
                    runner.fail(cell, None, None, runner.current_stage or "cell", exc)
                outcome = CellOutcome(index, cell, "failed" if runner.failures else "finished",
                                      records, list(runner.failures), time.perf_counter() - start,
                                      sorted(set(runner.artifacts)), runner.gates,
                                      list(runner.examples))
                if fabric.is_global_zero:
                    _write_outcome(config, outcome, code)
                    observers.cell_end(cell, outcome.records, outcome.failures)
                outcomes.append(outcome)
                if on_cell is not None:
                    on_cell(outcome)
    finally:
        if loggers is not None:
            loggers.close()
    return outcomes, runner


@contextlib.contextmanager
def leased(config: ExperimentConfig) -> Iterator[Any]:
    """This process's lease on the run directory (:mod:`supreme.lease`) while it computes."""
    from supreme.lease import holding
    from supreme.rundir import identity_hash

    with holding(config.output_dir / "store", config.run_dir(), identity_hash(config)) as lease:
        yield lease


def _write_outcome(config: ExperimentConfig, outcome: CellOutcome, code: str) -> None:
    atomic_write_json(cell_path(config, outcome.cell), {
        "code": code,
        "index": outcome.index, "id": cell_id(config, outcome.cell),
        "cell": outcome.cell.as_dict(), "status": outcome.status, "records": outcome.records,
        "failures": outcome.failures, "artifacts": outcome.artifacts, "gates": outcome.gates,
        "examples": outcome.examples,
        "seconds": outcome.seconds, "host": socket.gethostname(),
        "pid": os.getpid(), "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })
