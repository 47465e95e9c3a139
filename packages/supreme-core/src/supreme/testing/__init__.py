"""Helpers and conformance checks for plugin authors (and for SUPREME's own tests).

Building blocks (this module):

* :func:`synthetic_images` - a small, learnable, class-separable image set;
* :class:`TinyNet` - a 2-conv network with BatchNorm (so train/eval mode matters);
* :func:`cpu_fabric` - a single-process CPU Fabric;
* :func:`make_unlearn_data` / :func:`make_eval_context` - what the pipeline hands to a
  method or a metric, built from tensors without running a whole experiment;
* :func:`component_settings` - a component's validated ``Config`` from ``None``, a dict of
  its fields or a ``Config`` instance (how every conformance check takes ``config``).

Conformance checks live in submodules: :mod:`supreme.testing.methods`,
:mod:`supreme.testing.metrics`, :mod:`supreme.testing.datasets` and
:mod:`supreme.testing.models`. Each check raises ``AssertionError`` with a
troubleshooting note when a component breaks the contract.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from supreme.contracts import EvalContext, ImageTensors, Recipe, UnlearnData
from supreme.contracts.unlearn_data import Cache
from supreme.pipeline.data import BatchTransform
from supreme.pipeline.evaluate import Forward

if TYPE_CHECKING:
    from lightning.fabric import Fabric

__all__ = [
    "TinyNet",
    "component_settings",
    "cpu_fabric",
    "fullclass_split",
    "launch_processes",
    "make_eval_context",
    "make_unlearn_data",
    "synthetic_images",
    "tiny_recipe",
    "tiny_transform",
]


def synthetic_images(
    num_classes: int = 4, per_class: int = 32, size: int = 8, channels: int = 1, seed: int = 0
) -> ImageTensors:
    """uint8 images with a class-specific stripe texture plus noise, in random order.

    Class ``c`` has stripes of period ``2 + c // 2``, horizontal for even ``c`` and
    vertical for odd ``c``, at a random phase, so a small convolutional network with
    global pooling can learn the classes in a few epochs.
    """
    g = torch.Generator().manual_seed(seed)
    n = num_classes * per_class
    labels = torch.arange(num_classes).repeat_interleave(per_class)
    noise = torch.randint(0, 70, (n, channels, size, size), generator=g)
    coords = torch.arange(size)
    period = 2 + labels // 2
    phase = torch.randint(0, 8, (n,), generator=g)
    rows = ((coords[None, :, None] + phase[:, None, None]) % period[:, None, None]) == 0
    cols = ((coords[None, None, :] + phase[:, None, None]) % period[:, None, None]) == 0
    stripes = torch.where((labels % 2 == 0)[:, None, None], rows.expand(n, size, size),
                          cols.expand(n, size, size))
    images = (noise + 170 * stripes[:, None].long()).clamp(0, 255).to(torch.uint8)
    perm = torch.randperm(n, generator=g)
    return ImageTensors(images[perm], labels[perm])


class TinyNet(nn.Module):
    """conv-BN-ReLU x2, global average pool, linear head."""

    def __init__(self, num_classes: int = 4, in_channels: int = 1, width: int = 8) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def cpu_fabric() -> Fabric:
    from lightning.fabric import Fabric

    return Fabric(accelerator="cpu", devices=1)


def component_settings(cls: Any, config: Any = None, *, check: str = "check") -> Any:
    """``cls.Config`` validated from ``config``: ``None`` (the defaults), a mapping of its
    fields, or an instance of ``cls.Config`` (taken as it is).

    Anything else, or a value the Config refuses, raises ``AssertionError`` naming the
    field, what was wrong and how to pass it (``check`` names the calling check).
    """
    from pydantic import BaseModel, ValidationError

    from supreme.config import validation_problems

    name = getattr(cls, "name", "") or getattr(cls, "__name__", repr(cls))
    qualname = getattr(cls, "__qualname__", name)
    config_cls = getattr(cls, "Config", None)
    if config_cls is not None and isinstance(config, config_cls):
        return config
    if isinstance(config, BaseModel) or not (config is None or isinstance(config, Mapping)):
        raise AssertionError(
            f"{check}({name}): config is a {type(config).__qualname__}, not a "
            f"{qualname}.Config or a dict of its fields\n"
            f"  troubleshooting: pass {qualname}.Config(...), a dict such as {{'epochs': 1}}, "
            "or nothing for the defaults")
    try:
        return cls.Config.model_validate(dict(config or {}))
    except ValidationError as exc:
        raise AssertionError(
            f"{check}({name}): invalid {'; '.join(validation_problems(exc, 'config'))}\n"
            f"  troubleshooting: pass values within the bounds of {qualname}.Config, by its "
            f"field names (`supreme describe {name}` lists them)") from None


def tiny_transform(channels: int = 1) -> BatchTransform:
    return BatchTransform(mean=(0.3,) * channels, std=(0.3,) * channels, size=8, channels=channels)


def tiny_recipe(**changes: Any) -> Recipe:
    base = {"epochs": 3, "batch_size": 16, "lr": 0.05, "milestones": (), "warmup_epochs": 0,
            "augment": {"crop_padding": 1, "hflip": False, "rotation": 0.0}}
    return Recipe.model_validate({**base, **changes})


def fullclass_split(data: ImageTensors, forget_class: int) -> tuple[ImageTensors, ImageTensors]:
    """(forget, retain) of a full-class scenario."""
    mask = data.labels == forget_class
    return data.subset(mask.nonzero().flatten()), data.subset((~mask).nonzero().flatten())


def make_unlearn_data(
    original: nn.Module,
    train: ImageTensors,
    *,
    forget_class: int | None = 0,
    forget: ImageTensors | None = None,
    retain: ImageTensors | None = None,
    num_classes: int = 4,
    scenario: str = "fullclass",
    seed: int = 0,
    new_model: Callable[[], nn.Module] | None = None,
    fabric: Fabric | None = None,
    transform: BatchTransform | None = None,
    batch_size: int = 16,
    recipe: Recipe | None = None,
    cache: Cache | None = None,
    dataset_name: str = "",
    model_name: str = "",
    model_family: str = "",
) -> UnlearnData:
    """An :class:`UnlearnData` as the pipeline would build it for ``original``: its facts,
    and the pipeline's own services over ``fabric`` (default: :func:`cpu_fabric`). Pass the
    same ``fabric`` to the method's ``unlearn``."""
    import copy

    from supreme.pipeline.services import unlearn_data

    if forget is None or retain is None:
        if forget_class is None:
            raise ValueError("give forget_class, or forget and retain")
        forget, retain = fullclass_split(train, forget_class)
    frozen = copy.deepcopy(original).eval()
    for p in frozen.parameters():
        p.requires_grad_(False)
    in_channels = int(train.images.shape[1])
    return unlearn_data(
        forget=forget, retain=retain, num_classes=num_classes, scenario=scenario,
        forget_class=forget_class, seed=seed, batch_size=batch_size,
        recipe=recipe or tiny_recipe(), fabric=fabric or cpu_fabric(),
        transform=transform or tiny_transform(in_channels), original=frozen,
        new_model=new_model or (lambda: TinyNet(num_classes, in_channels)), cache=cache,
        dataset_name=dataset_name, model_name=model_name, model_family=model_family,
    )


def make_eval_context(
    models: Mapping[str, nn.Module],
    splits: Mapping[str, ImageTensors],
    *,
    num_classes: int = 4,
    scenario: str = "fullclass",
    forget_class: int | None = 0,
    seed: int = 0,
    fabric: Fabric | None = None,
    transform: BatchTransform | None = None,
    batch_size: int = 64,
    **extra: Any,
) -> EvalContext:
    """An :class:`EvalContext` over ``splits`` with the real cached forward pass."""
    from supreme.pipeline.evaluate import training_batches

    channels = int(next(iter(splits.values())).images.shape[1])
    fabric = fabric or cpu_fabric()
    transform = transform or tiny_transform(channels)
    forward = Forward(fabric, transform, batch_size)
    extra.setdefault("batches", training_batches(transform, fabric.device))
    return EvalContext(
        method="test",
        models=dict(models),
        splits=dict(splits),
        forward=forward,
        num_classes=num_classes,
        scenario=scenario,
        forget_class=forget_class,
        seed=seed,
        **extra,
    )


def launch_processes(fn: Callable[..., Any], *args: Any, processes: int = 2) -> Any:
    """Run ``fn(fabric, *args)`` on ``processes`` CPU processes (gloo, ``ddp_spawn``).

    Returns rank 0's result (keep it small: results travel through a pipe; write large ones
    to a file). ``fn`` must be importable by name from a spawned process (a module on
    ``sys.path``, not a test module). Each launch picks a fresh port, and every process
    shuts its process group down before it exits: a process that exits with gloo's threads
    still running can abort, and a crashed launch would otherwise hand its port on.
    """
    import os

    from lightning.fabric import Fabric

    os.environ.pop("MASTER_PORT", None)
    fabric = Fabric(accelerator="cpu", devices=processes, strategy="ddp_spawn")
    return fabric.launch(_call_then_tear_down, fn, *args)


def _call_then_tear_down(fabric: Fabric, fn: Callable[..., Any], *args: Any) -> Any:
    import torch.distributed as dist

    try:
        return fn(fabric, *args)
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()
