"""Launchers that run an experiment's cells somewhere else than this process.

* :mod:`supreme.launch.slurm`: one SLURM job array through submitit
  (``launch.launcher = "slurm"`` or ``supreme run --launcher slurm``);
* :mod:`supreme.launch.status`: the state of every cell of a run directory
  (``supreme status RUN_DIR``), for any launcher.

Neither imports submitit or torch at import time.
"""
