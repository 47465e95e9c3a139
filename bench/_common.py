"""Helpers shared by the benchmarks: the CIFAR-10 subset and side-by-side timing.

Every benchmark compares two (or more) ways of doing the same work *in the same run*:
the sides are interleaved (A B, then B A, ...) so that a change of load on a shared
machine hits both, each pair gives one ratio, and the verdict is the median ratio.
Each side records wall time and CPU time (this process's threads plus its finished child
processes: DataLoader workers, ``supreme`` subprocesses): on a CPU shared with other jobs
the CPU-time ratio is the steadier of the two, with one torch thread.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: the 12,000-image CIFAR-10 subset shipped next to the repository (see its README)
CIFAR_SUBSET = ROOT.parent / "shared" / "data" / "cifar10-subset" / "cifar10_subset.npz"
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


def cifar_images(n: int, split: str = "train", path: Path = CIFAR_SUBSET, seed: int = 0):
    """``n`` CIFAR-format images as uint8 ``ImageTensors`` (class-balanced order kept).

    Real CIFAR-10 images from the shared subset when it exists; random uint8 images of
    the same shape otherwise (the timings do not depend on the pixel values).
    """
    import torch
    from supreme.contracts import ImageTensors

    if path.exists():
        import numpy as np

        with np.load(path) as archive:
            x, y = archive[f"x_{split}"], archive[f"y_{split}"]
        # take the same number from every class: the file is sorted by class
        pick = np.concatenate([np.flatnonzero(y == c)[: -(-n // 10)] for c in range(10)])[:n]
        images = torch.from_numpy(np.ascontiguousarray(x[pick].transpose(0, 3, 1, 2)))
        labels = torch.from_numpy(y[pick].astype("int64"))
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
        return ImageTensors(images[order].contiguous(), labels[order]), "CIFAR-10 subset"
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
    return ImageTensors(images, torch.arange(n) % 10), "random CIFAR-format images"


def sync(device) -> None:
    import torch

    if getattr(device, "type", str(device)) == "cuda":
        torch.cuda.synchronize()


@dataclass
class Side:
    """One way of doing the work: a name and a zero-argument callable to time."""

    name: str
    run: Callable[[], object]
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def interleaved(sides: Sequence[Side], repeats: int, device=None) -> None:
    """Time every side ``repeats`` times, rotating their order each round."""
    for r in range(repeats):
        k = r % len(sides)
        for side in list(sides[k:]) + list(sides[:k]):
            sync(device)
            start, cpu = time.perf_counter(), cpu_seconds()
            side.run()
            sync(device)
            side.seconds.append(time.perf_counter() - start)
            side.cpu.append(cpu_seconds() - cpu)


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have finished (user + system)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def median_ratio(num: Side, den: Side, cpu: bool = False) -> float:
    """Median over rounds of ``num`` time / ``den`` time (the same round's pair)."""
    a, b = (num.cpu, den.cpu) if cpu else (num.seconds, den.seconds)
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def fmt_times(side: Side) -> str:
    runs = ", ".join(f"{t:.2f}" for t in side.seconds)
    return (f"{side.name:<34} wall median {statistics.median(side.seconds):8.3f} s, CPU median "
            f"{statistics.median(side.cpu):8.3f} s  (wall: {runs})")


def ratio_line(label: str, num: Side, den: Side, target: float | None = None) -> str:
    """``RATIO label = wall (CPU time ...)`` with the verdict against ``target``."""
    wall, cpu = median_ratio(num, den), median_ratio(num, den, cpu=True)
    line = f"RATIO {label} = {wall:.3f} wall, {cpu:.3f} CPU time"
    if target is not None:
        line += f"   wall {verdict(wall, target)}, CPU {verdict(cpu, target)}"
    return line


def verdict(ratio: float, target: float, lower_is_better: bool = True) -> str:
    ok = ratio <= target if lower_is_better else ratio >= target
    sign = "<=" if lower_is_better else ">="
    return f"{'MET' if ok else 'MISSED'} (target {sign} {target})"
