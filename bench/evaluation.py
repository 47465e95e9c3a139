"""Benchmark: evaluating every metric for one row / one cell vs plain forward passes.

Budget (issues 4 and 9): computing all ten metrics of supreme-metrics costs at most 1.3x
one plain forward pass per (model, split) over every evaluation split (D', D'_r, D'_f,
D_r, D_f):

* ``--mode row``: one evaluated model M_u, against plain passes of M_u and M_r. The
  metrics share the EvalContext cache, so they need M_u on the five splits, M_r on the
  three test splits, M_o and the incompetent model on D'_f only.
* ``--mode cell`` (default): the rows of a cell as the pipeline evaluates them
  (``original`` = M_o, ``retrain`` = M_r and one method's M_u), every row with every
  metric, the forward passes shared across rows by model and split as
  ``Runner.evaluate`` does, against plain passes of M_o, M_r and M_u over the five splits.

The network is a local CIFAR-style ResNet (BasicBlocks, widths w, 2w, 4w, 8w, --blocks per
stage: the default 1 x width 16 is a small ResNet-10 for CPUs, --blocks 2 --width 64 is
ResNet-18), built here so the benchmark needs only supreme-core and supreme-metrics; the
images are random uint8 32x32 RGB. Both sides use the same eval-mode, no-grad, batched
forward on the CPU (or the GPU with --device cuda), timed with time.perf_counter (and
time.process_time, steadier on a shared machine) in --repeats pairs of alternating order;
the verdict uses the median over pairs of the wall-time ratio.

    uv run python bench/evaluation.py [--mode cell|row] [--train 2000] [--test 1000]
        [--width 16] [--blocks 1] [--precision bf16-mixed] [--threads 1] [--device cuda]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from typing import TYPE_CHECKING

import torch
from supreme.contracts import ImageTensors
from supreme.pipeline.data import BatchTransform, TensorLoader
from supreme.pipeline.resources import ResourceMonitor
from supreme.testing import fullclass_split, make_eval_context
from supreme_metrics.plugin import METRICS
from torch import nn
from torch.nn import functional as F

if TYPE_CHECKING:
    from lightning.fabric import Fabric

BUDGET = 1.3


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.skip = nn.Sequential()
        if stride != 1 or cin != cout:
            self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.skip(x))


class SmallResNet(nn.Module):
    """CIFAR-style ResNet with ``blocks`` BasicBlocks per stage (2 and width 64: ResNet-18)."""

    def __init__(self, num_classes: int = 10, width: int = 16, blocks: int = 1) -> None:
        super().__init__()
        widths = [width, 2 * width, 4 * width, 8 * width]
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU())
        layers, cin = [], width
        for i, cout in enumerate(widths):
            for j in range(blocks):
                layers.append(Block(cin, cout, 2 if i > 0 and j == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*layers)
        self.head = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x))
        return self.head(F.adaptive_avg_pool2d(x, 1).flatten(1))


def data(n: int, seed: int, classes: int = 10) -> ImageTensors:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
    return ImageTensors(images, torch.arange(n) % classes)


def model(seed: int, width: int, blocks: int, device: torch.device) -> nn.Module:
    torch.manual_seed(seed)
    return SmallResNet(10, width, blocks).to(device).eval()


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Timer:
    """Wall time (time.perf_counter) and this process's CPU time (all threads) of a block."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.wall = self.cpu = 0.0

    def __enter__(self) -> Timer:
        sync(self.device)
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        sync(self.device)
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


@torch.no_grad()
def plain_forward(models: list[nn.Module], splits: dict[str, ImageTensors],
                  transform: BatchTransform, batch: int, device: torch.device) -> Timer:
    """Each model's eval-mode forward over each split, the lean way: uint8 batches copied to
    the device (pinned, asynchronous), preprocessed there, logits gathered on the device and
    copied to the host once per split (what Forward returns)."""
    with Timer(device) as timer:
        for net in models:
            for split in splits.values():
                logits = [net(x).float()
                          for x, _ in TensorLoader(split, batch, transform=transform, device=device)]
                torch.cat(logits).cpu()
    return timer


def all_metrics(models: dict[str, nn.Module], splits: dict[str, ImageTensors],
                transform: BatchTransform, batch: int, width: int, blocks: int,
                device: torch.device, fabric: Fabric, resources: dict[str, float]
                ) -> tuple[Timer, int]:
    """All ten metrics on a fresh context (empty cache), and the forward passes it ran."""
    ctx = make_eval_context(
        models, splits, num_classes=10, forget_class=0, seed=3, fabric=fabric,
        transform=transform, batch_size=batch,
        timings={"unlearn_seconds": 2.0, "retrain_seconds": 20.0}, resources=resources,
        new_model=lambda: SmallResNet(10, width, blocks))
    with Timer(device) as timer:
        for metric_cls in METRICS:
            metric_cls().compute(ctx)
    return timer, ctx.forward_passes


def cell_metrics(models: dict[str, nn.Module], splits: dict[str, ImageTensors],
                 transform: BatchTransform, batch: int, width: int, blocks: int,
                 device: torch.device, fabric: Fabric, resources: dict[str, float]
                 ) -> tuple[Timer, int]:
    """Every metric for the rows original, retrain and the method, one cache for the cell."""
    from supreme.pipeline.evaluate import Forward

    forward = Forward(fabric, transform, batch)
    memo: dict[tuple[int, int, bool], object] = {}
    passes = [0]

    def cached(model: nn.Module, tensors: ImageTensors, features: bool):  # as Runner.evaluate
        key = (id(model), id(tensors), features)
        if key not in memo:
            memo[key] = forward(model, tensors, features)
            passes[0] += 1
        return memo[key]

    rows = {"original": models["original"], "retrain": models["reference"],
            "method": models["unlearned"]}
    with Timer(device) as timer:
        for row in rows.values():
            ctx = make_eval_context(
                {"unlearned": row, "original": models["original"],
                 "reference": models["reference"]},
                splits, num_classes=10, forget_class=0, seed=3, fabric=fabric,
                transform=transform, batch_size=batch,
                timings={"unlearn_seconds": 2.0, "retrain_seconds": 20.0}, resources=resources,
                new_model=lambda: SmallResNet(10, width, blocks).to(device).eval())
            ctx.forward = cached
            for metric_cls in METRICS:
                metric_cls().compute(ctx)
    return timer, passes[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["cell", "row"], default="cell")
    parser.add_argument("--precision", default="32-true", help="Fabric precision (bf16-mixed)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: default)")
    parser.add_argument("--train", type=int, default=2000, help="training-set size (D)")
    parser.add_argument("--test", type=int, default=1000, help="test-set size (D')")
    parser.add_argument("--width", type=int, default=16, help="first-stage channels")
    parser.add_argument("--blocks", type=int, default=1, help="BasicBlocks per stage")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5, help="measured pairs")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    from lightning.fabric import Fabric

    if args.threads:
        torch.set_num_threads(args.threads)
    fabric = Fabric(accelerator="cuda" if args.device.startswith("cuda") else "cpu", devices=1,
                    precision=args.precision)  # type: ignore[arg-type]
    device = fabric.device
    forget_train, retain_train = fullclass_split(data(args.train, 0), 0)
    forget_test, retain_test = fullclass_split(data(args.test, 1), 0)
    splits = {"test": data(args.test, 1), "retain_test": retain_test, "forget_test": forget_test,
              "retain_train": retain_train, "forget_train": forget_train}
    transform = BatchTransform(mean=(0.5,) * 3, std=(0.25,) * 3, size=32, channels=3)
    unlearned, reference, original = (model(s, args.width, args.blocks, device)
                                      for s in (1, 2, 3))
    models = {"unlearned": unlearned, "reference": reference, "original": original}
    with ResourceMonitor(device) as monitor:
        copy.deepcopy(original)
    resources = monitor.result()

    plain_models = [unlearned, reference] + ([original] if args.mode == "cell" else [])
    measure = cell_metrics if args.mode == "cell" else all_metrics

    def plain() -> Timer:
        with fabric.autocast():
            return plain_forward(plain_models, splits, transform, args.batch, device)

    def metrics() -> Timer:
        timer, counted[0] = measure(models, splits, transform, args.batch, args.width,
                                    args.blocks, device, fabric, resources)
        return timer

    counted = [0]
    plain_forward([unlearned], {"forget_test": forget_test}, transform, args.batch, device)
    pairs: list[tuple[Timer, Timer]] = []
    for i in range(args.repeats):
        # alternate the order, so that a load change on a shared machine hits both sides
        if i % 2 == 0:
            base = plain()
            pairs.append((base, metrics()))
        else:
            ours = metrics()
            pairs.append((plain(), ours))

    sizes = ", ".join(f"{k} {len(v)}" for k, v in splits.items())
    print(f"device {device}, precision {args.precision}, torch threads "
          f"{torch.get_num_threads()}, ResNet width {args.width} x {args.blocks} block(s)/stage, "
          f"batch {args.batch}; splits: {sizes}")
    what = ("one cell: rows original, retrain, method" if args.mode == "cell" else "one row")
    for label, side in ((f"plain forward, {len(plain_models)} models x 5 splits", 0),
                        (f"all {len(METRICS)} metrics, {what} ({counted[0]} passes)", 1)):
        walls = [pair[side].wall for pair in pairs]
        cpus = [pair[side].cpu for pair in pairs]
        print(f"{label:44s} wall median {statistics.median(walls):7.3f} s, min {min(walls):7.3f}"
              f" s; CPU median {statistics.median(cpus):7.3f} s   (wall runs: "
              + ", ".join(f"{t:.2f}" for t in walls) + ")")
    wall_ratio = statistics.median(ours.wall / base.wall for base, ours in pairs)
    cpu_ratio = statistics.median(ours.cpu / base.cpu for base, ours in pairs)
    verdict = "within" if wall_ratio <= BUDGET else "OVER"
    print(f"RATIO evaluation ({args.mode}) metrics/plain (median over pairs): wall "
          f"{wall_ratio:.3f} ({verdict} the {BUDGET}x budget), CPU time {cpu_ratio:.3f}")


if __name__ == "__main__":
    main()
