"""What an unlearning run costs: wall time, memory and utilisation, sampled while it runs.

The pipeline wraps every unlearning call (and the reference rows) in a
:class:`ResourceMonitor`::

    with ResourceMonitor(fabric.device) as monitor:
        model = method.unlearn(model, data, fabric)
    timings["unlearn_seconds"] = monitor.result()["seconds"]
    resources = monitor.result()

``seconds`` is accelerator-synchronised wall time minus the time spent inside
:func:`untimed` blocks, which in-loop evaluation (validation passes during fine-tuning,
best-epoch selection) wraps so it does not inflate T_u. A background thread samples every
``interval`` seconds (10 Hz); it stops when the block exits, exceptions included. A sample
reads the process and its known children (~0.03 ms each); the children are re-listed every
0.5 s, since listing them scans every process on the machine (~2.5 ms for 80 processes).
Together well under 1 % of one core.

Result keys (floats; GB = 10⁹ bytes, utilisation in percent):

* ``seconds``, ``wall_seconds``, ``excluded_seconds``;
* ``peak_rss_gb``: peak resident memory of this process plus its child processes (data
  loader workers); ``peak_rss_increase_gb``: that peak minus the same sum at the start;
* ``cpu_util_avg``, ``cpu_util_peak``: CPU time of this process and its children as a
  percentage of all logical CPUs (time-weighted mean, and highest sample);
* on CUDA only: ``peak_gpu_memory_gb`` (``torch.cuda.max_memory_allocated`` after a
  reset; a monitor nested inside another resets the outer one's peak too), and where
  ``pynvml`` (nvidia-ml-py) imports, ``gpu_util_avg``/``gpu_util_peak``
  (device utilisation) and ``gpu_energy_j`` (device energy counter, or power integrated
  over the samples where the counter is unsupported). On other devices these keys are
  absent, never zero.

This module imports psutil but not torch; torch is imported only for a CUDA device.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    from types import TracebackType

    from lightning.fabric import Fabric

GB = 1e9
#: Keys that are durations (the ``time`` metric's), as opposed to resource measurements.
TIME_KEYS = frozenset({"seconds", "wall_seconds", "excluded_seconds"})

_active: list[ResourceMonitor] = []
_untimed_depth = 0
_lock = threading.Lock()


@contextlib.contextmanager
def untimed() -> Iterator[None]:
    """Time spent inside does not count towards the running monitors' ``seconds``.

    Wrap in-loop evaluation with it. Nested blocks count once; outside a monitor it is
    a no-op.
    """
    global _untimed_depth
    with _lock:
        outermost = _untimed_depth == 0
        _untimed_depth += 1
        monitors = list(_active) if outermost else []
    start = 0.0
    if monitors:
        _synchronize(monitors)
        start = time.perf_counter()
    try:
        yield
    finally:
        if monitors:
            _synchronize(monitors)
            elapsed = time.perf_counter() - start
            for monitor in monitors:
                monitor.excluded_seconds += elapsed
        with _lock:
            _untimed_depth -= 1


def _synchronize(monitors: Sequence[ResourceMonitor]) -> None:
    for monitor in monitors:
        monitor.synchronize()


class ResourceMonitor:
    """Context manager measuring time, memory and utilisation of the code it wraps.

    Args:
        device: the accelerator the code runs on (``torch.device``, ``"cuda:0"``, ``"cpu"``,
            or ``None`` for CPU). Only a CUDA device adds GPU measurements.
        interval: seconds between samples of the background thread.
    """

    def __init__(self, device: Any = None, interval: float = 0.1) -> None:
        self.device = device
        self.interval = interval
        self.cuda = str(device).startswith("cuda")
        self.excluded_seconds = 0.0
        self._process = psutil.Process(os.getpid())
        self._cpus = psutil.cpu_count(logical=True) or 1
        self._watched: dict[int, psutil.Process] = {}
        self._samples = 0
        self._refresh_every = max(1, round(0.5 / interval))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._nvml: _Nvml | None = None
        self._result: dict[str, float] | None = None
        # samples (written by the thread; read after it has joined)
        self._last_sample = 0.0
        self._rss_start = 0
        self._rss_peak = 0
        self._cpu_weighted = 0.0
        self._cpu_time = 0.0
        self._cpu_peak = 0.0
        self._gpu_weighted = 0.0
        self._gpu_time = 0.0
        self._gpu_peak = 0.0
        self._gpu_joules = 0.0

    # -- context manager -------------------------------------------------------------
    def __enter__(self) -> ResourceMonitor:
        if self.cuda:
            import torch

            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._nvml = _Nvml.open(self.device)
        self._rss_start = self._rss_peak = self._rss_and_prime()
        self._start = self._last_sample = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name="supreme-resources", daemon=True)
        self._thread.start()
        with _lock:
            _active.append(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.synchronize()
        finally:
            end = time.perf_counter()
            with _lock:
                if self in _active:
                    _active.remove(self)
            self._stop.set()
            if self._thread is not None:
                self._thread.join()
            self._sample()
            self._result = self._summarise(end)
            if self._nvml is not None:
                self._nvml.close()

    def synchronize(self) -> None:
        """Wait for queued accelerator work, so time stamps mean finished work."""
        if self.cuda:
            import torch

            torch.cuda.synchronize(self.device)

    def result(self) -> dict[str, float]:
        """The measurements (see the module docstring); only after the block has exited."""
        if self._result is None:
            raise RuntimeError("ResourceMonitor.result() is available after the with-block")
        return dict(self._result)

    # -- sampling --------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._sample()
            except Exception:  # a failed reading must never break the measured run
                continue

    def _processes(self) -> list[psutil.Process]:
        """This process and its children; the child list is refreshed every 0.5 s.

        Listing children scans every process of the machine (~2.5 ms for 80 processes),
        so it is not done at every sample; reading one process costs ~0.03 ms.
        """
        self._samples += 1
        if self._watched and self._samples % self._refresh_every:
            return list(self._watched.values())
        try:
            children = self._process.children(recursive=True)
        except psutil.Error:
            children = []
        alive = {self._process.pid: self._process}
        for child in children:
            # keep one Process object per child: cpu_percent measures since its last call
            alive[child.pid] = self._watched.get(child.pid, child)
        self._watched = alive
        return list(alive.values())

    def _rss_and_prime(self) -> int:
        total = 0
        for proc in self._processes():
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
                proc.cpu_percent(None)
        return total

    def _sample(self) -> None:
        now = time.perf_counter()
        span = max(now - self._last_sample, 0.0)
        self._last_sample = now
        rss, cpu = 0, 0.0
        for proc in self._processes():
            with contextlib.suppress(psutil.Error), proc.oneshot():
                rss += proc.memory_info().rss
                cpu += proc.cpu_percent(None)
        util = min(cpu / self._cpus, 100.0)
        self._rss_peak = max(self._rss_peak, rss)
        if span > 0:
            self._cpu_weighted += util * span
            self._cpu_time += span
            self._cpu_peak = max(self._cpu_peak, util)
        if self._nvml is not None and span > 0:
            reading = self._nvml.sample()
            if reading is not None:
                gpu_util, watts = reading
                self._gpu_weighted += gpu_util * span
                self._gpu_time += span
                self._gpu_peak = max(self._gpu_peak, gpu_util)
                self._gpu_joules += (watts or 0.0) * span

    def _summarise(self, end: float) -> dict[str, float]:
        wall = end - self._start
        out = {
            "seconds": max(wall - self.excluded_seconds, 0.0),
            "wall_seconds": wall,
            "excluded_seconds": self.excluded_seconds,
            "peak_rss_gb": self._rss_peak / GB,
            "peak_rss_increase_gb": max(self._rss_peak - self._rss_start, 0) / GB,
            "cpu_util_avg": self._cpu_weighted / self._cpu_time if self._cpu_time else 0.0,
            "cpu_util_peak": self._cpu_peak,
        }
        if self.cuda:
            import torch

            out["peak_gpu_memory_gb"] = torch.cuda.max_memory_allocated(self.device) / GB
        if self._nvml is not None and self._gpu_time > 0:
            out["gpu_util_avg"] = self._gpu_weighted / self._gpu_time
            out["gpu_util_peak"] = self._gpu_peak
            energy = self._nvml.energy_joules()
            out["gpu_energy_j"] = energy if energy is not None else self._gpu_joules
        return out


class _Nvml:
    """Device utilisation, power and energy through NVML, when nvidia-ml-py is installed."""

    def __init__(self, nvml: Any, handle: Any) -> None:
        self.nvml = nvml
        self.handle = handle
        self.energy_start = self._energy_mj()

    @classmethod
    def open(cls, device: Any) -> _Nvml | None:
        try:
            import pynvml
        except ImportError:
            return None
        try:
            import torch

            pynvml.nvmlInit()
            index = torch.device(device).index
            index = torch.cuda.current_device() if index is None else index
            handle = None
            uuid = str(getattr(torch.cuda.get_device_properties(index), "uuid", "") or "")
            for candidate in (uuid, f"GPU-{uuid}"):
                if uuid and handle is None:
                    with contextlib.suppress(Exception):
                        handle = pynvml.nvmlDeviceGetHandleByUUID(candidate)
            if handle is None and "CUDA_VISIBLE_DEVICES" not in os.environ:
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            if handle is None:
                pynvml.nvmlShutdown()
                return None
            return cls(pynvml, handle)
        except Exception:
            return None

    def _energy_mj(self) -> float | None:
        try:
            return float(self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle))
        except Exception:
            return None

    def sample(self) -> tuple[float, float | None] | None:
        try:
            util = float(self.nvml.nvmlDeviceGetUtilizationRates(self.handle).gpu)
        except Exception:
            return None
        try:
            watts: float | None = self.nvml.nvmlDeviceGetPowerUsage(self.handle) / 1000.0
        except Exception:
            watts = None
        return util, watts

    def energy_joules(self) -> float | None:
        end = self._energy_mj()
        if self.energy_start is None or end is None:
            return None
        return (end - self.energy_start) / 1000.0

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.nvml.nvmlShutdown()


def combine_ranks(results: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """One record from every rank's :meth:`ResourceMonitor.result`.

    Durations, peaks and memory take the maximum over ranks; averages take the mean;
    energy is summed (each rank drives its own device). Memory also gets a
    ``<key>_total`` sum over ranks when there is more than one. A key that only some
    ranks measured is combined over those.
    """
    if not results:
        return {}
    if len(results) == 1:
        return dict(results[0])
    out: dict[str, float] = {}
    keys = sorted({k for r in results for k in r})
    for key in keys:
        values = [float(r[key]) for r in results if key in r]
        if key.endswith("_avg"):
            out[key] = sum(values) / len(values)
        elif key.endswith("_j"):
            out[key] = sum(values)
        else:
            out[key] = max(values)
            if key.endswith("_gb"):
                out[f"{key}_total"] = sum(values)
    return out


def gather_ranks(fabric: Fabric, result: Mapping[str, float]) -> dict[str, float]:
    """:func:`combine_ranks` over every Fabric process (a collective: call on every rank)."""
    if fabric.world_size == 1:
        return dict(result)
    import torch.distributed as dist

    everyone: list[Any] = [None] * fabric.world_size
    dist.all_gather_object(everyone, dict(result))
    return combine_ranks(everyone)
