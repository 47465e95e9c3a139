r"""Unlearning time T_u and the speedup over retraining, T_r / T_u.

Definitions (seconds)::

    unlearn_seconds = T_u   wall time of the row's unlearning call
    speedup         = T_r / T_u

T_u and T_r are measured by the pipeline's :class:`supreme.pipeline.resources.ResourceMonitor`:
wall time between two accelerator synchronisations, minus the time spent in in-loop
evaluation (blocks wrapped in :func:`supreme.api.untimed`). For the retrain
row T_u = T_r, so speedup = 1; for the original row T_u is the near-zero cost of copying
M_o, so its speedup is very large and not meaningful. ``speedup`` is absent when T_r is
unknown or T_u is 0. Higher speedup is better, at equal forgetting quality.

Differences from the reference:

* The reference times the method call with ``time.time()`` and no CUDA synchronisation,
  including per-epoch evaluation passes inside fine-tune, retrain, RL and UNSIR (§9-28);
  T_u and T_r here exclude in-loop evaluation and end after queued GPU work finishes.
* The reference logs ``gpu_ids`` under the same block; device facts are in the run's
  environment record instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supreme.contracts import ComponentConfig, Metric

if TYPE_CHECKING:
    from supreme.contracts import EvalContext


class Time(Metric):
    """Unlearning wall time T_u (s, excluding in-loop evaluation) and speedup T_r / T_u."""

    name = "time"
    needs = frozenset({"timings", "reference"})

    class Config(ComponentConfig):
        pass

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        if "unlearn_seconds" not in ctx.timings:
            return {}
        unlearn = float(ctx.timings["unlearn_seconds"])
        result = {"unlearn_seconds": unlearn}
        retrain = ctx.timings.get("retrain_seconds")
        if retrain is not None and unlearn > 0:
            result["speedup"] = float(retrain) / unlearn
        return result
