"""ℓ1-sparse unlearning: fine-tune on D_r with an ℓ1 penalty whose weight decays linearly.

Minimises CE(D_r) + γ_t·‖θ‖₁ over every trainable parameter, with γ_t = γ·(1 − t/E) in
epoch t = 0 … E−1 (γ in the first epoch, γ/E in the last): the sparsity prior pushes
weights the retain set does not need towards zero while the network keeps fitting D_r.
Jia et al., "Model Sparsity Can Simplify Machine Unlearning" (NeurIPS 2023), the
sparsity-aware unlearning of §5. Authors' code: ``OPTML-Group/Unlearn-Sparse``
(``FT_l1`` / ``FT_prune``: SGD, momentum 0.9, weight decay 5e-4, batch 256, 10 epochs,
lr 0.01, the linear decay of the ℓ1 coefficient per epoch); γ = 5e-4 is the paper's
setting for CIFAR-10.

Differences from the reference: none in the objective; the ℓ1 norm is computed as a sum
of per-tensor sums (the same value as the norm of the concatenated vector, without the
copy). The prune-first variant (start from a pruned M_o) is not part of this method:
SUPREME's M_o is dense.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field
from supreme.contracts import ComponentConfig, UnlearningMethod
from supreme.contracts.search import Search
from supreme.contracts.types import (
    BatchSize,
    Epochs,
    LearningRate,
    Momentum,
    Scale,
    WeightDecay,
)

if TYPE_CHECKING:
    import torch
    from lightning.fabric import Fabric
    from supreme.contracts import UnlearnData
    from torch import nn


class L1Sparse(UnlearningMethod):
    """ℓ1-sparse: fine-tune on the retain set with a linearly decaying ℓ1 penalty."""

    name = "l1_sparse"
    #: supreme tune's search space: Jia et al. (NeurIPS 2023) sweep the ℓ1 weight γ and the rate.
    search_space = {"l1": Search(1e-5, 1e-2, log=True), "lr": Search(1e-3, 1e-1, log=True),
                    "epochs": Search(1, 10)}
    scenarios = frozenset({"fullclass", "subclass", "random"})

    class Config(ComponentConfig):
        l1: Scale = Field(5e-4, description="γ: ℓ1 coefficient of the first epoch")
        epochs: Epochs = Field(10, description="passes over D_r")
        lr: LearningRate = Field(0.01, description="SGD learning rate (constant)")
        momentum: Momentum = 0.9
        weight_decay: WeightDecay = 5e-4
        batch_size: BatchSize = 256

    config: Config

    def l1_weight(self, epoch: int) -> float:
        """γ_t = γ·(1 − t/E) for the 0-based ``epoch`` t of E."""
        return self.config.l1 * (1.0 - epoch / self.config.epochs)

    def unlearn(self, model: nn.Module, data: UnlearnData, fabric: Fabric) -> nn.Module:
        from supreme_methods._training import cross_entropy, prepare, sgd, train_epochs

        cfg = self.config
        weight = [self.l1_weight(0)]

        def set_weight(epoch: int) -> None:
            weight[0] = self.l1_weight(epoch)

        def loss(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return cross_entropy(m, x, y) + weight[0] * l1_norm(m)

        student, optimizer = prepare(
            fabric, model, lambda m: sgd(m.parameters(), cfg.lr, cfg.momentum, cfg.weight_decay)
        )
        train_epochs(fabric, student, optimizer, data.loader("retain", batch_size=cfg.batch_size),
                     loss, epochs=cfg.epochs, description=self.name, on_epoch=set_weight)
        return student


def l1_norm(model: nn.Module) -> torch.Tensor:
    """‖θ‖₁ over the parameters that require gradients."""
    import torch

    return torch.stack([p.abs().sum() for p in model.parameters() if p.requires_grad]).sum()
