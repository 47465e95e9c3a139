"""The state of every cell of a run directory (``supreme status RUN_DIR``).

Sources, read-only: ``RUN_DIR/config.json`` (the experiment, hence its cells and their
ids), the cell outcome files ``RUN_DIR/cells/<id>.json``, and for SLURM runs
``RUN_DIR/slurm/jobs.json`` (each cell's latest job) plus the live job states from
``squeue``/``sacct`` when those commands exist here (else the last states recorded).

A cell is

* ``queued`` / ``running``: its latest job is pending / running (this wins over an older
  ``failed`` outcome: the cell was resubmitted);
* ``finished`` / ``failed``: its outcome file says so;
* ``failed`` as well: its job ended (cancelled, timed out, crashed...) without writing one;
* ``missing``: never run, or not yet submitted;
* ``unknown``: submitted, no outcome yet, and its job's state cannot be asked here.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from supreme.config import ExperimentConfig
from supreme.errors import ConfigError, SupremeError

STATES = ("queued", "running", "finished", "failed", "missing", "unknown")


def read_run_config(run_dir: Path) -> ExperimentConfig:
    path = run_dir / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise ConfigError(
            f"{run_dir} is not a run directory (no config.json)",
            "Pass OUTPUT_DIR/NAME of an experiment that was run or submitted.",
        ) from None
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}", "Run the experiment again.") from None
    try:
        return ExperimentConfig.model_validate(data)
    except Exception as exc:
        raise ConfigError(f"{path} is not a valid experiment: {exc}",
                          "Run the experiment again with this version of SUPREME.") from None


def _cells(config: ExperimentConfig, run_dir: Path, jobs: dict[str, Any],
           notes: list[str]) -> list[tuple[int, Any]]:
    """(index, Cell) of the experiment; without its plugins, the cells known from the
    outcome files and jobs.json."""
    from supreme.pipeline.cells import cell_id
    from supreme.plan import Cell, resolve
    from supreme.registry import default

    try:
        return list(enumerate(resolve(config, default()).cells()))
    except SupremeError as exc:
        notes.append(f"cannot list every cell of the experiment here ({exc.message}); "
                     "showing the cells that were submitted or have an outcome")
    known: dict[int, Any] = {}
    for index, entry in jobs.get("cells", {}).items():
        cell = Cell(**entry["cell"])
        if entry.get("id") == cell_id(config, cell):
            known[int(index)] = cell
    for path in sorted((run_dir / "cells").glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            cell = Cell(**data["cell"])
            if path.stem == cell_id(config, cell):  # else: an earlier version of the run
                known.setdefault(int(data["index"]), cell)
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(known.items())


def _error_lines(failures: list[dict[str, Any]]) -> list[str]:
    lines = []
    for f in failures:
        where = f.get("stage", "?")
        if f.get("method"):
            where += f" {f['method']}"
        if f.get("metric"):
            where += f" {f['metric']}"
        lines.append(f"{where}: {f.get('error_type', 'Error')}: {f.get('error', '')}".strip())
    return lines


def run_status(run_dir: str | Path, *, ask_slurm: bool = True) -> dict[str, Any]:
    """Per-cell state of ``run_dir`` (see the module docstring) with counts."""
    from supreme.launch import slurm
    from supreme.pipeline.cells import cell_id, read_outcome

    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    jobs = slurm.load_jobs(run_dir)
    notes: list[str] = []
    cells = _cells(config, run_dir, jobs, notes)

    latest: dict[int, str] = {}
    for index, cell in cells:
        entry = jobs["cells"].get(str(index))
        if entry and entry.get("id") == cell_id(config, cell):
            latest[index] = entry["job"]
    live: dict[str, str] | None = None
    if latest and ask_slurm:
        live = slurm.query_states(set(latest.values()))
        if live is None:
            notes.append("squeue/sacct are not available here: job states are the last "
                         "ones recorded")
    recorded = jobs.get("states", {})

    rows = []
    for index, cell in cells:
        cid = cell_id(config, cell)
        outcome = read_outcome(run_dir / "cells" / f"{cid}.json")
        job = latest.get(index)
        job_state = None
        if job is not None:
            job_state = (live or {}).get(job) or recorded.get(job)
            folder = slurm.task_folder(jobs, job, run_dir / "slurm")
            if job_state is None and slurm.result_file(folder, job).exists():
                job_state = "COMPLETED"
        job_phase = slurm.phase(job_state)
        errors: list[str] = []
        if job is not None and job_phase in ("queued", "running") and not (
                outcome and outcome["status"] == "finished"):
            state = job_phase
        elif outcome is not None:
            state = outcome["status"]
            errors = _error_lines(outcome.get("failures", []))
        elif job is None:
            state = "missing"
        elif job_phase in ("failed", "completed"):
            state = "failed"
            folder = slurm.task_folder(jobs, job, run_dir / "slurm")
            raised = slurm.task_error(folder, job)
            errors = [f"task {job} ended {job_state} without finishing this cell"
                      + (f": {raised}" if raised else "")
                      + f" (log: {slurm.log_file(folder, job)})"]
        else:
            state = "unknown"
        rows.append({"index": index, "id": cid, "cell": cell.as_dict(), "label": cell.label(),
                     "state": state, "job": job, "job_state": job_state, "errors": errors})
    counts = Counter(r["state"] for r in rows)
    return {"run_dir": str(run_dir), "counts": {s: counts.get(s, 0) for s in STATES},
            "cells": rows, "notes": notes}
