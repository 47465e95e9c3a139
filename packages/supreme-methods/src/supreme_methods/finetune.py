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

from typing import TYPE_CHECKING

from pydantic import Field
from supreme.contracts import ComponentConfig, UnlearningMethod

if TYPE_CHECKING:
    from lightning.fabric import Fabric
    from supreme.contracts import UnlearnData
    from torch import nn


class FineTune(UnlearningMethod):
    """FT: a few epochs of cross-entropy on the retain set (SGD, constant lr)."""

    name = "finetune"
    scenarios = frozenset({"fullclass", "subclass", "random"})

    class Config(ComponentConfig):
        epochs: int = Field(5, ge=1, description="passes over D_r")
        lr: float = Field(0.02, gt=0, description="SGD learning rate (constant)")
        momentum: float = Field(0.9, ge=0, lt=1)
        weight_decay: float = Field(5e-4, ge=0)
        batch_size: int | None = Field(None, ge=1, description="default: the scenario's batch size")

    config: Config

    def unlearn(self, model: nn.Module, data: UnlearnData, fabric: Fabric) -> nn.Module:
        from supreme_methods._training import (
            cross_entropy,
            prepare,
                    sgd,
            train_epochs,
        )

        cfg = self.config
        student, optimizer = prepare(
            fabric, model, lambda m: sgd(m.parameters(), cfg.lr, cfg.momentum, cfg.weight_decay)
        )
        retain = data.loader("retain", batch_size=cfg.batch_size)
        train_epochs(fabric, student, optimizer, retain, cross_entropy, epochs=cfg.epochs,
                     description="finetune")
        return student
