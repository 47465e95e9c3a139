"""Building the Lightning Fabric object from the experiment's ``[fabric]`` table."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from supreme.config import FabricConfig
from supreme.errors import ConfigError

if TYPE_CHECKING:
    from lightning.fabric import Fabric


def make_fabric(settings: FabricConfig) -> Fabric:
    """A Fabric for ``settings``; invalid combinations become a :class:`ConfigError`."""
    import logging

    from lightning.fabric import Fabric

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
    return {
        "accelerator": fabric.device.type,
        "precision": settings.precision,
        "strategy": settings.strategy,
        "world_size": fabric.world_size,
    }


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
