"""The in-process launcher: every cell in this process, one after the other.

Under a distributed Fabric strategy (``fabric.devices = 2``, ``torchrun``, ``srun``) every
process runs this launcher on the same cells; rank 0 writes and collects the outcomes.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from supreme.errors import Interrupted
from supreme.launch.base import Launch

if TYPE_CHECKING:
    from supreme.config import ExperimentConfig
    from supreme.pipeline.results import Results


def rank_zero_env() -> bool:
    """Rank 0, or a process not yet launched by a distributed launcher."""
    return all(os.environ.get(v, "0") == "0" for v in ("RANK", "LOCAL_RANK", "SLURM_PROCID"))


def loggers_of(config: ExperimentConfig) -> Any:
    """``open_loggers`` for :func:`~supreme.pipeline.cells.run_cells`: ``None`` without
    ``[loggers]``."""
    if not config.loggers.use:
        return None
    from supreme.loggers import ExperimentLoggers

    return lambda world_size: ExperimentLoggers.open(config, config.run_dir(),
                                                     world_size=world_size)


class InProcess:
    """Every cell in this process (the default, ``--workers 1``)."""

    name = "local"

    def launch(self, job: Launch) -> Results:
        from supreme.pipeline.cells import run_cells_with_runner, write_config
        from supreme.pipeline.results import Results

        config = job.config
        if rank_zero_env():
            write_config(config)
        # finished cells are not run again: their outcomes are the results (every rank of
        # a distributed run reads the same files before any of them computes)
        pending = job.pending()
        if not pending:  # nothing to compute: neither torch nor Lightning is imported
            merged = job.collect(write=rank_zero_env(), ran=())
            return Results(merged.records, config.run_dir(), [], merged.failures,
                           len(job.cells), _env_rank(), gates=merged.gates, examples=merged.examples, ran=0)
        try:
            outcomes, runner = run_cells_with_runner(
                config, pending, registry=job.registry, reporter=job.reporter,
                fail_fast=job.fail_fast, resolved=job.resolved, recompute=job.recompute,
                open_loggers=loggers_of(config))
        except Interrupted:
            if rank_zero_env():
                job.collect(ran=pending)  # what finished stays reported
            raise
        if not runner.fabric.is_global_zero:
            records = [r for o in outcomes for r in o.records]
            failures = [f for o in outcomes for f in o.failures]
            return Results(records, config.run_dir(), runner.events, failures, len(job.cells),
                           runner.fabric.global_rank, ran=len(pending))
        merged = job.collect(ran=pending)
        return Results(merged.records, config.run_dir(), runner.events, merged.failures,
                       len(job.cells), gates=merged.gates, examples=merged.examples, ran=len(pending))


def _env_rank() -> int:
    """This process's global rank as its launcher set it (0 outside distributed runs)."""
    for name in ("RANK", "SLURM_PROCID"):
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 0
