"""Building the Lightning Fabric object from the experiment's ``[fabric]`` table."""

from __future__ import annotations

import difflib
import importlib.util
import os
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from supreme.config import ACCELERATORS, PRECISION_ALIASES, PRECISIONS, FabricConfig
from supreme.errors import ConfigError

if TYPE_CHECKING:
    from lightning.fabric import Fabric

DEEPSPEED_INSTALL = 'pip install "supreme-core[deepspeed]"'
ENV_HINT = "`supreme env` shows what this machine has."


#: Environment variables set in processes started by a distributed launcher (torchrun,
#: SLURM's srun), where each process may see only its own GPU.
LAUNCHED_ENV = ("LOCAL_RANK", "TORCHELASTIC_RUN_ID", "SLURM_PROCID")


@dataclass(frozen=True)
class Machine:
    """What the machine that will run the cells can do (detected, or given by tests).

    ``known = False`` stands for a machine we cannot see (the compute nodes of a SLURM
    submission): only the checks that hold everywhere are made.
    """

    cuda: int = 0
    cuda_bf16: bool = False
    mps: bool = False
    tpu: bool = False
    cpus: int = 1
    deepspeed: bool = False
    transformer_engine: bool = False
    #: a process of a launched group: it may see fewer GPUs than the node has
    launched: bool = False
    known: bool = True

    @classmethod
    def elsewhere(cls) -> Machine:
        """The machine of a SLURM job, seen from the submitting host."""
        return cls(known=False)

    @classmethod
    def detect(cls) -> Machine:
        import torch

        cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
        bf16 = False
        if cuda:
            try:
                bf16 = bool(torch.cuda.is_bf16_supported())
            except Exception:  # an odd driver: say unsupported
                bf16 = False
        mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
        try:
            from lightning.fabric.accelerators import XLAAccelerator

            tpu = bool(XLAAccelerator.is_available())
        except Exception:
            tpu = False
        return cls(cuda=cuda, cuda_bf16=bf16, mps=mps, tpu=tpu, cpus=os.cpu_count() or 1,
                   deepspeed=importlib.util.find_spec("deepspeed") is not None,
                   transformer_engine=importlib.util.find_spec("transformer_engine") is not None,
                   launched=any(v in os.environ for v in LAUNCHED_ENV))

    def describe(self) -> str:
        parts = [f"{self.cpus} CPU core(s)"]
        parts.append(f"{self.cuda} CUDA GPU(s)" if self.cuda else "no CUDA GPU")
        if self.mps:
            parts.append("an Apple MPS device")
        if self.tpu:
            parts.append("TPU cores")
        return ", ".join(parts)


def _strategies() -> list[str]:
    try:
        from lightning.fabric.strategies import STRATEGY_REGISTRY

        return ["auto", *STRATEGY_REGISTRY.available_strategies()]
    except Exception:  # pragma: no cover - Lightning without a registry
        return ["auto", "ddp", "ddp_spawn", "ddp_fork", "ddp_notebook", "dp", "fsdp", "deepspeed"]


def _bad(field: str, value: Any, problem: str, hint: str) -> ConfigError:
    return ConfigError(f"fabric.{field} = {value!r}: {problem}", hint)


def _device_indices(devices: int | str) -> list[int] | None:
    """Explicit device indices (``"0,1"``), or ``None`` for a count or ``auto``."""
    if isinstance(devices, int):
        return None
    text = devices.strip().strip("[]").strip()
    if "," not in text:
        return None
    return [int(part) for part in text.split(",") if part.strip()]


def _device_count(devices: int | str) -> int | None:
    """How many devices were asked for (``None``: all of them)."""
    if isinstance(devices, int):
        return None if devices == -1 else devices
    text = devices.strip()
    if text in ("auto", "-1"):
        return None
    indices = _device_indices(text)
    return len(indices) if indices is not None else int(text.strip("[]"))


def check_fabric(settings: FabricConfig, machine: Machine | None = None) -> str | None:
    """Raise :class:`ConfigError` when ``settings`` cannot run on ``machine`` (default: this one).

    Checks what Fabric would reject (often with a less direct message) and what it would
    silently change (``16-mixed`` on a CPU becomes ``bf16-mixed``, ``dp`` on a CPU becomes
    ``ddp``, both of which would then disagree with the store keys). Returns the accelerator
    that will run (``cpu``, ``cuda``, ``mps`` or ``tpu``), or ``None`` when it depends on a
    machine we cannot see (:meth:`Machine.elsewhere`).
    """
    machine = machine or Machine.detect()
    accelerator = settings.accelerator
    if accelerator not in ACCELERATORS:
        close = difflib.get_close_matches(accelerator, ACCELERATORS, n=1)
        raise _bad("accelerator", accelerator, "unknown accelerator",
                   (f"Did you mean {close[0]!r}? " if close else "")
                   + f"Use one of: {', '.join(ACCELERATORS)}.")
    resolved = _resolve_accelerator(accelerator, machine)
    _check_nodes(settings, machine)
    _check_devices(settings, resolved, machine)
    _check_precision(settings, resolved, machine)
    _check_strategy(settings, resolved, machine)
    return resolved


def _resolve_accelerator(accelerator: str, machine: Machine) -> str | None:
    if not machine.known:
        return None if accelerator in ("auto", "gpu") else accelerator
    if accelerator == "auto":  # Lightning's order of preference
        return "tpu" if machine.tpu else "mps" if machine.mps else "cuda" if machine.cuda else "cpu"
    if accelerator == "gpu":
        if machine.cuda:
            return "cuda"
        if machine.mps:
            return "mps"
        raise _bad("accelerator", accelerator, f"this machine has no GPU ({machine.describe()})",
                   'Set fabric.accelerator = "cpu" (or "auto"), or run on a machine with a GPU. '
                   + ENV_HINT)
    if accelerator == "cuda" and not machine.cuda:
        raise _bad("accelerator", accelerator,
                   f"this machine has no usable CUDA GPU ({machine.describe()}; "
                   "torch.cuda.is_available() is False)",
                   'Set fabric.accelerator = "cpu" (or "auto"), or run on a machine with an NVIDIA '
                   "GPU and a CUDA build of torch. " + ENV_HINT)
    if accelerator == "mps" and not machine.mps:
        raise _bad("accelerator", accelerator, f"this machine has no Apple MPS device "
                   f"({machine.describe()})", 'Set fabric.accelerator = "cpu" (or "auto"). '
                   + ENV_HINT)
    if accelerator == "tpu" and not machine.tpu:
        raise _bad("accelerator", accelerator, f"this machine has no TPU ({machine.describe()})",
                   'Set fabric.accelerator = "cpu" (or "auto"). ' + ENV_HINT)
    return accelerator


def _check_devices(settings: FabricConfig, accelerator: str | None, machine: Machine) -> None:
    devices = settings.devices
    try:
        indices = _device_indices(devices)
        count = _device_count(devices)
    except ValueError:
        raise _bad("devices", devices, "is not a number of devices, 'auto' or indices like '0,1'",
                   "Set fabric.devices = 1 (or a number, or 'auto').") from None
    if count is not None and count < 1:
        raise _bad("devices", devices, "asks for no device", "Set fabric.devices = 1 or more.")
    if accelerator == "cpu":
        if indices is not None:
            raise _bad("devices", devices, "device indices mean nothing on the CPU",
                       "On the CPU fabric.devices is a number of processes, e.g. fabric.devices = 2.")
        limit = max(4, 2 * machine.cpus)
        if machine.known and count is not None and count > limit:
            raise _bad("devices", devices,
                       f"would start {count} processes on {machine.cpus} CPU core(s) (at most "
                       f"{limit}: more only oversubscribe the cores)",
                       f"Set fabric.devices = {min(machine.cpus, limit)} or fewer on the CPU. "
                       + ENV_HINT)
        return
    if not machine.known or accelerator is None:
        return
    available = {"cuda": machine.cuda, "mps": 1 if machine.mps else 0}.get(accelerator)
    if available is None:  # TPU core counts are not checked here
        return
    if machine.launched and accelerator == "cuda" and available == 1:
        return  # one visible GPU per launched process (as Lightning, which skips this too)
    if indices is not None and any(i >= available for i in indices):
        bad = [i for i in indices if i >= available]
        raise _bad("devices", devices,
                   f"asks for {accelerator} device(s) {bad}, but this machine has {available} "
                   f"(indices 0..{available - 1})",
                   f"Use indices below {available}, or a count such as fabric.devices = {available}. "
                   + ENV_HINT)
    if count is not None and count > available:
        raise _bad("devices", devices,
                   f"asks for {count} {accelerator} device(s), but this machine has {available}",
                   f"Set fabric.devices = {available} (or 'auto'), or run on a bigger machine. "
                   + ENV_HINT)


def _check_nodes(settings: FabricConfig, machine: Machine) -> None:
    """Several nodes need a launcher that starts the processes on every node (SLURM, torchrun):
    started by hand on one machine, they would wait for peers that never come."""
    if settings.num_nodes > 1 and machine.known and not machine.launched:
        raise _bad("num_nodes", settings.num_nodes,
                   "needs a multi-node launcher, but this process was not started by one (no "
                   "SLURM or torchrun environment): it would wait forever for the other nodes",
                   "Run on SLURM (launch.launcher = \"slurm\" with slurm.nodes = "
                   f"{settings.num_nodes}) or under torchrun on every node; on one machine set "
                   "fabric.num_nodes = 1.")


def launch_with_timeout(fabric: Fabric, timeout_s: float) -> None:
    """``fabric.launch()``; in a world of several processes, say that it waits for its peers
    and stop with an error when they have not all joined after ``timeout_s`` seconds."""
    import sys
    import threading

    if fabric.world_size <= 1:
        fabric.launch()
        return
    joined = threading.Event()

    def watch() -> None:
        if joined.wait(min(10.0, timeout_s / 2)):
            return
        where = f"{os.environ.get('MASTER_ADDR', 'localhost')}:{os.environ.get('MASTER_PORT', '?')}"
        print(f"supreme: rank {fabric.global_rank} waiting for the other "
              f"{fabric.world_size - 1} process(es) of the world to join at {where} "
              f"(gives up after {timeout_s:.0f} s)", file=sys.stderr, flush=True)
        if joined.wait(max(0.0, timeout_s - min(10.0, timeout_s / 2))):
            return
        print(f"Error: rank {fabric.global_rank}: the other processes of the world "
              f"({fabric.world_size} in all, at {where}) did not join within {timeout_s:.0f} s\n"
              "Fix: start every process (one per device and node: SLURM or torchrun), check "
              "MASTER_ADDR/MASTER_PORT, or raise launch.peer_timeout_s.",
              file=sys.stderr, flush=True)
        from supreme.lease import release_all

        release_all()
        os._exit(1)

    threading.Thread(target=watch, name="supreme-peers", daemon=True).start()
    try:
        fabric.launch()
    finally:
        joined.set()


def _check_precision(settings: FabricConfig, accelerator: str | None, machine: Machine) -> None:
    raw = settings.precision
    precision = PRECISION_ALIASES.get(raw, raw)
    if precision not in PRECISIONS:
        close = difflib.get_close_matches(raw, PRECISIONS, n=1)
        raise _bad("precision", raw, "unknown precision",
                   (f"Did you mean {close[0]!r}? " if close else "")
                   + f"Use one of: {', '.join(PRECISIONS)}.")
    if precision == "16-mixed" and accelerator == "cpu":
        raise _bad("precision", raw,
                   "float16 mixed precision is not supported on the CPU (Fabric would silently "
                   "switch to bf16-mixed)",
                   'On the CPU use fabric.precision = "bf16-mixed" or "32-true"; use 16-mixed '
                   'with fabric.accelerator = "cuda".')
    if accelerator is None or not machine.known:
        if precision.startswith("transformer-engine") and accelerator not in (None, "cuda"):
            raise _bad("precision", raw, f"needs a CUDA GPU; this run is on {accelerator}",
                       'Use "bf16-mixed" or "32-true", or run on an NVIDIA GPU.')
        return
    if precision.startswith("transformer-engine"):
        if accelerator != "cuda":
            raise _bad("precision", raw, f"needs a CUDA GPU; this run is on {accelerator}",
                       'Use "bf16-mixed" or "32-true", or run on an NVIDIA GPU.')
        if not machine.transformer_engine:
            raise _bad("precision", raw, "needs NVIDIA Transformer Engine, which is not installed",
                       "Install transformer-engine, or use \"bf16-mixed\".")
    if precision.startswith("bf16") and accelerator == "cuda" and not machine.cuda_bf16:
        raise _bad("precision", raw, "this GPU does not support bfloat16",
                   'Use fabric.precision = "16-mixed" (float16 with loss scaling) or "32-true".')
    if precision == "64-true" and accelerator == "mps":
        raise _bad("precision", raw, "MPS devices have no float64",
                   'Use fabric.precision = "32-true" on MPS, or fabric.accelerator = "cpu".')


def _check_strategy(settings: FabricConfig, accelerator: str | None, machine: Machine) -> None:
    strategy = settings.strategy
    known = _strategies()
    if strategy not in known:
        close = difflib.get_close_matches(strategy, known, n=1)
        raise _bad("strategy", strategy, "unknown strategy",
                   (f"Did you mean {close[0]!r}? " if close else "")
                   + f"Use one of: {', '.join(known)}.")
    if accelerator is None:  # decided on a machine we cannot see
        return
    if strategy.startswith(("fsdp", "deepspeed")) and accelerator != "cuda":
        also = ""
        if strategy.startswith("deepspeed") and machine.known and not machine.deepspeed:
            also = f" DeepSpeed is not installed either: `{DEEPSPEED_INSTALL}`."
        raise _bad("strategy", strategy, f"needs CUDA GPUs; this run is on {accelerator}",
                   'Use fabric.strategy = "ddp" (or "auto") on the CPU, or fabric.accelerator = '
                   '"cuda" on a machine with NVIDIA GPUs.' + also)
    if strategy.startswith("deepspeed") and machine.known and not machine.deepspeed:
        raise _bad("strategy", strategy, "needs DeepSpeed, which is not installed",
                   f"Install it with `{DEEPSPEED_INSTALL}`, or use fabric.strategy = \"fsdp\" "
                   'or "ddp".')
    if strategy in ("xla", "xla_fsdp", "single_xla", "single_tpu") and accelerator != "tpu":
        raise _bad("strategy", strategy, f"needs TPUs; this run is on {accelerator}",
                   'Use fabric.strategy = "auto" (or "ddp").')
    if strategy == "dp" and accelerator == "cpu":
        raise _bad("strategy", strategy,
                   "DataParallel does not run on the CPU (Fabric would silently use ddp)",
                   'Use fabric.strategy = "ddp" (or "auto") on the CPU.')


def make_fabric(settings: FabricConfig) -> Fabric:
    """A Fabric for ``settings``; invalid combinations become a :class:`ConfigError`."""
    import logging

    from lightning.fabric import Fabric

    check_fabric(settings)

    # Fabric logs a line per launch/seed at INFO; our stage lines say what matters.
    logging.getLogger("lightning.fabric").setLevel(logging.WARNING)
    try:
        return Fabric(
            accelerator=settings.accelerator,
            devices=settings.devices,
            num_nodes=settings.num_nodes,
            strategy=settings.strategy,
            precision=settings.precision,  # type: ignore[arg-type]
        )
    except Exception as exc:  # Fabric raises ValueError/RuntimeError/its own exceptions
        raise ConfigError(
            f"fabric settings {settings.model_dump()} cannot run here: {exc}",
            "Fix [fabric] (accelerator, devices, strategy, precision); "
            "`supreme env` shows what this machine has.",
        ) from exc


def identity(fabric: Fabric, settings: FabricConfig) -> dict[str, Any]:
    """What about the execution changes numbers, for store keys."""
    identity = {
        "accelerator": fabric.device.type,
        "precision": settings.precision,
        "strategy": settings.strategy,
        "world_size": fabric.world_size,
    }
    if fabric.device.type == "cpu":
        import torch

        # float reductions on a CPU depend on how work is split over threads: the same
        # cell with 1 and 2 threads per process gives different numbers
        identity["threads"] = torch.get_num_threads()
    return identity


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) for the next stage."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def synchronize(fabric: Fabric) -> None:
    """Wait for queued accelerator work, so wall-clock timings are honest."""
    import torch

    if fabric.device.type == "cuda":
        torch.cuda.synchronize(fabric.device)


def share_cpu_threads(fabric: Fabric, num_nodes: int) -> None:
    """Give each local CPU process its share of the cores.

    Several processes each running torch's default thread pool on the same cores
    oversubscribe them, and OpenMP's busy-waiting then makes everything several times
    slower; one share per process avoids that.
    """
    import os

    import torch

    local = max(1, fabric.world_size // max(1, num_nodes))
    if fabric.device.type == "cpu" and local > 1:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local))
