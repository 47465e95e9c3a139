"""Per-sample importances (SSD-Det / LFSSD-Det): torch.func vmap versus one backward per sample.

    .venv/bin/python bench/per_sample_grads.py                 # small CNN, CPU
    .venv/bin/python bench/per_sample_grads.py --model resnet18 --samples 256

Computes the mean per-sample squared gradient (SSD-Det) and mean absolute gradient of
‖f(x)‖² (LFSSD-Det) over the same samples twice, side by side: with
``supreme_methods._importance.per_sample_importance`` (vmap over grad, what the methods
use) and with ``per_sample_importance_loop`` (the reference's one forward per batch then
one ``backward(retain_graph=True)`` per sample). Prints the largest relative difference
(the two must agree to float tolerance) and the speed ratio loop / vmap, each timed with
``time.perf_counter`` on the same inputs, best of ``--repeats``.
"""

from __future__ import annotations

import argparse
import time


def build(model_name: str, channels: int, size: int):
    import torch
    from torch import nn

    if model_name == "resnet18":
        from supreme_vision.models.resnet import ResNet18

        return ResNet18().create(10, channels, size)
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(channels, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
    )


def best_time(fn, repeats: int):
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["cnn", "resnet18"], default="cnn")
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--size", type=int, default=16, help="image side")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--chunk-size", type=int, default=16, help="samples per vmap call")
    args = parser.parse_args()

    import torch
    from supreme.pipeline.data import BatchTransform
    from supreme.testing import make_unlearn_data, synthetic_images
    from supreme_methods._importance import per_sample_importance, per_sample_importance_loop

    torch.set_num_threads(args.threads)
    per_class = max(1, args.samples // 10)
    images = synthetic_images(10, per_class=per_class, size=args.size, channels=3)
    model = build(args.model, 3, args.size).eval()
    data = make_unlearn_data(model, images, num_classes=10)
    data.transform = BatchTransform(mean=(0.3,) * 3, std=(0.3,) * 3, size=args.size, channels=3)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model {args.model} ({n_params:,} parameters), {len(images)} samples of "
          f"3x{args.size}x{args.size}, batch {args.batch_size}, vmap chunk {args.chunk_size}, "
          f"{args.threads} thread(s)")
    print(f"{'criterion':10s} {'loop s':>8s} {'vmap s':>8s} {'loop/vmap':>10s} "
          f"{'max rel diff':>13s}")
    for criterion in ("ce", "l2"):
        t_vmap, fast = best_time(lambda c=criterion: per_sample_importance(
            model, images, data, c, args.batch_size, args.chunk_size), args.repeats)
        t_loop, slow = best_time(lambda c=criterion: per_sample_importance_loop(
            model, images, data, c, args.batch_size), args.repeats)
        rel = max(float(((fast[k] - slow[k]).abs() / slow[k].abs().clamp_min(1e-30)).max())
                  for k in fast if slow[k].abs().max() > 0)
        print(f"{criterion:10s} {t_loop:8.3f} {t_vmap:8.3f} {t_loop / t_vmap:10.1f}x {rel:13.2e}")


if __name__ == "__main__":
    main()
