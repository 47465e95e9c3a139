"""Small measurement helpers for the method tests."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from supreme.pipeline.train import unwrap
from torch import nn


@torch.no_grad()
def outputs(model: nn.Module, data, which) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits, labels) of ``model`` in eval mode over ``which`` (in dataset order)."""
    model = unwrap(model)
    was = model.training
    model.eval()
    xs, ys = [], []
    for x, y in data.loader(which, batch_size=256, shuffle=False):
        xs.append(model(x))
        ys.append(y)
    model.train(was)
    return torch.cat(xs), torch.cat(ys)


def accuracy(model: nn.Module, data, which) -> float:
    logits, labels = outputs(model, data, which)
    return float((logits.argmax(1) == labels).float().mean())


def ce_loss(model: nn.Module, data, which) -> float:
    logits, labels = outputs(model, data, which)
    return float(F.cross_entropy(logits, labels))


def student(original: nn.Module) -> nn.Module:
    return copy.deepcopy(original).train()


def run_methods_worker(fabric, state, images, labels, runs, out_path):
    """Fabric launch target: run each (name, config) on the tiny M_o.

    Every rank checks that all ranks ended with the same weights; rank 0 saves
    ``{name: (weights, in_sync)}`` to ``out_path`` (Lightning joins the workers before
    reading their return value, so a large return value would deadlock on the pipe).
    """
    from supreme.contracts import ImageTensors
    from supreme.testing import TinyNet
    from supreme.testing.methods import tiny_unlearn_data
    from supreme_methods.plugin import METHODS

    torch.set_num_threads(1)
    train = ImageTensors(images.cpu(), labels.cpu())  # Lightning cannot pass frozen dataclasses
    by_name = {cls.name: cls for cls in METHODS}
    original = TinyNet(4)
    original.load_state_dict(state)
    results = {}
    for name, config in runs:
        cls = by_name[name]
        data = tiny_unlearn_data(original, train, fabric=fabric)
        model = copy.deepcopy(original).to(fabric.device).train()
        result = unwrap(cls(cls.Config(**config)).unlearn(model, data, fabric))
        weights = {k: v.detach().cpu().clone() for k, v in result.state_dict().items()}
        flat = torch.cat([v.float().flatten() for v in weights.values()])
        gathered = fabric.all_gather(flat)
        in_sync = bool(all(torch.equal(gathered[0], g) for g in gathered))
        results[name] = (weights, in_sync)
    if fabric.global_rank == 0:
        torch.save(results, out_path)
