"""``--workers N``: independent cells at once, in separate processes on one machine.

Each worker is a fresh (spawned) process bound to its own device (CUDA: one
``CUDA_VISIBLE_DEVICES`` slice per worker; CPU: its share of the cores) that takes cells
from a shared queue and runs them through :func:`~supreme.pipeline.cells.run_cells`.
Workers share the store, whose per-artifact file locks make each M_o and M_r train once:
a worker that needs an artifact another one is training waits for it, then reuses it.
Cells are queued so that neighbours need different M_o, which keeps workers from waiting.

The parent prints every worker's stage lines (prefixed ``[wN]``), feeds the loggers, and
handles Ctrl-C and SIGTERM: the first one lets every worker finish its current stage, the
second stops them at once. A worker whose parent dies (killed, out of memory) stops after
its current stage instead of running the rest of the queue unsupervised: it checks
``os.getppid()`` at every stage boundary. A worker sent SIGTERM itself also stops after
its stage.
"""

from __future__ import annotations

import os
import queue
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from supreme import signals
from supreme.config import ExperimentConfig
from supreme.errors import Interrupted, StageError, SupremeError
from supreme.launch.order import queue_order
from supreme.plan import Cell
from supreme.recompute import Recompute

if TYPE_CHECKING:
    from supreme.contracts.records import StageEvent
    from supreme.launch.base import Launch
    from supreme.observers import Observers
    from supreme.pipeline.results import Reporter, Results


def device_env(config: ExperimentConfig, worker: int, n_workers: int) -> dict[str, str]:
    """Environment binding ``worker`` (1-based) to its devices and CPU threads: on CUDA, the
    device group of its slot (:func:`supreme.launch.packing.device_slots`, with
    ``launch.workers_per_device`` workers per group)."""
    env = {"SUPREME_WORKER": str(worker)}
    if config.fabric.accelerator in ("cuda", "gpu", "auto"):
        import torch

        if torch.cuda.is_available():
            from supreme.launch.packing import device_slots, slot_of

            total = torch.cuda.device_count()
            per = config.fabric.devices if isinstance(config.fabric.devices, int) else 1
            slots = device_slots(total, min(per, total), config.launch.workers_per_device)
            env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, slot_of(worker, slots)))
    threads = max(1, (os.cpu_count() or 1) // n_workers)
    env["OMP_NUM_THREADS"] = str(threads)
    return env


def _worker(worker: int, config_json: dict[str, Any], plugins: dict[str, Any],
            env: dict[str, str], tasks: Any, messages: Any, stop: Any, fail_fast: bool,
            recompute: dict[str, Any] | None = None) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    parent = os.getppid()
    os.environ.update(env)
    try:
        from supreme.launch.bootstrap import start_process
        from supreme.observers import Forwarder, Observers
        from supreme.pipeline.cells import run_cells_with_runner

        config = start_process(config_json, plugins, threads=int(env["OMP_NUM_THREADS"]))
        # SIGTERM (SLURM and `kill` signal every process): finish the stage, then stop
        signal.signal(signal.SIGTERM, lambda signum, frame: signals.request_stop())

        def stopped() -> bool:
            """The parent asked to stop, or died (then nobody collects: stop after the stage)."""
            return stop.is_set() or os.getppid() != parent

        signals.stop_from(stopped)

        def indices() -> Any:
            while not stopped():
                try:
                    yield tasks.get_nowait()
                except queue.Empty:
                    return

        def on_cell(outcome: Any) -> None:
            messages.put(("cell", worker, (outcome.index, outcome.status)))

        # the parent observes the run: stage events go to it, and it calls the plugins'
        # hooks, the reporter and the loggers (so no hook runs twice)
        forward = Forwarder(lambda phase, event: messages.put((phase, worker, event)))
        run_cells_with_runner(config, indices(), registry=None, fail_fast=fail_fast,
                              on_cell=on_cell, worker=worker,
                              observers=Observers(plugins=[forward]),
                              recompute=Recompute.from_json(recompute))
    except Interrupted:
        messages.put(("interrupted", worker, None))
    except SupremeError as exc:
        messages.put(("error", worker, (type(exc).__name__, exc.message, exc.hint, exc.exit_code)))
    except BaseException as exc:  # a bug: report it, do not hang the parent
        messages.put(("error", worker, (type(exc).__name__, f"{type(exc).__name__}: {exc}",
                                        "Rerun with --workers 1 --debug for the traceback.", 1)))
    finally:
        messages.put(("done", worker, None))


def run_with_workers(config: ExperimentConfig, cells: Sequence[Cell], n_workers: int, *,
                     indices: Sequence[int] | None = None, reporter: Reporter | None = None,
                     fail_fast: bool = False, plugin_files: Sequence[str] = (),
                     recompute: Recompute | None = None, hooks: Any = None) -> list[StageEvent]:
    """Run the cells at ``indices`` (default: all) of the grid ``cells`` on ``n_workers``
    processes; returns the stage events of all workers. This process observes the run:
    the plugins' hooks (``hooks``, default: the default registry's), ``reporter`` and the
    loggers see every worker's stages and cells."""
    import multiprocessing as mp

    from supreme import registry
    from supreme.signals import interruptible, stop_requested

    plugins = registry.portable_state(plugin_files)
    if plugins["skipped"]:
        import warnings

        warnings.warn(
            f"plugins registered as objects cannot reach worker processes: "
            f"{', '.join(plugins['skipped'])}; register a module or use --plugin FILE",
            RuntimeWarning, stacklevel=2,
        )
    order = queue_order(cells, indices)
    n_workers = min(n_workers, len(order))
    context = mp.get_context("spawn")
    tasks, messages, stop = context.Queue(), context.Queue(), context.Event()
    for index in order:
        tasks.put(index)
    loggers = None
    if config.loggers.use:
        from supreme.loggers import ExperimentLoggers

        loggers = ExperimentLoggers.open(config, config.run_dir())
    from supreme.observers import Observers, Reporter

    observers = Observers(hooks if hooks is not None else registry.default().hooks,
                          [Reporter(reporter) if reporter is not None else None, loggers])
    config_json = config.model_dump(mode="json")
    processes = [
        context.Process(target=_worker, name=f"supreme-worker-{w}", daemon=True,
                        args=(w, config_json, plugins, device_env(config, w, n_workers), tasks,
                              messages, stop, fail_fast,
                              recompute.as_json() if recompute else None))
        for w in range(1, n_workers + 1)
    ]
    inbox = _Inbox(config, cells, observers, fail_fast, stop, running=len(processes))
    try:
        with interruptible():
            for process in processes:
                process.start()
            _drain(inbox, messages, processes)
            inbox.interrupted = inbox.interrupted or stop_requested()
    except KeyboardInterrupt:  # second Ctrl-C: stop now
        for process in processes:
            if process.is_alive():
                process.terminate()
        inbox.interrupted = True
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
        if loggers is not None:
            loggers.close()
    if inbox.errors:
        name, message, hint, code = inbox.errors[0]
        error = StageError(message, hint)
        error.exit_code = code  # the worker's error class decides the exit code
        raise error
    if inbox.interrupted:
        raise Interrupted(f"{signals.stopped_by()}; every finished artifact is kept in the store",
                          "Run the same command again to resume: finished stages are reused.",
                          signals.exit_code())
    return inbox.events


@dataclass
class _Inbox:
    """What the parent learns from its workers' messages."""

    config: ExperimentConfig
    cells: Sequence[Cell]
    observers: Observers
    fail_fast: bool
    stop: Any  # the event that asks every worker to stop after its stage
    running: int = 0
    events: list[StageEvent] = field(default_factory=list)
    errors: list[tuple[str, str, str, int]] = field(default_factory=list)
    interrupted: bool = False

    def handle(self, kind: str, payload: Any) -> None:
        if kind == "start":  # a stage started
            self.observers.stage_start(payload)
        elif kind == "end":  # a stage ended
            self.events.append(payload)
            self.observers.stage_end(payload)
        elif kind == "cell":  # a cell ended and wrote its outcome
            index, status = payload
            _cell_done(self.config, self.cells, self.observers, index)
            if status == "failed" and self.fail_fast:
                self.stop.set()
        elif kind == "error":  # a worker cannot go on: stop the others too
            self.errors.append(payload)
            self.stop.set()
        elif kind == "interrupted":
            self.interrupted = True
        elif kind == "done":
            self.running -= 1


def _drain(inbox: _Inbox, messages: Any, processes: Sequence[Any]) -> None:
    """Handle messages until every worker is done (or dead without a word); pass a stop
    request of this process (Ctrl-C, SIGTERM) on to the workers."""
    from supreme.signals import stop_requested

    while inbox.running:
        if stop_requested() and not inbox.stop.is_set():
            inbox.stop.set()  # workers finish their current stage, then stop
        try:
            kind, _worker, payload = messages.get(timeout=0.5)
        except queue.Empty:
            if not any(p.is_alive() for p in processes):
                return  # every worker died without saying so
            continue
        try:
            inbox.handle(kind, payload)
        except BaseException:  # an observer failed (a plugin's hook): stop the workers too
            inbox.stop.set()
            raise


def _cell_done(config: ExperimentConfig, cells: Sequence[Cell], observers: Observers,
               index: int) -> None:
    from supreme.pipeline.cells import cell_path, read_outcome

    outcome = read_outcome(cell_path(config, cells[index]))
    if outcome is not None:
        observers.cell_end(cells[index], outcome["records"], outcome["failures"])


class LocalWorkers:
    """``--workers N``: the unfinished cells on ``n_workers`` local processes."""

    name = "workers"

    def __init__(self, n_workers: int) -> None:
        self.n_workers = n_workers

    def launch(self, job: Launch) -> Results:
        from supreme.pipeline.cells import write_config
        from supreme.pipeline.results import Results

        config = job.config
        write_config(config)
        # finished cells need no worker: a rerun of a finished grid starts no process
        pending = job.pending()
        try:
            events = run_with_workers(config, job.cells, self.n_workers, indices=pending,
                                      reporter=job.reporter, fail_fast=job.fail_fast,
                                      plugin_files=job.plugin_files, recompute=job.recompute,
                                      hooks=job.registry.hooks) if pending else []
        except Interrupted:
            job.collect(ran=pending)  # what finished stays reported
            raise
        merged = job.collect(ran=pending)
        # a worker that died without a word (killed, out of host memory) leaves its cells missing
        return Results(merged.records, config.run_dir(), events, merged.failures, len(job.cells),
                       unfinished=merged.counts()["missing"], gates=merged.gates, examples=merged.examples,
                       ran=len(pending))
