"""Run the cells of an experiment on a SLURM cluster, as one job array, through submitit.

:func:`launch` splits the cells that are not finished yet into chunks of
``slurm.cells_per_task`` and submits one array task per chunk. Each task rebuilds the
experiment from its JSON, loads the same plugins as the submitting process
(``--plugin`` files, runtime-registered plugin modules; installed plugins load by
themselves) and calls :func:`supreme.pipeline.cells.run_cells` on its chunk, which writes
``RUN_DIR/cells/<id>.json`` per cell and shares ``OUTPUT_DIR/store`` (file locks make
concurrent tasks compute each M_o and M_r once). The submission is recorded in
``RUN_DIR/slurm/jobs.json`` (job ids, task -> cells, cell -> latest job).

Rerunning the same experiment submits only the cells that are neither finished nor still
queued/running in an earlier submission, so a failed task is resubmitted alone.

Waiting polls ``squeue`` (then ``sacct`` for jobs squeue has forgotten) with a growing
interval; a task that ends without finishing its cells (failed, cancelled, timed out, or
gone from both for two minutes) counts as failed. It never waits on a dead job.

A task with several processes (``slurm.nodes`` x ``tasks_per_node``) is one Fabric DDP
world: Lightning reads ranks from the SLURM environment, so ``fabric.num_nodes`` must equal
``slurm.nodes`` and ``fabric.devices`` must equal ``tasks_per_node`` (checked here).
"""

from __future__ import annotations

import getpass
import json
import math
import os
import pickle
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from supreme import signals
from supreme.config import ExperimentConfig
from supreme.errors import ConfigError, Interrupted
from supreme.launch.order import chunk_cells
from supreme.recompute import Recompute

if TYPE_CHECKING:
    from supreme.launch.base import Launch as LaunchJob
    from supreme.pipeline.results import Results

INSTALL_HINT = 'pip install "supreme-core[slurm]"'

#: job states (first word of squeue/sacct's State) that will still change
QUEUED_STATES = frozenset({"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD",
                           "RESV_DEL_HOLD", "SUSPENDED", "STOPPED", "RESIZING"})
RUNNING_STATES = frozenset({"RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING"})
#: our own state for a job that neither squeue nor sacct knows any more
LOST = "LOST"
#: a job unknown to squeue and sacct for this long (and with no result) is LOST
LOST_AFTER_S = 120.0


def phase(state: str | None) -> str:
    """``queued``, ``running``, ``completed``, ``failed`` or ``unknown`` for a job state."""
    if not state:
        return "unknown"
    if state in QUEUED_STATES:
        return "queued"
    if state in RUNNING_STATES:
        return "running"
    if state == "COMPLETED":
        return "completed"
    return "failed"  # FAILED, CANCELLED, TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, PREEMPTED, LOST...


# -- sbatch parameters ---------------------------------------------------------------
def sbatch_parameters(config: ExperimentConfig) -> dict[str, Any]:
    """submitit ``SlurmExecutor`` parameters for ``config.slurm``, checked against ``[fabric]``."""
    s, fabric = config.slurm, config.fabric
    devices = fabric.devices if isinstance(fabric.devices, int) else None
    if devices is None and s.tasks_per_node is None:
        raise ConfigError(
            f"fabric.devices = {fabric.devices!r} does not say how many processes each SLURM "
            "task starts",
            "Set fabric.devices to a number (processes per node; one per GPU), or set "
            "slurm.tasks_per_node.",
        )
    tasks = s.tasks_per_node if s.tasks_per_node is not None else devices
    assert tasks is not None
    if devices is not None and tasks != devices:
        raise ConfigError(
            f"slurm.tasks_per_node = {tasks} but fabric.devices = {devices}",
            "Fabric runs one process per device and SLURM starts one process per task: "
            "set both to the same number (or leave slurm.tasks_per_node unset).",
        )
    if s.nodes != fabric.num_nodes:
        raise ConfigError(
            f"slurm.nodes = {s.nodes} but fabric.num_nodes = {fabric.num_nodes}",
            "Each array task is one Fabric world over slurm.nodes nodes: set fabric.num_nodes "
            "to the same number.",
        )
    params: dict[str, Any] = {
        "job_name": f"supreme-{config.name}",
        "time": s.time_min,
        "nodes": s.nodes,
        "ntasks_per_node": tasks,
    }
    if s.partition:
        params["partition"] = s.partition
    if s.account:
        params["account"] = s.account
    if s.cpus_per_task is not None:
        params["cpus_per_task"] = s.cpus_per_task
    if s.mem_gb is not None:
        params["mem"] = f"{math.ceil(s.mem_gb * 1024)}M"
    if s.gpus_per_task:
        # every process of a node sees all the node's GPUs and Fabric picks cuda:LOCAL_RANK
        # (--gpus-per-task would hide the others and break that)
        params["gpus_per_node"] = s.gpus_per_task * tasks
    if s.max_concurrent is not None:
        params["array_parallelism"] = s.max_concurrent
    extra = {k: v for k, v in s.extra.items() if v is not False}
    if extra:
        params["additional_parameters"] = extra
    return params


def sbatch_lines(params: dict[str, Any], n_tasks: int) -> list[str]:
    """The ``#SBATCH`` lines of ``params`` (what --dry-run prints)."""
    flags = {k: v for k, v in params.items()
             if k not in ("additional_parameters", "array_parallelism")}
    flags.update(params.get("additional_parameters", {}))
    if n_tasks > 1:
        limit = min(n_tasks, params.get("array_parallelism", 256))
        flags["array"] = f"0-{n_tasks - 1}%{limit}"
    lines = []
    for key in sorted(flags):
        flag = key.replace("_", "-")
        value = flags[key]
        lines.append(f"#SBATCH --{flag}" if value is True else f"#SBATCH --{flag}={value}")
    return lines


# -- the array task ------------------------------------------------------------------------
def _thread_share() -> int | None:
    """CPU threads for this process from the SLURM allocation (None: not under SLURM)."""
    per_task = os.environ.get("SLURM_CPUS_PER_TASK")
    if per_task and per_task.isdigit():
        return max(1, int(per_task))
    on_node = re.match(r"\d+", os.environ.get("SLURM_JOB_CPUS_PER_NODE", ""))
    tasks = re.match(r"\d+", os.environ.get("SLURM_NTASKS_PER_NODE", "") or
                     os.environ.get("SLURM_TASKS_PER_NODE", "") or "1")
    if on_node:
        return max(1, int(on_node.group()) // max(1, int(tasks.group()) if tasks else 1))
    return None


def run_task(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """What each array task runs (in the compute node's Python): its chunk of cells."""
    from supreme import registry
    from supreme.launch.bootstrap import start_process
    from supreme.pipeline.cells import run_cells

    config = start_process(payload["config"], payload["plugins"], threads=_thread_share(),
                           sys_path=payload.get("sys_path", []))
    job = os.environ.get("SLURM_ARRAY_JOB_ID")
    task = os.environ.get("SLURM_ARRAY_TASK_ID")
    where = f"{job}_{task}" if job and task else os.environ.get("SLURM_JOB_ID", "?")
    print(f"supreme: task {where}: cells {payload['indices']}", flush=True)

    def report(event: Any) -> None:
        print(event.line(), flush=True)

    # a requeued task (preemption, `scontrol requeue`) skips what this code finished before
    from supreme.pipeline.cells import cell_path, read_outcome
    from supreme.plan import resolve

    recompute = Recompute.from_json(payload.get("recompute"))
    resolved = resolve(config, registry.default())
    cells, code = resolved.cells(), resolved.code_digest()
    todo = [i for i in payload["indices"] if 0 <= i < len(cells) and (recompute or not (
        (o := read_outcome(cell_path(config, cells[i]), code)) and o["status"] == "finished"))]
    if len(todo) < len(payload["indices"]):
        print(f"supreme: cells {sorted(set(payload['indices']) - set(todo))} finished already",
              flush=True)
    try:
        # no open_loggers: the launcher logs the collected outcomes
        outcomes = run_cells(config, todo, reporter=report, recompute=recompute)
    except Interrupted as exc:  # SIGTERM (time limit, preemption): the finished cells are kept
        print(f"supreme: task {where}: {exc.message}; finished cells are recorded, the others "
              "run again when the task is requeued or the command is rerun", flush=True)
        raise
    for o in outcomes:
        print(f"supreme: cell {o.index} {o.status} in {o.seconds:.1f} s", flush=True)
    return [{"index": o.index, "status": o.status, "failures": len(o.failures)}
            for o in outcomes]


def _portable_plugins(plugin_files: Iterable[str]) -> tuple[dict[str, Any], list[str]]:
    """The plugin state for the tasks (absolute, de-duplicated paths) and the sys.path
    entries that make runtime-registered plugin modules importable there."""
    from supreme import registry

    state = registry.portable_state([str(Path(p).resolve()) for p in plugin_files])
    paths = list(dict.fromkeys(str(Path(p).resolve()) for p in state["paths"]))
    state = {**state, "paths": paths}
    sys_path: list[str] = []
    for name in state["modules"]:
        module = sys.modules.get(name)
        file = getattr(module, "__file__", None)
        if file:
            root = Path(file).resolve().parent
            if Path(file).name == "__init__.py":
                root = root.parent
            for _ in range(name.count(".")):
                root = root.parent
            sys_path.append(str(root))
    return state, list(dict.fromkeys(sys_path))


# -- jobs.json -------------------------------------------------------------------------------
def jobs_path(run_dir: Path) -> Path:
    return run_dir / "slurm" / "jobs.json"


def load_jobs(run_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads(jobs_path(run_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"submissions": [], "cells": {}, "states": {}}
    data.setdefault("submissions", [])
    data.setdefault("cells", {})
    data.setdefault("states", {})
    return data


def save_jobs(run_dir: Path, data: dict[str, Any]) -> None:
    from supreme.store import atomic_write_json

    atomic_write_json(jobs_path(run_dir), data)


def job_folder(folder: str | Path, job_id: str) -> Path:
    return Path(str(folder).replace("%j", job_id))


def result_file(folder: str | Path, job_id: str) -> Path:
    """submitit's result pickle of the job's first process (present once it returned or raised)."""
    return job_folder(folder, job_id) / f"{job_id}_0_result.pkl"


def log_file(folder: str | Path, job_id: str, kind: str = "err") -> Path:
    return job_folder(folder, job_id) / f"{job_id}_0_log.{kind}"


def task_error(folder: str | Path, job_id: str) -> str | None:
    """The traceback a task raised (from its result pickle), or ``None``."""
    path = result_file(folder, job_id)

    class _PlainOnly(pickle.Unpickler):
        """Reads submitit's ("error", traceback text) tuple; refuses any global (code)."""

        def find_class(self, module: str, name: str) -> Any:
            raise pickle.UnpicklingError(f"refusing {module}.{name}")

    try:
        with open(path, "rb") as handle:
            outcome, value = _PlainOnly(handle).load()
    except Exception:
        return None  # a success (holds objects) or an unreadable file: no error text
    if outcome == "error":
        text = str(value).strip().splitlines()
        return text[-1] if text else "the task raised"
    return None


# -- asking SLURM -----------------------------------------------------------------------------
def _expand(job_id: str) -> list[str]:
    """``123``, ``123_4``, ``123_[0-3,7%2]`` -> the job ids they stand for."""
    match = re.fullmatch(r"(\d+)_\[([^\]]*)\]", job_id)
    if not match:
        return [job_id] if re.fullmatch(r"\d+(_\d+)?", job_id) else []
    main, spec = match.groups()
    out = []
    for part in spec.split("%")[0].split(","):
        if "-" in part:
            lo, hi = part.split("-", 1)
            out += [f"{main}_{i}" for i in range(int(lo), int(hi) + 1)]
        elif part.strip().isdigit():
            out.append(f"{main}_{int(part)}")
    return out


def _run(command: list[str], timeout: float) -> str | None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _parse_rows(text: str, header: bool) -> dict[str, str]:
    states: dict[str, str] = {}
    lines = text.splitlines()
    names = ["JobID", "State"]
    if header and lines:
        names, lines = lines[0].split("|"), lines[1:]
    if "JobID" not in names or "State" not in names:
        return states
    i_id, i_state = names.index("JobID"), names.index("State")
    for line in lines:
        parts = line.split("|")
        if len(parts) <= max(i_id, i_state) or "." in parts[i_id]:
            continue
        words = parts[i_state].split()
        if not words:
            continue
        state = words[0].rstrip("+").upper()
        for job in _expand(parts[i_id].strip()):
            states[job] = state
    return states


def query_states(job_ids: Iterable[str], timeout: float = 20.0) -> dict[str, str] | None:
    """Current state of each job id that squeue or sacct knows; ``None`` when neither
    could be asked (no SLURM client here)."""
    wanted = set(job_ids)
    if not wanted:
        return {}
    mains = sorted({j.split("_")[0] for j in wanted})
    states: dict[str, str] = {}
    asked = False
    out = _run(["squeue", "--states=all", "-h", "-o", "%i|%T", "-j", ",".join(mains)], timeout)
    if out is None:  # a purged id makes squeue refuse the whole list: list ours instead
        try:
            out = _run(["squeue", "--states=all", "-h", "-o", "%i|%T",
                        "-u", getpass.getuser()], timeout)
        except Exception:
            out = None
    if out is not None:
        asked = True
        states.update({j: s for j, s in _parse_rows(out, header=False).items()})
    missing = {j.split("_")[0] for j in wanted if j not in states}
    if missing:
        command = ["sacct", "-X", "-o", "JobID,State", "--parsable2"]
        for main in sorted(missing):
            command += ["-j", main]
        out = _run(command, timeout)
        if out is not None:
            asked = True
            for job, state in _parse_rows(out, header=True).items():
                states.setdefault(job, state)
    if not asked:
        return None
    return {j: states[j] for j in wanted if j in states}


# -- launching -------------------------------------------------------------------------------
@dataclass
class _Task:
    job: str
    cells: list[int]
    folder: str
    submitted_at: float
    state: str | None = None
    last_seen: float = field(default_factory=time.time)
    ended: bool = False


def _submitit() -> Any:
    try:
        import submitit
    except ImportError:
        raise ConfigError(
            "launcher 'slurm' needs the submitit package, which is not installed",
            f"Install it with: {INSTALL_HINT}",
        ) from None
    return submitit


def launch(
    config: ExperimentConfig,
    *,
    indices: list[int] | None,
    dry_run: bool,
    wait: bool,
    plugin_files: list[str],
    echo: Callable[[str], None],
    poll_max_s: float = 10.0,
    recompute: Recompute | None = None,
) -> int:
    """Submit the unfinished cells among ``indices`` (all when ``None``) as one job array.

    * ``dry_run``: print the sbatch parameters and the cells each task would run; submit
      and write nothing; return 0.
    * ``wait=False``: submit, record ``RUN_DIR/slurm/jobs.json``, return 0.
    * ``wait=True``: also wait until every task of this submission (and any earlier one
      still running cells of ``indices``) has ended, print each task that failed, then
      :func:`~supreme.pipeline.cells.collect` and return the number of cells of
      ``indices`` that are not finished (0: all finished).

    Raises :class:`~supreme.errors.ConfigError` for settings SLURM cannot run, a missing
    submitit or no SLURM on this machine; :class:`~supreme.errors.Interrupted` on Ctrl-C
    while waiting (the jobs keep running); :class:`~supreme.errors.SupremeError` when
    neither squeue nor sacct answers for ten minutes while waiting.
    """
    from supreme.plan import resolve
    from supreme.registry import default

    resolved = resolve(config, default())
    cells = resolved.cells()
    code = resolved.code_digest()
    recompute = recompute or Recompute()
    chosen = list(range(len(cells))) if indices is None else list(dict.fromkeys(indices))
    for index in chosen:
        if not 0 <= index < len(cells):
            raise ConfigError(f"cell index {index} is outside 0..{len(cells) - 1}",
                              "`supreme plan` lists the cells of the experiment.")
    params = sbatch_parameters(config)
    run_dir = config.run_dir()
    folder = (run_dir / (config.slurm.folder or "slurm")).resolve()  # inside the run dir
    jobs = load_jobs(run_dir)
    finished, earlier = _finished_and_running(config, cells, chosen, code, recompute, jobs,
                                              folder)
    active = sorted(i for t in earlier.values() for i in t.cells)
    todo = [i for i in chosen if i not in finished and i not in active]
    chunks = chunk_cells(cells, todo, config.slurm.cells_per_task)

    echo(f"SLURM: {len(chosen)} cells: {len(finished)} finished, {len(active)} queued or "
         f"running in earlier jobs, {len(todo)} to submit in {len(chunks)} array task(s)")
    if dry_run:
        _print_dry_run(params, folder, cells, chunks, earlier, echo)
        return 0
    new_tasks = _submit(config, cells, chunks, params, folder, jobs, plugin_files, recompute,
                        echo) if chunks else []
    if not wait:
        return 0
    return _wait_and_collect(config, cells, chosen, code, [*earlier.values(), *new_tasks],
                             echo, poll_max_s)


def _finished_and_running(config: ExperimentConfig, cells: Sequence[Any], chosen: list[int],
                          code: str, recompute: Recompute, jobs: dict[str, Any],
                          folder: Path) -> tuple[list[int], dict[str, _Task]]:
    """The cells of ``chosen`` that this code finished (none when recomputing), and the
    tasks of earlier submissions still queued or running other chosen cells (wait for
    those, do not submit them twice)."""
    from supreme.pipeline.cells import cell_id, cell_path, read_outcome

    finished = [] if recompute else [
        i for i in chosen
        if (o := read_outcome(cell_path(config, cells[i]), code)) and o["status"] == "finished"]
    earlier: dict[str, _Task] = {}
    previous = {int(i): e["job"] for i, e in jobs["cells"].items()
                if int(i) in chosen and int(i) not in finished
                and e.get("id") == cell_id(config, cells[int(i)])}
    if previous:
        live = query_states(set(previous.values())) or {}
        for index, job in previous.items():
            state = live.get(job)
            if phase(state) in ("queued", "running") and not result_file(
                    task_folder(jobs, job, folder), job).exists():
                task = earlier.setdefault(job, _Task(job, [], task_folder(jobs, job, folder),
                                                     _submitted_at(jobs, job)))
                task.cells.append(index)
                task.state = state
    return finished, earlier


def _print_dry_run(params: dict[str, Any], folder: Path, cells: Sequence[Any],
                   chunks: list[list[int]], earlier: dict[str, _Task],
                   echo: Callable[[str], None]) -> None:
    from supreme.secrets import redact

    for line in sbatch_lines(redact(params), len(chunks)):
        echo("  " + line)
    echo(f"  logs: {folder}/%j")
    for number, chunk in enumerate(chunks):
        echo(f"  task {number}: " + "; ".join(f"[{i}] {cells[i].label()}" for i in chunk))
    for job, task in sorted(earlier.items()):
        echo(f"  running already as {job}: cells {task.cells}")


def _submit(config: ExperimentConfig, cells: Sequence[Any], chunks: list[list[int]],
            params: dict[str, Any], folder: Path, jobs: dict[str, Any], plugin_files: list[str],
            recompute: Recompute, echo: Callable[[str], None]) -> list[_Task]:
    """Submit ``chunks`` as one job array and record it in ``RUN_DIR/slurm/jobs.json``."""
    from supreme.pipeline.cells import cell_id, write_config
    from supreme.secrets import redact

    submitit = _submitit()
    write_config(config)
    plugins, sys_path = _portable_plugins(plugin_files)
    if plugins["skipped"]:
        echo("warning: plugins registered as objects cannot reach SLURM tasks: "
             f"{', '.join(plugins['skipped'])}; register a module or use --plugin FILE")
    config_json = config.model_dump(mode="json")
    payloads = [{"config": config_json, "indices": chunk, "plugins": plugins,
                 "sys_path": sys_path, "recompute": recompute.as_json()} for chunk in chunks]
    try:
        executor = submitit.SlurmExecutor(folder=folder / "%j", max_num_timeout=0)
    except RuntimeError as exc:
        raise ConfigError(
            f"cannot submit to SLURM from here: {exc}",
            "Run on a machine with the SLURM clients (srun, sbatch), or use "
            "launch.launcher = 'local'; scripts/local-slurm.sh starts a test cluster.",
        ) from None
    executor.update_parameters(**params)
    submitted_at = time.time()
    try:
        submitted = executor.map_array(run_task, payloads)
    except Exception as exc:  # sbatch refused (bad partition, account, limits...)
        raise ConfigError(f"sbatch refused the job array: {exc}",
                          "Check the [slurm] table against the cluster's partitions "
                          "and limits (sinfo, sacctmgr show assoc).") from None
    new_tasks = [_Task(str(job.job_id), chunk, str(folder / "%j"), submitted_at)
                 for job, chunk in zip(submitted, chunks, strict=True)]
    array = new_tasks[0].job.split("_")[0]
    jobs["submissions"].append({
        "array": array, "submitted_at": submitted_at, "folder": str(folder / "%j"),
        "parameters": redact(params), "tasks": [{"job": t.job, "cells": t.cells} for t in new_tasks],
    })
    for t in new_tasks:
        for index in t.cells:
            jobs["cells"][str(index)] = {"job": t.job, "id": cell_id(config, cells[index]),
                                         "cell": cells[index].as_dict()}
    run_dir = config.run_dir()
    save_jobs(run_dir, jobs)
    what = (f"job array {array} ({len(new_tasks)} tasks)" if len(new_tasks) > 1
            else f"job {array} (1 task)")
    echo(f"SLURM: submitted {what}; logs in {folder}/{array}*; "
         f"follow with: supreme status {run_dir}")
    return new_tasks


def _wait_and_collect(config: ExperimentConfig, cells: Sequence[Any], chosen: list[int],
                      code: str, watched: list[_Task], echo: Callable[[str], None],
                      poll_max_s: float) -> int:
    """Wait for ``watched`` tasks, record their final states, collect every outcome, print
    each task that left cells without a result; return how many chosen cells are not
    finished."""
    from supreme.pipeline.cells import collect

    run_dir = config.run_dir()
    try:
        _wait(watched, echo, poll_max_s)
    except KeyboardInterrupt:
        raise Interrupted(
            "stopped waiting; the SLURM jobs keep running",
            f"Follow them with `supreme status {run_dir}`; run the same command again to wait "
            "for them and collect the results (finished cells are not submitted again).",
            signals.exit_code(),
        ) from None
    jobs = load_jobs(run_dir)
    jobs["states"].update({t.job: t.state or "UNKNOWN" for t in watched})
    if watched:
        save_jobs(run_dir, jobs)
    merged = collect(config, cells=cells, code=code)
    not_done = [i for i in chosen if merged.status.get(i) != "finished"]
    for t in watched:
        if phase(t.state) != "completed" or any(i in not_done for i in t.cells):
            error = task_error(t.folder, t.job)
            lost = [i for i in t.cells if merged.status.get(i) == "missing"]
            detail = f"; {error}" if error else ""
            echo(f"SLURM: task {t.job} ended {t.state or 'UNKNOWN'}{detail}; "
                 f"cells without a result: {lost or 'none'}; log: {log_file(t.folder, t.job)}")
    echo(f"SLURM: done: {len(chosen) - len(not_done)} of {len(chosen)} cells finished"
         + (f", {len(not_done)} failed (run again to resubmit only those)" if not_done else ""))
    return len(not_done)


def task_folder(jobs: dict[str, Any], job: str, default: Path) -> str:
    for submission in jobs["submissions"]:
        if any(t["job"] == job for t in submission["tasks"]):
            return str(submission["folder"])
    return str(default / "%j")


def _submitted_at(jobs: dict[str, Any], job: str) -> float:
    for submission in jobs["submissions"]:
        if any(t["job"] == job for t in submission["tasks"]):
            return float(submission["submitted_at"])
    return time.time()


#: give up waiting when neither squeue nor sacct has answered for this long
UNREACHABLE_AFTER_S = 600.0
#: above this many tasks, print counts instead of one line per task and state
TASK_LINES_UP_TO = 20


def _wait(tasks: list[_Task], echo: Callable[[str], None], poll_max_s: float) -> None:
    """Poll until every task has ended (see the module docstring)."""
    from supreme.errors import SupremeError

    interval = 1.0
    last_answer = time.time()
    summary = ""
    while True:
        now = time.time()
        live = query_states(t.job for t in tasks if not t.ended)
        if live is not None:
            last_answer = now
        elif now - last_answer > UNREACHABLE_AFTER_S:
            raise SupremeError(
                f"neither squeue nor sacct answered for {UNREACHABLE_AFTER_S / 60:.0f} minutes; "
                "stopped waiting (the jobs may still run)",
                "Check the cluster (sinfo, squeue), then `supreme status RUN_DIR`, or run the "
                "same command again to wait and collect.",
            )
        for t in tasks:
            if t.ended:
                continue
            state = live.get(t.job) if live is not None else None
            if state is not None:
                t.last_seen = now
                if state != t.state and len(tasks) <= TASK_LINES_UP_TO:
                    echo(f"SLURM: task {t.job} (cells {_short(t.cells)}): {state}")
                t.state = state
            if result_file(t.folder, t.job).exists():
                t.ended = True  # returned or raised; its cells say how it went
                if phase(t.state) != "failed":
                    t.state = "FAILED" if task_error(t.folder, t.job) else "COMPLETED"
            elif phase(t.state) in ("completed", "failed"):
                t.ended = True
            elif live is not None and state is None and now - t.last_seen > LOST_AFTER_S:
                t.ended, t.state = True, LOST
                echo(f"SLURM: task {t.job} is unknown to squeue and sacct: counted as failed")
        if len(tasks) > TASK_LINES_UP_TO:
            counts: dict[str, int] = {}
            for t in tasks:
                key = phase(t.state)
                counts[key] = counts.get(key, 0) + 1
            line = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
            if line != summary:
                echo(f"SLURM: {len(tasks)} tasks: {line}")
                summary = line
        if all(t.ended for t in tasks):
            return
        time.sleep(interval)
        interval = min(poll_max_s, interval * 1.5)


def _short(indices: Sequence[int]) -> str:
    return ",".join(map(str, indices[:8])) + (",…" if len(indices) > 8 else "")


class Slurm:
    """``--launcher slurm``: the unfinished cells as one SLURM job array."""

    name = "slurm"

    def __init__(self, *, dry_run: bool = False, wait: bool = True) -> None:
        self.dry_run, self.wait = dry_run, wait

    def launch(self, job: LaunchJob) -> Results:
        from supreme.pipeline.cells import write_config
        from supreme.pipeline.results import Results

        config = job.config
        if not self.dry_run:
            write_config(config)
        unfinished = launch(config, indices=list(range(len(job.cells))), dry_run=self.dry_run,
                            wait=self.wait, plugin_files=list(job.plugin_files),
                            recompute=job.recompute,
                            echo=print if self.dry_run else  # the dry run's output is its result
                            lambda line: print(line, file=sys.stderr, flush=True))
        merged = job.collect(write=not self.dry_run)
        if self.wait and not self.dry_run and config.loggers.use:
            log_outcomes(config, job.cells)  # the tasks log nothing: one writer per run
        return Results(merged.records, config.run_dir(), [], merged.failures, len(job.cells),
                       unfinished=unfinished if self.wait else 0, gates=merged.gates,
                       examples=merged.examples)


def log_outcomes(config: ExperimentConfig, cells: Sequence[Any]) -> None:
    """Feed the ``[loggers]`` every recorded cell outcome (after a SLURM array)."""
    from supreme.loggers import ExperimentLoggers
    from supreme.observers import Observers
    from supreme.pipeline.cells import cell_path, read_outcome

    loggers = ExperimentLoggers.open(config, config.run_dir())
    # the plugins' hooks saw these cells in the array tasks: only the loggers observe here
    observers = Observers(plugins=[loggers])
    try:
        for cell in cells:
            outcome = read_outcome(cell_path(config, cell))
            if outcome is not None:
                observers.cell_end(cell, outcome["records"], outcome["failures"])
    finally:
        loggers.close()
