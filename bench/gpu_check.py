"""GPU check (run by bench/gpu_check.sh): ResNet18 training throughput on one CUDA device.

    uv run python bench/gpu_check.py [--images 10000] [--batch 256] [--epochs 3] [--json OUT]

For each configuration (float32; bf16-mixed; bf16-mixed + channels-last; optionally
+ torch.compile) one warm-up epoch, then ``--epochs`` timed epochs of
``supreme.pipeline.train.fit`` on CIFAR-format images (the shared CIFAR-10 subset, random
images without it) with the CIFAR training augmentation, ResNet18 width 64. Reports
training images/s, peak allocated GPU memory (``torch.cuda.max_memory_allocated``), the
share of an epoch spent preparing batches (a pass of the TensorLoader alone, host uint8 ->
pinned -> device -> augmented and normalised, divided by the training epoch), and the
number of host-device synchronisations inside one ``fit`` call
(``torch.cuda.set_sync_debug_mode``). Exits with status 2 and a clear message without CUDA.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

from _common import CIFAR_MEAN, CIFAR_STD, cifar_images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per configuration")
    parser.add_argument("--compile", action="store_true", help="also bf16 + channels-last + compile")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--device", default="cuda", help="cpu: a smoke test of this script only")
    parser.add_argument("--width", type=int, default=64, help=argparse.SUPPRESS)
    args = parser.parse_args()

    import torch

    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        print(f"gpu_check: no CUDA device is visible (torch {torch.__version__}, built for CUDA "
              f"{torch.version.cuda}); run it on a machine with an NVIDIA GPU.", file=sys.stderr)
        sys.exit(2)

    from lightning.fabric import Fabric
    from supreme import progress
    from supreme.config import SpeedConfig
    from supreme.contracts import Augment, Recipe
    from supreme.pipeline.data import BatchTransform, TensorLoader
    from supreme.pipeline.speed import prepare
    from supreme.pipeline.train import fit
    from supreme_vision.models import ResNet18

    progress.enable(False)
    torch.backends.cudnn.benchmark = True
    data, source = cifar_images(args.images)
    recipe = Recipe(epochs=1, batch_size=args.batch, lr=0.05, warmup_epochs=0, milestones=(),
                    augment=Augment(crop_padding=4, hflip=True, rotation=15.0))
    device = torch.device("cuda", 0) if cuda else torch.device("cpu")

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize(device)

    results: dict[str, object] = {
        "device": torch.cuda.get_device_name(device) if cuda else "cpu (smoke test)",
        "torch": torch.__version__,
        "images": len(data), "source": source, "batch": args.batch, "width": args.width,
        "configs": {},
    }
    configs = [("fp32", "32-true", SpeedConfig()),
               ("bf16", "bf16-mixed", SpeedConfig()),
               ("bf16+channels_last", "bf16-mixed", SpeedConfig(channels_last=True))]
    if args.compile:
        configs.append(("bf16+channels_last+compile", "bf16-mixed",
                        SpeedConfig(channels_last=True, compile=True)))
    print(f"{results['device']}, torch {torch.__version__}, {len(data)} {source}, "
          f"batch {args.batch}, ResNet18 width {args.width}", flush=True)

    for name, precision, speed in configs:
        fabric = Fabric(accelerator=device.type, devices=1, precision=precision)  # type: ignore[arg-type]
        transform = BatchTransform(CIFAR_MEAN, CIFAR_STD, 32, 3, channels_last=speed.channels_last)
        torch.manual_seed(0)
        net = ResNet18(ResNet18.Config(width=args.width)).create(10, 3, 32)
        model = prepare(net.to(device), speed)
        sync()
        if cuda:
            torch.cuda.reset_peak_memory_stats(device)

        start = time.perf_counter()
        fit(model, data, recipe, fabric=fabric, transform=transform, seed=0)  # warm-up
        sync()
        warm = time.perf_counter() - start

        epochs = []
        for e in range(args.epochs):
            start = time.perf_counter()
            fit(model, data, recipe, fabric=fabric, transform=transform, seed=e + 1)
            sync()
            epochs.append(time.perf_counter() - start)
        epoch = sorted(epochs)[len(epochs) // 2]

        loader = TensorLoader(data, args.batch, transform=transform, fabric=fabric, shuffle=True,
                              seed=0, augment=recipe.augment)
        loads = []
        for _ in range(args.epochs):
            sync()
            start = time.perf_counter()
            for _batch in loader:
                pass
            sync()
            loads.append(time.perf_counter() - start)
        load = sorted(loads)[len(loads) // 2]

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if cuda:
                torch.cuda.set_sync_debug_mode("warn")
            try:
                fit(model, data, recipe, fabric=fabric, transform=transform, seed=99)
            finally:
                if cuda:
                    torch.cuda.set_sync_debug_mode("default")
        syncs = [str(w.message).splitlines()[0] for w in caught
                 if "synchroniz" in str(w.message).lower()]

        row = {"images_per_s": len(data) / epoch, "epoch_s": epoch, "warmup_epoch_s": warm,
               "data_share": load / epoch, "data_epoch_s": load,
               "peak_memory_gb": torch.cuda.max_memory_allocated(device) / 2**30 if cuda else 0.0,
               "syncs_in_fit": len(syncs), "sync_examples": sorted(set(syncs))[:3]}
        results["configs"][name] = row  # type: ignore[index]
        print(f"{name:<28} {row['images_per_s']:9.0f} images/s   epoch {epoch:6.2f} s "
              f"(warm-up {warm:6.2f} s)   data {100 * row['data_share']:5.1f} %   peak "
              f"{row['peak_memory_gb']:5.2f} GiB   syncs in fit {len(syncs)}", flush=True)
        del model, fabric
        if cuda:
            torch.cuda.empty_cache()
        if args.json is not None:  # after every configuration: a timeout keeps what was done
            args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
