"""Negative gradient (NegGrad): gradient *ascent* on the forget set.

Minimises −CE on D_f, pushing the model away from its own predictions on the data to
forget. Baseline from Golatkar et al., "Eternal Sunshine of the Spotless Net"
(CVPR 2020) and Thudi et al., "Unrolling SGD" (EuroS&P 2022). Reference code: SUPREME
``methods/baselines/neg_grad.py`` (``fit_one_learning_cycle`` with ``neggrad=True``).

Differences from the reference: it is registered (the reference implemented it but left
it out of its method list, §9-23), and there is no per-epoch evaluation inside the timed
region (§9-28). NegGrad is unbounded: more epochs or a larger lr eventually destroy the
retain accuracy too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field
from supreme.contracts import ComponentConfig, UnlearningMethod

if TYPE_CHECKING:
    import torch
    from lightning.fabric import Fabric
    from supreme.contracts import UnlearnData
    from torch import nn


class NegGrad(UnlearningMethod):
    """NegGrad: a few epochs of gradient ascent (−CE) on the forget set."""

    name = "neg_grad"
    scenarios = frozenset({"fullclass", "subclass", "random"})

    class Config(ComponentConfig):
        epochs: int = Field(5, ge=1, description="passes over D_f")
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

        def negative_ce(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return -cross_entropy(m, x, y)

        student, optimizer = prepare(
            fabric, model, lambda m: sgd(m.parameters(), cfg.lr, cfg.momentum, cfg.weight_decay)
        )
        forget = data.loader("forget", batch_size=cfg.batch_size)
        train_epochs(fabric, student, optimizer, forget, negative_ce, epochs=cfg.epochs,
                     description="neg_grad")
        return student
