"""Benchmark: the batched uint8 tensor loader against torchvision's per-sample pipeline.

Writes a CIFAR-10 fixture in the real pickle format (default 10,000 training images), then
times, for each data path, (1) one pass of data preparation alone and (2) one training epoch
of the CIFAR-style ResNet18, with the §2.2 training augmentation (random crop with 4-pixel
padding, horizontal flip, rotation ±15°, normalisation):

* ``tensor``: ``Cifar10.load`` once into uint8 tensors, then ``supreme.pipeline.data.TensorLoader``
  (augmentation applied to whole batches);
* ``torchvision``: ``torchvision.datasets.CIFAR10`` + per-sample PIL transforms + ``DataLoader``.

Both use the same model, optimiser, batch size and loop, so the difference is the data path.
Run::

    uv run python bench/data_pipeline.py --images 10000 --width 64
    uv run python bench/data_pipeline.py --quick          # 2,000 images, data only

``--width`` shrinks the network (64 = the reference ResNet18) when a full epoch is too slow
for the machine; ``--skip-train`` measures data preparation only. The two paths are timed
in interleaved rounds and the ratio is the median over rounds (``bench/_common.py``).

On a CPU the epoch is dominated by the network's compute and the DataLoader worker
prepares batches on another core in parallel, so the epoch ratio is close to 1; the tensor
path's gain is in data preparation, which is what limits an accelerator. The last measured
numbers are in docs/performance.md.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import torch
import torch.nn.functional as F


def make_fixture(root: Path, images: int) -> None:
    from supreme_vision.fixtures import write_cifar10

    write_cifar10(root, train_per_class=images // 10, test_per_class=1)


def tensor_batches(root: Path, batch: int, seed: int) -> tuple[Iterable, float]:
    from supreme.contracts import Augment
    from supreme.pipeline.data import BatchTransform, TensorLoader
    from supreme_vision.datasets import Cifar10

    spec = Cifar10(Cifar10.Config(root=root))
    start = time.perf_counter()
    data = spec.load("train")
    decode = time.perf_counter() - start
    transform = BatchTransform(spec.mean, spec.std, spec.image_size, spec.channels)
    loader = TensorLoader(data, batch, transform=transform, shuffle=True, seed=seed, augment=Augment())
    return loader, decode


def torchvision_batches(root: Path, batch: int, seed: int, workers: int) -> Iterable:
    import torchvision
    from supreme_vision.datasets import Cifar10
    from torchvision import transforms as T

    # The fixture is not the official archive: skip torchvision's md5 comparison.
    torchvision.datasets.cifar.check_integrity = lambda *args, **kwargs: True
    augment = T.Compose(
        [
            T.RandomCrop(32, padding=4),
            T.RandomHorizontalFlip(),
            T.RandomRotation(15),
            T.ToTensor(),
            T.Normalize(Cifar10.mean, Cifar10.std),
        ]
    )
    dataset = torchvision.datasets.CIFAR10(str(root), train=True, transform=augment, download=False)
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch,
        shuffle=True,
        num_workers=workers,
        generator=torch.Generator().manual_seed(seed),
        persistent_workers=False,
    )


def time_data(batches: Iterable) -> tuple[float, int]:
    start, seen = time.perf_counter(), 0
    for x, _ in batches:
        seen += len(x)
    return time.perf_counter() - start, seen


def time_epoch(batches: Iterable, width: int, seed: int) -> tuple[float, float]:
    from supreme_vision.models import ResNet18

    torch.manual_seed(seed)
    model = ResNet18(ResNet18.Config(width=width)).create(10, 3, 32).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    start, total = time.perf_counter(), 0.0
    for x, y in batches:
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss.detach())
    return time.perf_counter() - start, total


def main() -> None:
    from _common import Side, fmt_times, interleaved, ratio_line

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--width", type=int, default=64, help="ResNet18 base width (64 = reference)")
    parser.add_argument("--workers", type=int, default=1, help="DataLoader worker processes")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (0: default)")
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--quick", action="store_true", help="2,000 images, data preparation only")
    args = parser.parse_args()
    if args.quick:
        args.images, args.skip_train = 2000, True
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch threads: {torch.get_num_threads()}, images: {args.images}, batch: {args.batch}, "
        f"ResNet18 width: {args.width}, DataLoader workers: {args.workers}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_fixture(root, args.images)
        loader, decode = tensor_batches(root, args.batch, args.seed)
        print(f"tensor path: decoded {args.images} images into uint8 tensors once in {decode:.2f} s")

        def make_torchvision() -> Iterable:
            return torchvision_batches(root, args.batch, args.seed, args.workers)

        def count(batches: Iterable) -> None:
            assert time_data(batches)[1] == args.images

        # one-off costs (allocator, first worker start) before the measured rounds
        time_data(itertools.islice(iter(loader), 2))
        count(make_torchvision())
        ours = Side("data only: tensor loader", lambda: count(loader))
        theirs = Side("data only: torchvision DataLoader", lambda: count(make_torchvision()))
        interleaved([ours, theirs], args.repeats)
        print(fmt_times(ours))
        print(fmt_times(theirs))
        print(ratio_line("data preparation torchvision/tensor (higher = tensor faster)",
                         theirs, ours))
        if args.skip_train:
            return
        time_epoch(itertools.islice(iter(loader), 3), args.width, args.seed)  # warm-up
        ours = Side("train epoch: tensor loader", lambda: time_epoch(loader, args.width, args.seed))
        theirs = Side("train epoch: torchvision DataLoader",
                      lambda: time_epoch(make_torchvision(), args.width, args.seed))
        interleaved([ours, theirs], args.repeats)
        print(fmt_times(ours))
        print(fmt_times(theirs))
        print(ratio_line("training epoch torchvision/tensor (higher = tensor faster)",
                         theirs, ours))


if __name__ == "__main__":
    main()
