"""Cells as units of work: run any subset, one outcome file per cell, collect them.

Every way of running a grid (in this process, ``--workers N`` local processes, SLURM
array tasks) goes through :func:`run_cells`, which writes ``RUN_DIR/cells/<id>.json`` as
each cell finishes::

    {"index": 3, "id": "…", "cell": {...}, "status": "finished" | "failed",
     "records": [...], "failures": [...], "artifacts": ["models/…", ...],
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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supreme.config import ExperimentConfig
from supreme.errors import CellsFailed, ConfigError, Interrupted
from supreme.plan import Cell, Resolved, resolve
from supreme.recompute import Recompute
from supreme.recompute import parse as parse_recompute
from supreme.registry import Registry, default
from supreme.store import Store, atomic_write_bytes, atomic_write_json, hash_key, strict_json

if TYPE_CHECKING:
    from supreme.pipeline.run import Reporter, Results, Runner, StageEvent

#: experiment fields that decide how cells are scheduled, not what they compute
SCHEDULING = {"launch", "slurm", "loggers", "output_dir", "name"}


@dataclass
class CellOutcome:
    index: int
    cell: Cell
    status: str  # "finished" | "failed"
    records: list[dict[str, Any]]
    failures: list[dict[str, Any]]
    seconds: float
    #: "kind/key" of every store artifact the cell used
    artifacts: list[str] = field(default_factory=list)
    #: the reference-model gates (supreme/gates.py), None when off or not reached
    gates: dict[str, Any] | None = None


@dataclass
class Collected:
    """The merged outcome files of an experiment's cells."""

    cells: list[Cell]
    records: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    #: per cell index: "finished", "failed" or "missing"
    status: dict[int, str] = field(default_factory=dict)
    #: one entry per cell whose reference models were checked: the cell's fields + verdict
    gates: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {"finished": 0, "failed": 0, "missing": 0}
        for state in self.status.values():
            out[state] += 1
        return out


def experiment_identity(config: ExperimentConfig) -> dict[str, Any]:
    return config.model_dump(mode="json", exclude=SCHEDULING)


def cell_id(config: ExperimentConfig, cell: Cell) -> str:
    """A stable id of ``cell`` within this experiment (16 hex digits)."""
    return hash_key({"cell": cell.as_dict(), "experiment": experiment_identity(config)})[:16]


def cell_path(config: ExperimentConfig, cell: Cell) -> Path:
    return config.run_dir() / "cells" / f"{cell_id(config, cell)}.json"


def read_outcome(path: Path, code: str | None = None) -> dict[str, Any] | None:
    """A cell's outcome file, or ``None`` if it is missing or unreadable (then: rerun).

    With ``code`` (:meth:`Resolved.code_digest`), an outcome written by other code is
    stale and counts as missing too: its records may not be what the code computes now.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not (isinstance(data, dict) and data.get("status") in ("finished", "failed")):
        return None
    if code is not None and data.get("code") != code:
        return None
    return data


def pending_cells(config: ExperimentConfig, cells: Sequence[Cell], code: str | None,
                  recompute: Recompute | None = None) -> list[int]:
    """Indices of the cells that still need a run: no finished outcome written by this
    code (every cell when ``--recompute`` asks for something)."""
    if recompute:
        return list(range(len(cells)))
    return [i for i, c in enumerate(cells)
            if (o := read_outcome(cell_path(config, c), code)) is None or o["status"] != "finished"]


def write_config(config: ExperimentConfig) -> None:
    """``RUN_DIR/config.json``, with the values of secret-looking keys redacted (the run
    itself keeps using them)."""
    from supreme.loggers import redact

    atomic_write_json(config.run_dir() / "config.json", redact(config.model_dump(mode="json")))


def collect(config: ExperimentConfig, registry: Registry | None = None, *,
            cells: Sequence[Cell] | None = None, write: bool = True,
            code: str | None = None) -> Collected:
    """Merge the outcome files of the experiment's cells (in grid order) and write
    ``results.jsonl`` and ``failures.jsonl`` (when ``write``). With ``code``, outcomes
    written by other code are left out (counted as missing)."""
    if cells is None:
        cells = resolve(config, registry or default()).cells()
    merged = Collected(list(cells))
    for index, cell in enumerate(cells):
        outcome = read_outcome(cell_path(config, cell), code)
        if outcome is None:
            merged.status[index] = "missing"
            continue
        merged.status[index] = outcome["status"]
        merged.records.extend(outcome["records"])
        merged.failures.extend(outcome["failures"])
        if isinstance(outcome.get("gates"), dict):
            merged.gates.append({**cell.as_dict(), **outcome["gates"]})
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
    log: bool = True,
    recompute: Recompute | None = None,
) -> list[CellOutcome]:
    """Run the cells at ``indices`` (all when ``None``) and write their outcome files.

    A method or metric that fails marks its cell ``failed`` (the error is recorded) and
    the next cell runs; ``fail_fast`` raises :class:`~supreme.errors.StageError` instead.
    A stage every row needs (dataset, M_o, split) failing fails the whole cell.
    ``log=False``: the caller feeds the ``[loggers]`` (a parent of workers, a SLURM launcher).
    """
    outcomes, _ = _run_cells(config, indices, registry=registry, reporter=reporter,
                             fail_fast=fail_fast, on_cell=on_cell, worker=worker,
                             resolved=resolved, log=log, recompute=recompute)
    return outcomes


def _run_cells(
    config: ExperimentConfig,
    indices: Iterable[int] | None,
    *,
    registry: Registry | None,
    reporter: Reporter | None,
    fail_fast: bool,
    on_cell: Callable[[CellOutcome], None] | None = None,
    worker: int | None = None,
    resolved: Resolved | None = None,
    log: bool = True,
    recompute: Recompute | None = None,
) -> tuple[list[CellOutcome], Runner]:
    from supreme.pipeline.fabric import launch_with_timeout, make_fabric, share_cpu_threads
    from supreme.pipeline.run import Runner, interruptible

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
    loggers: Any = None
    own_loggers = log and fabric.is_global_zero and bool(config.loggers.use)
    if own_loggers:
        from supreme.loggers import ExperimentLoggers

        loggers = ExperimentLoggers.open(config, config.run_dir(), world_size=fabric.world_size)

    def report(event: StageEvent) -> None:
        if reporter is not None:
            reporter(event)
        if loggers is not None:
            loggers.stage(event)

    runner = Runner(resolved, fabric, Store(config.output_dir / "store"), report,
                    fail_fast=fail_fast, worker=worker, recompute=recompute)
    code = resolved.code_digest()
    outcomes = []
    try:
        with interruptible(), _leased(config) as lease:
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
                                      sorted(set(runner.artifacts)), runner.gates)
                if fabric.is_global_zero:
                    _write_outcome(config, outcome, code)
                    if loggers is not None:
                        loggers.cell(cell, outcome.records, outcome.failures)
                outcomes.append(outcome)
                if on_cell is not None:
                    on_cell(outcome)
    finally:
        if own_loggers:
            loggers.close()
    return outcomes, runner


@contextlib.contextmanager
def _leased(config: ExperimentConfig) -> Iterator[Any]:
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
        "seconds": outcome.seconds, "host": socket.gethostname(),
        "pid": os.getpid(), "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })


# -- the whole experiment --------------------------------------------------------------------
def resolve_workers(config: ExperimentConfig, workers: int | str | None) -> int:
    """How many local worker processes: ``auto`` is one per device (CUDA), or one per
    two CPU cores."""
    chosen = config.launch.workers if workers is None else workers
    if isinstance(chosen, str):
        if chosen != "auto":
            try:
                chosen = int(chosen)
            except ValueError:
                raise ConfigError(f"--workers {chosen!r} is not a number or 'auto'",
                                  "Use e.g. --workers 2 or --workers auto.") from None
        else:
            return _auto_workers(config)
    if not 1 <= chosen <= 256:
        raise ConfigError(f"workers = {chosen} is outside 1..256", "Use e.g. --workers 2.")
    cpus = os.cpu_count() or 1
    if chosen > max(4, 2 * cpus):  # each worker is a process with its own torch runtime
        raise ConfigError(f"workers = {chosen} would start {chosen} processes on {cpus} CPU "
                          f"core(s) (at most {max(4, 2 * cpus)})",
                          "Use --workers auto (one per device, or per two cores) or fewer.")
    return chosen


def _auto_workers(config: ExperimentConfig) -> int:
    if config.fabric.accelerator in ("cuda", "gpu", "auto"):
        import torch

        if torch.cuda.is_available():
            per_cell = config.fabric.devices if isinstance(config.fabric.devices, int) else 1
            return max(1, torch.cuda.device_count() // max(1, per_cell))
    return max(1, (os.cpu_count() or 1) // 2)


def run(
    config: ExperimentConfig,
    *,
    registry: Registry | None = None,
    reporter: Reporter | None = None,
    fail_fast: bool = False,
    workers: int | str | None = None,
    launcher: str | None = None,
    dry_run: bool = False,
    wait: bool = True,
    plugin_files: Sequence[str] = (),
    recompute: str | Sequence[str] | Recompute | None = None,
    overwrite: bool = False,
) -> Results:
    """Run ``config`` end to end and return its results (also written under its run dir).

    This is ``supreme.run``. The whole experiment is validated before any compute. Cells
    run in this process, in ``workers`` local processes, or as SLURM array tasks
    (``launcher="slurm"``); every cell's outcome is written to ``RUN_DIR/cells/`` as it
    finishes, and ``results.jsonl`` / ``failures.jsonl`` are collected from them at the
    end (also after an interrupt). A failing method or metric fails its cell, not the
    grid, unless ``fail_fast``. ``recompute`` (``--recompute``, e.g. ``"unlearn:finetune"``;
    see :mod:`supreme.recompute`) computes the chosen stages again, and what depends on them.

    A run directory holds one experiment (:mod:`supreme.rundir`): another experiment
    there is refused unless ``overwrite`` (which clears the old results first).
    """
    registry = registry or default()
    resolved = resolve(config, registry)
    cells = resolved.cells()
    launcher = launcher or config.launch.launcher
    _validate(resolved, cells, local=launcher != "slurm")
    if not isinstance(recompute, Recompute):
        recompute = parse_recompute(recompute, methods=config.methods, metrics=config.metrics)
    code = resolved.code_digest()
    if config.loggers.use:
        from supreme.loggers import require_extra

        for name in config.loggers.use:
            require_extra(name)  # a missing extra fails before any compute
    if launcher not in ("local", "slurm"):
        raise ConfigError(f"launcher {launcher!r} is unknown", "Use local or slurm.")
    n_workers = resolve_workers(config, workers)
    from supreme.rundir import claim

    writes = not dry_run and _rank_zero_env()
    if writes and not overwrite:
        claim(config)  # one run directory, one experiment: refused before anything is written
    with _leased(config) if not dry_run and (launcher != "slurm" or wait) else \
            contextlib.nullcontext():
        if writes and overwrite:
            claim(config, overwrite=True)  # under the lease: no other experiment runs there
        return _run(config, registry, resolved, cells, reporter=reporter, fail_fast=fail_fast,
                    n_workers=n_workers, launcher=launcher, dry_run=dry_run, wait=wait,
                    plugin_files=plugin_files, recompute=recompute, code=code)


def _run(config: ExperimentConfig, registry: Registry, resolved: Resolved, cells: list[Cell], *,
         reporter: Reporter | None, fail_fast: bool, n_workers: int, launcher: str,
         dry_run: bool, wait: bool, plugin_files: Sequence[str], recompute: Recompute,
         code: str) -> Results:
    import sys

    from supreme.pipeline.run import Results

    if launcher == "slurm":
        from supreme.launch.slurm import launch

        if not dry_run:
            write_config(config)
        unfinished = launch(config, indices=list(range(len(cells))), dry_run=dry_run, wait=wait,
                            plugin_files=list(plugin_files), recompute=recompute,
                            echo=print if dry_run else  # the dry run's output is its result
                            lambda line: print(line, file=sys.stderr, flush=True))
        merged = collect(config, cells=cells, write=not dry_run, code=code)
        if wait and not dry_run and config.loggers.use:
            _log_outcomes(config, cells)  # the tasks log nothing: one writer per run
        return Results(merged.records, config.run_dir(), [], merged.failures, len(cells),
                       unfinished=unfinished if wait else 0, gates=merged.gates)
    if dry_run:
        raise ConfigError("--dry-run only applies to --launcher slurm",
                          "Use `supreme plan` to see what a local run would compute.")
    if n_workers > 1 and len(cells) > 1:
        from supreme.pipeline.workers import run_with_workers

        write_config(config)
        # finished cells need no worker: a rerun of a finished grid starts no process
        pending = pending_cells(config, cells, code, recompute)
        try:
            events = run_with_workers(config, cells, n_workers, indices=pending,
                                      reporter=reporter, fail_fast=fail_fast,
                                      plugin_files=plugin_files,
                                      recompute=recompute) if pending else []
        except Interrupted:
            collect(config, cells=cells, code=code)  # what finished stays reported
            raise
        merged = collect(config, cells=cells, code=code)
        # a worker that died without a word (killed, out of host memory) leaves its cells missing
        return Results(merged.records, config.run_dir(), events, merged.failures, len(cells),
                       unfinished=merged.counts()["missing"], gates=merged.gates)
    if _rank_zero_env():
        write_config(config)
    try:
        outcomes, runner = _run_cells(config, None, registry=registry, reporter=reporter,
                                      fail_fast=fail_fast, resolved=resolved, recompute=recompute)
    except Interrupted:
        if _rank_zero_env():
            collect(config, cells=cells, code=code)  # what finished stays reported
        raise
    if not runner.fabric.is_global_zero:
        records = [r for o in outcomes for r in o.records]
        failures = [f for o in outcomes for f in o.failures]
        return Results(records, config.run_dir(), runner.events, failures, len(cells),
                       runner.fabric.global_rank)
    merged = collect(config, cells=cells, code=code)
    return Results(merged.records, config.run_dir(), runner.events, merged.failures, len(cells),
                   gates=merged.gates)


def _log_outcomes(config: ExperimentConfig, cells: Sequence[Cell]) -> None:
    """Feed the ``[loggers]`` every recorded cell outcome (after a SLURM array)."""
    from supreme.loggers import ExperimentLoggers

    loggers = ExperimentLoggers.open(config, config.run_dir())
    try:
        for cell in cells:
            outcome = read_outcome(cell_path(config, cell))
            if outcome is not None:
                loggers.cell(cell, outcome["records"], outcome["failures"])
    finally:
        loggers.close()


def _rank_zero_env() -> bool:
    """Rank 0, or a process not yet launched by a distributed launcher."""
    return all(os.environ.get(v, "0") == "0" for v in ("RANK", "LOCAL_RANK", "SLURM_PROCID"))


def _validate(resolved: Resolved, cells: list[Cell], *, local: bool) -> None:
    """Everything checkable before compute; ``local=False`` (SLURM): the machine checks
    that only hold where the cells will run are left to the tasks."""
    from supreme.validate import validate

    validate(resolved, cells, local=local)


def failures_error(results: Results) -> CellsFailed:
    """The error the CLI raises after printing a run in which cells failed."""
    if not results.failures:
        return CellsFailed(
            f"{results.unfinished} of {results.cells} cells did not finish (their worker or "
            "task was cancelled, killed or timed out before recording anything)",
            f"`supreme status {results.run_dir}` shows them; run the same command again to "
            "resubmit only those cells.",
        )
    failed_cells = {json.dumps({k: f[k] for k in Cell.__dataclass_fields__}, sort_keys=True)
                    for f in results.failures}
    first = results.failures[0]
    return CellsFailed(
        f"{len(failed_cells)} of {results.cells} cells failed ({len(results.failures)} failed stages); "
        f"first: {first['stage']}: {first['error_type']}: {first['error']}",
        f"Every failure is in {results.run_dir / 'failures.jsonl'} and in `supreme report`. "
        "Fix the cause and run again: only what failed is computed.",
    )
