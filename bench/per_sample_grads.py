"""Per-sample importances (SSD-Det / LFSSD-Det): torch.func vmap versus one backward per sample.

    uv run python bench/per_sample_grads.py                 # small CNN, CPU
    uv run python bench/per_sample_grads.py --model resnet18 --samples 256

Computes the mean per-sample squared gradient (SSD-Det) and mean absolute gradient of
‖f(x)‖² (LFSSD-Det) over the same samples twice, side by side: with
``supreme_methods._importance.per_sample_importance`` (vmap over grad, what the methods
use) and with ``per_sample_importance_loop`` (the reference's one forward per batch then
one ``backward(retain_graph=True)`` per sample). Prints the largest difference relative to
each parameter tensor's largest importance (the two must agree to float tolerance) and
the speed ratio loop / vmap, timed on the same inputs in ``--repeats`` interleaved rounds,
median of the per-round ratios (wall and CPU).
"""

from __future__ import annotations

import argparse


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
    data = make_unlearn_data(model, images, num_classes=10, transform=BatchTransform(
        mean=(0.3,) * 3, std=(0.3,) * 3, size=args.size, channels=3))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model {args.model} ({n_params:,} parameters), {len(images)} samples of "
          f"3x{args.size}x{args.size}, batch {args.batch_size}, vmap chunk {args.chunk_size}, "
          f"{args.threads} thread(s)")
    from _common import Side, fmt_times, interleaved, ratio_line

    for criterion in ("ce", "l2"):
        out: dict[str, dict] = {}

        def vmapped(c=criterion, out=out):
            out["vmap"] = per_sample_importance(model, images, data, c, args.batch_size,
                                                args.chunk_size)

        def looped(c=criterion, out=out):
            out["loop"] = per_sample_importance_loop(model, images, data, c, args.batch_size)

        fast, slow = Side(f"{criterion}: vmap (what SSD-Det runs)", vmapped), \
            Side(f"{criterion}: one backward per sample", looped)
        interleaved([fast, slow], args.repeats)
        # per parameter tensor: largest difference relative to the tensor's largest value
        rel = max(float((out["vmap"][k] - out["loop"][k]).abs().max() / out["loop"][k].abs().max())
                  for k in out["vmap"] if out["loop"][k].abs().max() > 0)
        print(fmt_times(slow))
        print(fmt_times(fast))
        print(ratio_line(f"per-sample grads {criterion} loop/vmap (higher = vmap faster)",
                         slow, fast) + f"; max |Δ|/max|value| per tensor {rel:.2e}")


if __name__ == "__main__":
    main()
