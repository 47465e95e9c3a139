"""Benchmark: SUPREME's training loop vs a hand-written PyTorch loop, and the [speed] fast paths.

    uv run python bench/overhead.py                          # overhead ratio, target <= 1.05
    uv run python bench/overhead.py --variants channels_last bf16 compile
    uv run python bench/overhead.py --quick                  # 512 images, width 16
    uv run python bench/overhead.py --device cuda --batch 64  # on a GPU, data on the device

**Pipeline overhead.** One training epoch of the CIFAR-style ResNet18 (supreme-vision) on
``--images`` CIFAR-10 images (the shared subset; random images when absent), through
``supreme.pipeline.train.fit`` (Fabric set-up, TensorLoader, learning-rate schedule,
progress hooks) and through a plain loop written by hand: the same initial weights, the
same batches in the same order (the same seeded permutation), the same SGD, the same
normalisation, no augmentation on either side. Both must end with the same weights (the
script prints the largest difference; it is 0 on a CPU). Ratio = fit / plain, median over
interleaved rounds. Target <= 1.05. With ``--device cuda`` both sides run on the GPU with
the images already in GPU memory (``[data] on_device``, the default on CUDA), every round
ends with a device synchronisation, and the weights agree to float rounding only.

**Fast paths** (``--variants``). Each is ``fit`` with one option against ``fit`` without
it (contiguous float32), interleaved, ratio = with / without (below 1 = faster):
``channels_last`` ([speed] channels_last, NHWC model and inputs), ``bf16`` ([fabric]
precision = "bf16-mixed", autocast), ``bf16_channels_last`` (both) and ``compile``
([speed] compile; its one-off compilation is reported apart, the ratio is steady state).

``--profile`` prints the top cProfile entries of one ``fit`` epoch.
"""

from __future__ import annotations

import argparse
import copy
import math
import statistics
import time

import torch
import torch.nn.functional as F
from _common import (
    CIFAR_MEAN,
    CIFAR_STD,
    Side,
    cifar_images,
    fmt_times,
    interleaved,
    ratio_line,
)

TARGET = 1.05


def build(width: int, seed: int) -> torch.nn.Module:
    from supreme_vision.models import ResNet18

    torch.manual_seed(seed)
    return ResNet18(ResNet18.Config(width=width)).create(10, 3, 32)


def recipe(batch: int):
    from supreme.contracts import Recipe

    return Recipe(epochs=1, batch_size=batch, optimizer="sgd", lr=0.05, momentum=0.9,
                  weight_decay=5e-4, warmup_epochs=0, milestones=(), selection="last")


def plain_epoch(model: torch.nn.Module, data, batch: int, seed: int) -> torch.nn.Module:
    """The hand-written loop: index, scale, normalise, forward, loss, backward, step (on
    the device the images are on)."""
    images, labels = data.images, data.labels
    device = images.device
    mean = torch.tensor(CIFAR_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR_STD, device=device).view(1, 3, 1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed)).to(device)
    model.train()
    for b in range(math.ceil(len(labels) / batch)):
        index = order[b * batch:(b + 1) * batch]
        x = (images[index].float().div_(255.0) - mean) / std
        loss = F.cross_entropy(model(x), labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model


def fit_epoch(model: torch.nn.Module, data, batch: int, seed: int, fabric, channels_last: bool
              ) -> torch.nn.Module:
    from supreme.pipeline.data import BatchTransform
    from supreme.pipeline.train import fit

    transform = BatchTransform(CIFAR_MEAN, CIFAR_STD, 32, 3, channels_last=channels_last)
    return fit(model, data, recipe(batch), fabric=fabric, transform=transform, seed=seed,
               augment=False)


DEVICE = "cpu"


def fabric_for(precision: str):
    from lightning.fabric import Fabric

    return Fabric(accelerator=DEVICE, devices=1, precision=precision)  # type: ignore[arg-type]


def overhead(args, data, init: dict[str, torch.Tensor]) -> None:
    fabric = fabric_for("32-true")
    template = build(args.width, 0).to(fabric.device)
    models = {"fit": copy.deepcopy(template), "plain": copy.deepcopy(template)}

    def run(which: str):
        def go() -> None:
            model = models[which]
            model.load_state_dict(init)
            if which == "fit":
                fit_epoch(model, data, args.batch, args.seed, fabric, False)
            else:
                plain_epoch(model, data, args.batch, args.seed)
        return go

    ours, plain = Side("supreme fit (1 epoch)", run("fit")), Side("hand-written loop", run("plain"))
    warm = data.subset(torch.arange(2 * args.batch))
    fit_epoch(copy.deepcopy(template), warm, args.batch, 1, fabric, False)  # one-off costs
    plain_epoch(copy.deepcopy(template), warm, args.batch, 1)
    interleaved([ours, plain], args.repeats, device=fabric.device)
    diff = max((a - b).abs().max().item() for a, b in zip(
        models["fit"].state_dict().values(), models["plain"].state_dict().values(), strict=True)
        if a.is_floating_point())
    print(fmt_times(ours))
    print(fmt_times(plain))
    print(f"same final weights: max |Δθ| = {diff:.2e}")
    print(ratio_line("pipeline overhead fit/plain", ours, plain, TARGET))


def variants(args, data, init: dict[str, torch.Tensor]) -> None:
    from supreme.config import SpeedConfig
    from supreme.pipeline.speed import prepare

    settings = {
        "channels_last": ("32-true", SpeedConfig(channels_last=True)),
        "bf16": ("bf16-mixed", SpeedConfig()),
        "bf16_channels_last": ("bf16-mixed", SpeedConfig(channels_last=True)),
        "compile": ("32-true", SpeedConfig(compile=True)),
    }
    base_fabric = fabric_for("32-true")
    for name in args.variants:
        precision, speed = settings[name]
        fabric = fabric_for(precision)
        base_model = build(args.width, 0)
        model = prepare(build(args.width, 0), speed)
        start = time.perf_counter()
        model.load_state_dict(init)
        fit_epoch(model, data, args.batch, args.seed, fabric, speed.channels_last)  # warm-up
        first = time.perf_counter() - start

        def one(m: torch.nn.Module, fab, nhwc: bool):
            def go() -> None:
                m.load_state_dict(init)
                fit_epoch(m, data, args.batch, args.seed, fab, nhwc)
            return go

        base = Side("fit, float32 contiguous", one(base_model, base_fabric, False))
        fast = Side(f"fit, {name}", one(model, fabric, speed.channels_last))
        interleaved([fast, base], args.repeats, device=fabric.device)
        print(fmt_times(base))
        print(fmt_times(fast))
        extra = ""
        if name == "compile":
            extra = (f"; one-off compilation ≈ {first - statistics.median(fast.seconds):.1f} s "
                     f"(first epoch {first:.1f} s)")
        print(ratio_line(f"{name}/float32", fast, base) + f"  (below 1 = faster){extra}")


def profile(args, data) -> None:
    import cProfile
    import pstats

    fabric = fabric_for("32-true")
    model = build(args.width, 0)
    profiler = cProfile.Profile()
    profiler.enable()
    fit_epoch(model, data, args.batch, args.seed, fabric, False)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--width", type=int, default=64, help="ResNet18 width (64 = reference)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: steadiest on a shared CPU; 0: torch's default)")
    parser.add_argument("--variants", nargs="*", default=[],
                        choices=["channels_last", "bf16", "bf16_channels_last", "compile"])
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--quick", action="store_true", help="512 images, width 16, 3 rounds")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                        help="where both loops run (cuda: images in GPU memory)")
    args = parser.parse_args()
    global DEVICE
    DEVICE = args.device
    if args.quick:
        args.images, args.width, args.repeats = 512, 16, 3
    if args.threads:
        torch.set_num_threads(args.threads)
    data, source = cifar_images(args.images)
    if args.device == "cuda":
        data = type(data)(data.images.cuda(), data.labels.cuda())
    print(f"{len(data)} {source} images on {args.device}, batch {args.batch}, ResNet18 width "
          f"{args.width}, {torch.get_num_threads()} torch threads, {args.repeats} interleaved rounds")
    init = {k: v.clone() for k, v in build(args.width, 0).state_dict().items()}
    if not args.skip_overhead:
        overhead(args, data, init)
    if args.variants:
        variants(args, data, init)
    if args.profile:
        profile(args, data)


if __name__ == "__main__":
    main()
