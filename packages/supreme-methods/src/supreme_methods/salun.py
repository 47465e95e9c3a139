"""SalUn: random-label unlearning that updates only the weights salient for the forget set.

1. Saliency: the gradient g of the mean cross-entropy over D_f at M_o (eval mode); the
   mask keeps the fraction γ of parameter elements with the largest |g|, over the whole
   network (one global threshold, every trainable tensor included).
2. Unlearning: random labelling (each forget sample gets a label other than the one to
   forget, drawn from the method's generator, trained together with D_r, as ``RL``) by
   SGD whose update is multiplied by the mask: weights outside the mask keep M_o's values
   exactly (their weight decay is masked too).

Fan et al., "SalUn: Empowering Machine Unlearning via Gradient-based Weight Saliency in
Both Image Classification and Generation" (ICLR 2024). Authors' code:
``OPTML-Group/Unlearn-Saliency`` (``Classification/generate_mask.py`` for the mask,
``unlearn/RL.py`` with the mask for SalUn): γ = 0.5, 10 epochs, SGD momentum 0.9, weight
decay 5e-4, batch 256, lr 0.013 (the README's recommended CIFAR-10 setting).

Differences from the reference: the saliency gradient is the exact gradient of the mean
forget loss at M_o (a sum of per-batch sums over this process's share of D_f, added
across processes), not a sum of per-batch means taken while an optimiser stepped the
model between batches (``generate_mask.py`` called ``optimizer.step()`` inside its
accumulation loop); the mask is computed inside the timed call (the reference saved it
in a separate run). Random labels exclude the forgotten class (full-class, sub-class) or
the sample's own label (random samples), as the paper's y' ≠ y, where the CIFAR-10 code
drew from all classes; relabelled D_f and D_r are shuffled together, as the reference's
CIFAR-100 branch (its CIFAR-10 branch took a forget pass, then a retain pass).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field
from supreme.contracts import ComponentConfig, UnlearningMethod
from supreme.contracts.search import Search
from supreme.contracts.types import (
    BatchSize,
    Epochs,
    Fraction,
    LearningRate,
    Momentum,
    WeightDecay,
)

from supreme_methods.random_labeling import other_labels

if TYPE_CHECKING:
    import torch
    from lightning.fabric import Fabric
    from supreme.contracts import UnlearnData
    from torch import nn

Mask = dict[str, "torch.Tensor"]


class SalUn(UnlearningMethod):
    """SalUn: saliency mask from the forget-loss gradient, then masked random-label training."""

    name = "salun"
    #: supreme tune's search space: Fan et al. (ICLR 2024): the saliency sparsity, the rate and the
    #: epochs.
    search_space = {"mask_fraction": Search(0.1, 0.9), "lr": Search(1e-3, 1e-1, log=True),
                    "epochs": Search(1, 10)}
    scenarios = frozenset({"fullclass", "subclass", "random"})

    class Config(ComponentConfig):
        mask_fraction: Fraction = Field(0.5, description="γ: share of weights in the saliency mask")
        epochs: Epochs = Field(10, description="passes over relabelled D_f ∪ D_r")
        lr: LearningRate = Field(0.013, description="SGD learning rate (constant)")
        momentum: Momentum = 0.9
        weight_decay: WeightDecay = 5e-4
        batch_size: BatchSize = 256

    config: Config

    def saliency_mask(self, model: nn.Module, data: UnlearnData) -> Mask:
        """Boolean masks (one per trainable parameter) of the top-γ |∇ mean CE(D_f)|."""
        import torch

        from supreme_methods._importance import shard_loader

        was_training = model.training
        model.eval()
        params = {n: p for n, p in model.named_parameters() if p.requires_grad}
        total = {n: torch.zeros_like(p) for n, p in params.items()}
        for x, y in shard_loader(data.forget, data, self.config.batch_size):
            loss = torch.nn.functional.cross_entropy(model(x), y, reduction="sum")
            for name, g in zip(params, torch.autograd.grad(loss, list(params.values()),
                                                          allow_unused=True), strict=True):
                if g is not None:
                    total[name].add_(g)
        total = data.sum_over_ranks(total)
        model.train(was_training)
        return top_fraction({n: (g / len(data.forget)).abs() for n, g in total.items()},
                            self.config.mask_fraction)

    @staticmethod
    def random_labels(data: UnlearnData) -> torch.Tensor:
        """A label for each sample of D_f other than the forgotten class (or its own label)."""
        import torch

        forget = data.forget
        if data.forget_class is None:
            excluded = forget.labels
        else:
            excluded = torch.full_like(forget.labels, data.forget_class)
        return other_labels(excluded, data.num_classes, data.generator)

    def unlearn(self, model: nn.Module, data: UnlearnData, fabric: Fabric) -> nn.Module:
        from supreme.api import unwrap
        from supreme.contracts import ImageTensors

        from supreme_methods._training import cross_entropy, prepare, sgd, train_epochs, trainable

        cfg = self.config
        mask = self.saliency_mask(unwrap(model), data)
        relabelled = data.forget.with_labels(self.random_labels(data))
        mixed = ImageTensors.concat([relabelled, data.retain])
        # weight decay goes into the masked gradient, so unmasked weights get no update at all
        student, optimizer = prepare(
            fabric, model, lambda m: sgd(trainable(m), cfg.lr, cfg.momentum, weight_decay=0.0)
        )
        masked = [(p, mask[n].to(p.dtype)) for n, p in unwrap(student).named_parameters()
                  if n in mask]

        def mask_gradients() -> None:
            import torch

            with torch.no_grad():
                for p, keep in masked:
                    if p.grad is not None:
                        p.grad.add_(p, alpha=cfg.weight_decay).mul_(keep)

        train_epochs(fabric, student, optimizer, data.loader(mixed, batch_size=cfg.batch_size),
                     cross_entropy, epochs=cfg.epochs, description=self.name,
                     before_step=mask_gradients)
        return student


def top_fraction(scores: dict[str, torch.Tensor], fraction: float) -> Mask:
    """Masks selecting the ⌊fraction·N⌋ largest of all N scores (ties: first in order)."""
    import torch

    flat = torch.cat([s.detach().flatten().double().cpu() for s in scores.values()])
    keep = int(fraction * flat.numel())
    chosen = torch.zeros(flat.numel(), dtype=torch.bool)
    chosen[torch.sort(flat, descending=True, stable=True).indices[:keep]] = True
    masks, start = {}, 0
    for name, s in scores.items():
        masks[name] = chosen[start:start + s.numel()].view(s.shape).to(s.device)
        start += s.numel()
    return masks
