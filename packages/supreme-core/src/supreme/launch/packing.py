"""Which accelerator devices each local worker uses: several workers may share one device.

One cell of a small model (ResNet18 at 32×32) leaves most of a large GPU idle: its steps
are bound by kernel launches and Python, not arithmetic. ``[launch] workers_per_device``
runs that many worker processes on each device group, so their kernels interleave (with
CUDA MPS, concurrently; see docs/performance.md). Pure functions, testable without a GPU.
"""

from __future__ import annotations

from supreme.config import MAX_WORKERS_PER_DEVICE as MAX_PER_DEVICE

__all__ = ["MAX_PER_DEVICE", "device_slots", "slot_of"]


def device_slots(total_devices: int, per_cell: int, per_device: int) -> list[tuple[int, ...]]:
    """The device groups of the worker slots, in the order workers take them.

    ``total_devices`` visible devices are cut into ``total_devices // per_cell`` groups of
    ``per_cell`` consecutive devices (a cell's Fabric world); each group has ``per_device``
    slots. Slots go round the groups first, so the first workers land on different groups
    and a group gets its second worker only when every group has one.
    """
    if total_devices < 1:
        raise ValueError("no devices to place workers on")
    if not 1 <= per_cell <= total_devices:
        raise ValueError(f"a cell needs {per_cell} device(s) but {total_devices} are visible")
    if not 1 <= per_device <= MAX_PER_DEVICE:
        raise ValueError(f"workers per device must be between 1 and {MAX_PER_DEVICE}")
    groups = [tuple(range(g * per_cell, (g + 1) * per_cell))
              for g in range(total_devices // per_cell)]
    return [group for _ in range(per_device) for group in groups]


def slot_of(worker: int, slots: list[tuple[int, ...]]) -> tuple[int, ...]:
    """The devices of ``worker`` (1-based, as the launcher numbers them); workers beyond
    the slots wrap around."""
    if worker < 1:
        raise ValueError("workers are numbered from 1")
    return slots[(worker - 1) % len(slots)]
