"""The engine: run or plan a whole experiment (``supreme.run``, ``supreme plan``).

It validates everything before compute, claims the run directory, picks the launcher
(this process, ``--workers N`` local processes, or a SLURM job array), feeds the
``[loggers]`` and collects the cells' outcome files into ``results.jsonl``. The work of one
cell is :mod:`supreme.pipeline` (``run_cells``, ``Runner``); the launchers are
:mod:`supreme.launch`.

Layers (enforced by import-linter, ``[tool.importlinter]`` in the root ``pyproject.toml``):
``supreme.cli`` → ``supreme.engine`` → ``supreme.launch`` / ``supreme.report`` →
``supreme.loggers`` / ``supreme.validate`` → ``supreme.pipeline`` → the rest of the core
(config, store, registry, plan, ...) → ``supreme.contracts`` / ``supreme.errors``. A
module imports only from its own layer or below.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from supreme.config import ExperimentConfig
from supreme.contracts.records import StageEvent
from supreme.errors import CellsFailed, ConfigError
from supreme.launch.base import Launch, Launcher
from supreme.launch.inprocess import rank_zero_env
from supreme.pipeline.cells import leased, pending_cells, read_outcomes
from supreme.pipeline.fabric import make_fabric
from supreme.pipeline.results import Reporter, Results
from supreme.plan import Cell, Resolved, resolve
from supreme.recompute import Recompute
from supreme.recompute import parse as parse_recompute
from supreme.registry import Registry, default
from supreme.stage import Stage, StageKind
from supreme.store import Store
from supreme.validate import check_outputs, validate

if TYPE_CHECKING:
    from lightning.fabric import Fabric

__all__ = ["Plan", "failures_error", "plan", "resolve_workers", "run"]


def resolve_workers(config: ExperimentConfig, workers: int | str | None) -> int:
    """How many local worker processes: ``auto`` is ``launch.workers_per_device`` per
    device group (CUDA), or one per two CPU cores."""
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
            groups = max(1, torch.cuda.device_count() // max(1, per_cell))
            return groups * config.launch.workers_per_device
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
    recompute = parse_recompute(recompute, methods=config.methods, metrics=config.metrics)
    code = resolved.code_digest()
    # a local run reads every cell's outcome once: a cell finished by this code, on this
    # torch and these dataset files, is not run again (under --recompute every cell runs)
    outcomes = read_outcomes(config, cells, code) if launcher == "local" and not recompute else []
    if outcomes and not pending_cells(config, cells, code, outcomes=outcomes):
        check_outputs(config)  # nothing to compute: the checks before compute are moot
    else:
        # everything checkable before compute; for SLURM, the checks that only hold where
        # the cells will run are left to the tasks
        validate(resolved, cells, local=launcher != "slurm")
    if config.loggers.use:
        from supreme.loggers import require_extra

        for name in config.loggers.use:
            require_extra(name)  # a missing extra fails before any compute
    if launcher not in ("local", "slurm"):
        raise ConfigError(f"launcher {launcher!r} is unknown", "Use local or slurm.")
    n_workers = resolve_workers(config, workers)
    from supreme.rundir import claim

    writes = not dry_run and rank_zero_env()
    if writes and not overwrite:
        claim(config)  # one run directory, one experiment: refused before anything is written
    with leased(config) if not dry_run and (launcher != "slurm" or wait) else \
            contextlib.nullcontext():
        if writes and overwrite:
            claim(config, overwrite=True)  # under the lease: no other experiment runs there
        return _run(config, registry, resolved, cells, reporter=reporter, fail_fast=fail_fast,
                    n_workers=n_workers, launcher=launcher, dry_run=dry_run, wait=wait,
                    plugin_files=plugin_files, recompute=recompute, code=code,
                    outcomes=outcomes)


def _run(config: ExperimentConfig, registry: Registry, resolved: Resolved, cells: list[Cell], *,
         reporter: Reporter | None, fail_fast: bool, n_workers: int, launcher: str,
         dry_run: bool, wait: bool, plugin_files: Sequence[str], recompute: Recompute,
         code: str, outcomes: Sequence[dict[str, Any] | None] = ()) -> Results:
    job = Launch(config, registry, resolved, cells, code, recompute, reporter=reporter,
                 fail_fast=fail_fast, plugin_files=tuple(plugin_files), outcomes=outcomes)
    results = choose_launcher(launcher, n_workers=n_workers, cells=len(cells), dry_run=dry_run,
                              wait=wait).launch(job)
    if wait and not dry_run and results.rank == 0 and rank_zero_env():
        # the grid metrics of every group whose cells have all run (pipeline/grid.py)
        from supreme.pipeline.grid import compute as grid_metrics

        results.grid = grid_metrics(resolved, cells, results.examples)
    return results


def choose_launcher(launcher: str, *, n_workers: int, cells: int, dry_run: bool = False,
                    wait: bool = True) -> Launcher:
    """The :class:`~supreme.launch.base.Launcher` for ``launch.launcher`` and ``--workers``:
    SLURM, local worker processes (more than one worker and more than one cell), or this
    process."""
    if launcher == "slurm":
        from supreme.launch.slurm import Slurm

        return Slurm(dry_run=dry_run, wait=wait)
    if dry_run:
        raise ConfigError("--dry-run only applies to --launcher slurm",
                          "Use `supreme plan` to see what a local run would compute.")
    if n_workers > 1 and cells > 1:
        from supreme.launch.workers import LocalWorkers

        return LocalWorkers(n_workers)
    from supreme.launch.inprocess import InProcess

    return InProcess()


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


@dataclass
class Plan:
    """What running an experiment implies, and what the store already holds."""

    cells: list[Cell]
    events: list[StageEvent]

    #: the kinds of stage counted by :meth:`counts`
    KINDS = (("trainings", StageKind.TRAIN), ("retrainings", StageKind.RETRAIN),
             ("unlearning runs", StageKind.UNLEARN), ("evaluations", StageKind.EVALUATE))

    def counts(self) -> dict[str, dict[str, int]]:
        """Per kind of work: how many distinct artifacts, how many exist, how many to compute.
        Shadow models (metrics that declare ``shadows``) add two kinds when the run has
        them: ``shadow trainings`` (each shadow ``M_o#k`` and its retraining ``M_r#k``) and
        ``shadow unlearning runs`` (a method applied to a shadow)."""
        names = {kind: name for name, kind in self.KINDS}

        def kind_of(stage: Stage) -> str | None:
            if stage.kind is StageKind.SHADOW:
                trained = str(stage.name).startswith(("M_o#", "M_r#"))
                return "shadow trainings" if trained else "shadow unlearning runs"
            return names.get(stage.kind)

        found: dict[str, dict[str, bool]] = {name: {} for name, _ in self.KINDS}
        for event in self.events:
            name = kind_of(Stage.parse(event.stage))
            if name is not None:
                if name not in found:  # the first shadow stage: both shadow kinds, in order
                    found |= {"shadow trainings": {}, "shadow unlearning runs": {}}
                found[name][event.key] = event.reused
        out = {}
        for name, keys in found.items():
            existing = sum(keys.values())
            out[name] = {"total": len(keys), "existing": existing, "to_compute": len(keys) - existing}
        return out


def plan(config: ExperimentConfig, *, registry: Registry | None = None,
         recompute: str | Sequence[str] | Recompute | None = None) -> Plan:
    """The cells of ``config`` and every stage they need, without computing or writing.

    Datasets are decoded (or read from the store) and splits built in memory, because
    the keys of later stages depend on them. With ``recompute`` (``--recompute``), the
    stages it would redo count as to compute.
    """
    from supreme.pipeline.run import PlanView, Runner

    resolved = resolve(config, registry or default())
    cells = resolved.cells()
    validate(resolved, cells, local=config.launch.launcher != "slurm")
    fabric = make_fabric(config.fabric) if config.launch.launcher != "slurm" else _cpu_fabric()
    if config.launch.launcher == "local" and fabric.device.type == "cpu":
        from supreme.launch.workers import device_env

        workers = resolve_workers(config, None)
        if workers > 1:  # keys carry the CPU threads a worker will run with
            import torch

            torch.set_num_threads(int(device_env(config, 1, workers)["OMP_NUM_THREADS"]))
    recompute = parse_recompute(recompute, methods=config.methods, metrics=config.metrics)
    runner = Runner(resolved, fabric, PlanView(Store(config.output_dir / "store")),
                    recompute=recompute)
    for cell in cells:
        runner.run_cell(cell)
    return Plan(cells, runner.events)


def _cpu_fabric() -> Fabric:
    """Planning a SLURM grid on a login node: keys need a Fabric, not the cluster's GPUs."""
    from lightning.fabric import Fabric

    return Fabric(accelerator="cpu", devices=1)
