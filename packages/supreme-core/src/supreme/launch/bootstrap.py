"""The one start of a process that runs cells for a launcher.

A ``--workers`` worker (:mod:`supreme.launch.workers`) and a SLURM array task
(:mod:`supreme.launch.slurm`) are fresh Python processes: before they run their cells they
make the parent's runtime-registered plugin modules importable, take their share of the CPU
threads, switch progress bars off (the launcher reports), rebuild the parent's plugin set
and validate the experiment the parent sent. :func:`start_process` does exactly that, for
both.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from supreme.config import ExperimentConfig


def start_process(config_json: Mapping[str, Any], plugins: Mapping[str, Any], *,
                  threads: int | None = None, sys_path: Iterable[str] = ()) -> ExperimentConfig:
    """Prepare this process to run cells and return its experiment.

    ``plugins`` is :func:`supreme.registry.portable_state` of the parent; ``threads`` the
    CPU threads of this process (``None``: torch's default); ``sys_path`` entries are put
    first on ``sys.path`` (where the parent's runtime plugin modules live).
    """
    for entry in reversed(list(sys_path)):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    if threads is not None:
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import torch

    from supreme import progress, registry

    if threads is not None:
        torch.set_num_threads(threads)
    progress.enable(False)  # the launcher reports progress, as stage lines
    registry.restore_state(dict(plugins))
    return ExperimentConfig.model_validate(dict(config_json))
