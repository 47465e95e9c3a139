r"""Resources used by the row's unlearning run: memory, CPU/GPU utilisation, GPU energy.

Not computed from model outputs: the pipeline measures the unlearning call with
:class:`supreme.pipeline.resources.ResourceMonitor` (sampling at 10 Hz) and this metric
reports those measurements (GB = 10⁹ bytes, utilisation in percent)::

    peak_rss_gb           max over samples of RSS(this process) + Σ RSS(child processes)
    peak_rss_increase_gb  peak_rss_gb - the same sum when the run started
    cpu_util_avg          time-weighted mean over samples of 100 · CPU busy / logical CPUs
    cpu_util_peak         highest such sample
    peak_gpu_memory_gb    torch.cuda.max_memory_allocated after a reset   (CUDA only)
    gpu_util_avg/_peak    NVML device utilisation                          (CUDA + NVML)
    gpu_energy_j          NVML energy counter difference                   (CUDA + NVML)

On a CPU-only machine, or without nvidia-ml-py, the GPU keys are absent (not zero). Under
several processes the pipeline combines the ranks (maximum of peaks, mean of averages,
sum of energy, plus ``*_gb_total`` sums). Lower is better; compare with the retrain row.

Differences from the reference:

* The reference's CPU memory is the main process only, minus its RSS before the call
  (dataloader workers not counted); here children are included and both the absolute
  peak and the increase are reported. Shared pages of forked children are counted once
  per process (RSS), so the sum can overestimate.
* GPU utilisation is NVML's device utilisation, not the per-process SM utilisation the
  reference required; there is no "compute seconds" (the reference's was % x s, §9-22).
* The reference attached these numbers to every metric's block; here they are one metric.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from supreme.api import TIME_KEYS
from supreme.contracts import ComponentConfig, Metric

if TYPE_CHECKING:
    from supreme.contracts import EvalContext


class Resources(Metric):
    """Peak memory (RSS incl. children, GPU), CPU/GPU utilisation and GPU energy of the run."""

    name = "resources"
    # measured around every unlearning run anyway; needs no reference model or timings
    needs = frozenset()

    class Config(ComponentConfig):
        pass

    def compute(self, ctx: EvalContext) -> dict[str, float]:
        # durations are the time metric's; a measurement that failed is left out, not inf
        return {
            key: float(value)
            for key, value in sorted(ctx.resources.items())
            if key not in TIME_KEYS and math.isfinite(float(value))
        }
