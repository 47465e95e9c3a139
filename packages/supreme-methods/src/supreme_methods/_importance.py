"""Parameter importances and selective dampening: the machinery of the SSD family.

Importance of parameter element θ_j over a data set (Fisher-information style):

* ``per_sample = False`` (SSD, LFSSD, ASSD): for each batch, the gradient of the batch-mean
  criterion, squared (SSD) or absolute (LFSSD), averaged over batches. Under several
  processes the rank gradients are averaged *before* squaring, which equals the
  single-process batch gradient (the reference squared the DDP-averaged gradient too).
* ``per_sample = True`` (SSD-Det, LFSSD-Det): the mean over samples of the per-sample
  gradient squared / absolute. Computed with ``torch.func`` (vmap over grad), each rank on
  its own shard with no duplicated sample, then summed across ranks: the result does not
  depend on the order, the batch size or the number of processes.

Criteria: ``ce`` = cross-entropy with the label; ``l2`` = ‖f(x)‖²₂ of the logits (labels
unused, "loss-free"). Parameters that do not require gradients get zero importance and
are never selected. The model is evaluated in eval mode (BatchNorm running statistics).

This module imports torch; it is only imported inside ``unlearn``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

import torch
import torch.nn.functional as F
from supreme.api import track
from torch import nn

if TYPE_CHECKING:
    from supreme.contracts import Batches, ImageTensors, UnlearnData

Criterion = Literal["ce", "l2"]
Importance = dict[str, torch.Tensor]


def criterion_value(out: torch.Tensor, y: torch.Tensor, criterion: Criterion) -> torch.Tensor:
    """Per-sample criterion: CE with ``y``, or the squared L2 norm of the logits."""
    if criterion == "ce":
        return F.cross_entropy(out, y, reduction="none")
    return out.pow(2).sum(dim=1)


def accumulate(acc: torch.Tensor, grad: torch.Tensor, criterion: Criterion) -> None:
    """Add g² (SSD, cross-entropy) or |g| (LFSSD, loss-free) to ``acc``."""
    acc.add_(grad.pow(2) if criterion == "ce" else grad.abs())


def _zeros(model: nn.Module) -> Importance:
    return {n: torch.zeros_like(p) for n, p in model.named_parameters()}


def _trainable(model: nn.Module) -> dict[str, nn.Parameter]:
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


def batch_importance(
    model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], criterion: Criterion,
    data: UnlearnData, steps: int, description: str = "importance",
) -> Importance:
    """Mean over batches of the (squared / absolute) gradient of the batch-mean criterion.

    With several ranks each batch's gradient is the mean over the ranks' shares of the
    global batch (``data.sum_over_ranks`` divided by the number of ranks)."""
    model.eval()
    params = _trainable(model)
    acc = _zeros(model)
    count = 0
    with track(steps, description) as advance:
        for x, y in batches:
            loss = criterion_value(model(x), y, criterion).mean()
            grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
            grads_by_name = {n: g for n, g in zip(params, grads, strict=True) if g is not None}
            if data.world_size > 1:
                grads_by_name = {n: g / data.world_size
                                 for n, g in data.sum_over_ranks(grads_by_name).items()}
            for name, g in grads_by_name.items():
                accumulate(acc[name], g, criterion)
            count += 1
            advance(1)
    return {n: v / max(count, 1) for n, v in acc.items()}


def per_sample_importance(
    model: nn.Module, tensors: ImageTensors, data: UnlearnData, criterion: Criterion,
    batch_size: int, chunk_size: int | None = None, description: str = "importance",
) -> Importance:
    """Mean over samples of the per-sample gradient squared (ce) or absolute (l2).

    Order-independent: each rank takes a strided shard of the samples (no padding, no
    duplicates), sums per-sample terms computed with ``torch.func.vmap(grad(...))``, and
    the sums are added across ranks before dividing by the number of samples.
    """
    from torch.func import functional_call, grad, vmap

    model.eval()
    params = {n: p.detach() for n, p in _trainable(model).items()}
    buffers = {n: b.detach() for n, b in model.named_buffers()}
    acc = _zeros(model)

    def sample_criterion(p: Importance, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = functional_call(model, (p, buffers), (x.unsqueeze(0),))
        return criterion_value(out, y.unsqueeze(0), criterion).sum()

    per_sample_grads = vmap(grad(sample_criterion), in_dims=(None, 0, 0), chunk_size=chunk_size)
    loader = shard_loader(tensors, data, batch_size)
    with track(len(loader), description) as advance:
        for x, y in loader:
            for name, g in per_sample_grads(params, x, y).items():
                acc[name].add_(g.pow(2).sum(0) if criterion == "ce" else g.abs().sum(0))
            advance(1)
    acc = data.sum_over_ranks(acc)
    return {n: v / max(len(tensors), 1) for n, v in acc.items()}


def expected_fisher(
    model: nn.Module, tensors: ImageTensors, data: UnlearnData, batch_size: int,
    chunk_size: int | None = None, description: str = "fisher",
) -> Importance:
    """Diagonal Fisher information of the model's predictive distribution over ``tensors``.

    The mean over samples x of Σ_c p(c|x)·(∂ CE(f(x), c)/∂θ)², the expectation taken over
    the model's own (eval-mode) softmax rather than the labels (the "true" Fisher). The
    per-(sample, class) gradients come from the same ``torch.func`` path as
    :func:`per_sample_importance`, ``chunk_size`` pairs per vmapped call; each rank sums
    over its own shard and the sums are added across ranks, so the result does not depend
    on the order, the batch size or the number of processes.
    """
    from torch.func import functional_call, grad, vmap

    model.eval()
    params = {n: p.detach() for n, p in _trainable(model).items()}
    buffers = {n: b.detach() for n, b in model.named_buffers()}
    acc = _zeros(model)

    def pair_loss(p: Importance, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        out = functional_call(model, (p, buffers), (x.unsqueeze(0),))
        return F.cross_entropy(out, c.unsqueeze(0))

    pair_grads = vmap(grad(pair_loss), in_dims=(None, 0, 0))
    loader = shard_loader(tensors, data, batch_size)
    with track(len(loader), description) as advance:
        for x, _ in loader:
            with torch.no_grad():
                prob = F.softmax(model(x), dim=1)
            count, classes = prob.shape
            xs = x.repeat_interleave(classes, dim=0)
            cs = torch.arange(classes, device=x.device).repeat(count)
            weights = prob.reshape(-1)
            step = chunk_size or len(xs)
            for start in range(0, len(xs), step):
                w = weights[start:start + step]
                grads = pair_grads(params, xs[start:start + step], cs[start:start + step])
                for name, g in grads.items():
                    acc[name].add_(torch.tensordot(w, g.pow(2), dims=1))
            advance(1)
    acc = data.sum_over_ranks(acc)
    return {n: v / max(len(tensors), 1) for n, v in acc.items()}


def per_sample_importance_loop(
    model: nn.Module, tensors: ImageTensors, data: UnlearnData, criterion: Criterion,
    batch_size: int,
) -> Importance:
    """The reference's way: one forward per batch, then one backward per sample.

    Kept as the slow baseline of ``bench/per_sample_grads.py`` and of the tests; single
    process only. Gives the same values as :func:`per_sample_importance`.
    """
    model.eval()
    params = _trainable(model)
    acc = _zeros(model)
    for x, y in shard_loader(tensors, data, batch_size):
        values = criterion_value(model(x), y, criterion)
        for i in range(len(values)):
            grads = torch.autograd.grad(values[i], list(params.values()), retain_graph=True,
                                        allow_unused=True)
            for name, g in zip(params, grads, strict=True):
                if g is not None:
                    accumulate(acc[name], g, criterion)
    return {n: v / max(len(tensors), 1) for n, v in acc.items()}


def shard_loader(tensors: ImageTensors, data: UnlearnData, batch_size: int) -> Batches:
    """This rank's strided share of ``tensors`` in order, on the Fabric device, unpadded."""
    return data.local_loader(data.rank_shard(tensors), batch_size=batch_size)


def canonical_order(tensors: ImageTensors) -> torch.Tensor:
    """A permutation that sorts samples by content (image bytes and label).

    D = D_r ∪ D_f arrives in a target-dependent order; sorting by content makes the
    batches of the batch-mean importance over D (and so its cached value) the same for
    every forget target. Identical samples tie, and their order does not matter. Lazily
    decoded datasets are sorted by their sample ids, which name the content as well.
    """
    from supreme.contracts import LazyImages

    n = len(tensors)
    if isinstance(tensors.images, LazyImages):
        return torch.sort(tensors.images.ids * 1024 + tensors.labels.long(), stable=True).indices
    flat = tensors.images.reshape(n, -1)
    fixed = torch.Generator().manual_seed(0)
    weights = torch.randint(1, 2**31 - 1, (flat.shape[1],), generator=fixed)
    key = torch.empty(n, dtype=torch.int64)
    for start in range(0, n, 4096):
        key[start:start + 4096] = (flat[start:start + 4096].long() * weights).sum(1)
    key = key * 1024 + tensors.labels.long()
    return torch.sort(key, stable=True).indices


def dampen(model: nn.Module, forget: Importance, full: Importance, alpha: float,
           dampening: float, exponent: float = 1.0, lower_bound: float = 1.0) -> dict[str, int]:
    """θ ← θ·min(lower_bound, (λ·O/F)^exponent) where F > α·O; returns selected counts."""
    selected = {}
    with torch.no_grad():
        for name, p in model.named_parameters():
            f, o = forget[name], full[name]
            mask = f > alpha * o
            factor = (dampening * o[mask] / f[mask]).pow(exponent).clamp(max=lower_bound)
            p[mask] = p[mask] * factor.to(p.dtype)
            selected[name] = int(mask.sum())
    return selected


def percentile(values: torch.Tensor, q: float) -> float:
    """The ``q``-th percentile with linear interpolation (numpy's default method)."""
    ordered = torch.sort(values.double().flatten()).values
    if ordered.numel() == 0:
        raise ValueError("percentile of an empty set")
    position = q / 100 * (ordered.numel() - 1)
    low = int(position)
    high = min(low + 1, ordered.numel() - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def finite_ratios(forget: Importance, full: Importance) -> torch.Tensor:
    """Every finite F/O over all parameter elements (0/0 and x/0 are dropped)."""
    ratios = torch.cat([(forget[n] / full[n]).flatten().cpu() for n in forget])
    return ratios[torch.isfinite(ratios)]
