"""Fine-tuning (FT): keep training M_o on the retain set only.

The forget set is never seen; forgetting comes from catastrophic forgetting while the
model keeps fitting D_r. Baseline used by, among others, Golatkar et al., "Eternal
Sunshine of the Spotless Net: Selective Forgetting in Deep Networks" (CVPR 2020), and
Warnecke et al. (NDSS 2023). Reference code: SUPREME ``methods/baselines/finetune.py``
(``fit_one_learning_cycle`` with constant lr).

Differences from the reference: no evaluation after each epoch (the reference evaluated
D'_r inside the timed region, §9-28). Like the reference, the same SGD recipe is used for
every architecture (the reference's ViT fine-tuning used SGD too, §9-9); change ``lr``,
``momentum`` and ``weight_decay`` per model in the experiment file if you need otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field
from supreme.contracts import ComponentConfig, UnlearningMethod
from supreme.contracts.search import Search
from supreme.contracts.types import BatchSize, Epochs, LearningRate, Momentum, WeightDecay

if TYPE_CHECKING:
    import torch
    from lightning.fabric import Fabric
    from supreme.contracts import UnlearnData
    from torch import nn


class SGDEpochs(UnlearningMethod):
    """Base of FT and NegGrad: constant-lr SGD epochs over one part of the training data."""

    scenarios = frozenset({"fullclass", "subclass", "random"})
    #: ``retain`` (descent, FT) or ``forget`` (ascent, NegGrad).
    part: ClassVar[Literal["retain", "forget"]] = "retain"

    class Config(ComponentConfig):
        epochs: Epochs = Field(5, description="passes over D_r (FT) or D_f (NegGrad)")
        lr: LearningRate = Field(0.02, description="SGD learning rate (constant)")
        momentum: Momentum = 0.9
        weight_decay: WeightDecay = 5e-4
        batch_size: BatchSize | None = Field(None, description="default: the scenario's batch size")

    config: Config

    def unlearn(self, model: nn.Module, data: UnlearnData, fabric: Fabric) -> nn.Module:
        from supreme_methods._training import cross_entropy, prepare, sgd, train_epochs

        cfg = self.config
        sign = 1.0 if self.part == "retain" else -1.0  # gradient ascent on the forget set

        def loss(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return sign * cross_entropy(m, x, y)

        student, optimizer = prepare(
            fabric, model, lambda m: sgd(m.parameters(), cfg.lr, cfg.momentum, cfg.weight_decay)
        )
        batches = data.loader(self.part, batch_size=cfg.batch_size)
        train_epochs(fabric, student, optimizer, batches, loss, epochs=cfg.epochs,
                     description=self.name)
        return student


class FineTune(SGDEpochs):
    """FT: a few epochs of cross-entropy on the retain set (SGD, constant lr)."""

    name = "finetune"
    #: supreme tune's search space: Warnecke et al. tune the rate and the epochs.
    search_space = {"lr": Search(1e-4, 1e-1, log=True), "epochs": Search(1, 10)}
    part = "retain"
