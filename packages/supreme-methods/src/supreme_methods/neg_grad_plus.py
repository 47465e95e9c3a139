"""NegGrad+: descent on the retain loss and ascent on the forget loss, in the same step.

Each step takes one batch of D_r and one of D_f and minimises (1 − α)·CE(D_r batch) −
α·CE(D_f batch); an epoch is one pass over D_r, the forget batches cycling. Kurmanji et
al., "Towards Unbounded Machine Unlearning" (NeurIPS 2023), the strengthened NegGrad
baseline of the SCRUB paper. Authors' code: ``meghdadk/SCRUB`` (``run_neggrad_epoch``
in the notebooks), which writes the loss as β·L_r − (1 − β)·L_f with β = 0.95, 10 epochs,
SGD lr 0.01; α here is 1 − β, the weight of the ascent.

With α = 0 the forget set is never read and NegGrad+ is exactly ``finetune`` with the
same epochs, lr, momentum, weight decay, batch size and seed (same retain batches, same
weights: the retain loader draws its seed first, as FT's does).

Differences from the reference: the reference added an ℓ2 pull towards M_o to the
retain term and ran its SGD (no momentum) with the network in eval mode; here the
regulariser is SGD's weight decay and the network trains in train mode, which makes
α = 0 coincide with FT. The reference's β weighted the retain loss; we keep the paper's
structure but name the weight of the forget term α (α = 1 − β).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from pydantic import Field
from supreme.contracts import ComponentConfig, UnlearningMethod
from supreme.contracts.search import Search
from supreme.contracts.types import (
    BatchSize,
    Epochs,
    LearningRate,
    Momentum,
    Probability,
    WeightDecay,
)

if TYPE_CHECKING:
    import torch
    from lightning.fabric import Fabric
    from supreme.contracts import UnlearnData
    from torch import nn

Batch = tuple["torch.Tensor", "torch.Tensor"]


class NegGradPlus(UnlearningMethod):
    """NegGrad+: minimise (1−α)·CE on D_r − α·CE on D_f, one batch of each per step."""

    name = "neg_grad_plus"
    #: supreme tune's search space: Kurmanji et al. (NeurIPS 2023): the rate, the epochs and the
    #: forget/retain weight α.
    search_space = {"lr": Search(1e-4, 1e-1, log=True), "epochs": Search(1, 10),
                    "alpha": Search(0.0, 1.0)}
    scenarios = frozenset({"fullclass", "subclass", "random"})

    class Config(ComponentConfig):
        alpha: Probability = Field(0.05, description="α: weight of the ascent on D_f (1 − β)")
        epochs: Epochs = Field(10, description="passes over D_r")
        lr: LearningRate = Field(0.01, description="SGD learning rate (constant)")
        momentum: Momentum = 0.0
        weight_decay: WeightDecay = 5e-4
        batch_size: BatchSize | None = Field(None, description="D_r batch; default: scenario's")
        forget_batch_size: BatchSize | None = Field(None, description="D_f batch; default: scenario's")

    config: Config

    def unlearn(self, model: nn.Module, data: UnlearnData, fabric: Fabric) -> nn.Module:
        from supreme.api import track

        from supreme_methods._training import cross_entropy, prepare, sgd, sync_buffers

        cfg = self.config
        student, optimizer = prepare(
            fabric, model, lambda m: sgd(m.parameters(), cfg.lr, cfg.momentum, cfg.weight_decay)
        )
        retain = data.loader("retain", batch_size=cfg.batch_size)  # first draw, as in FT
        forget = data.loader("forget", batch_size=cfg.forget_batch_size) if cfg.alpha else None
        batches = _forever(forget) if forget is not None else None
        with track(cfg.epochs * len(retain), self.name) as advance:
            for _ in range(cfg.epochs):
                student.train()
                for x, y in retain:
                    loss = (1.0 - cfg.alpha) * cross_entropy(student, x, y)
                    if batches is not None:
                        xf, yf = next(batches)
                        loss = loss - cfg.alpha * cross_entropy(student, xf, yf)
                    optimizer.zero_grad(set_to_none=True)
                    fabric.backward(loss)
                    optimizer.step()
                    advance(1)
        return sync_buffers(fabric, student)


def _forever(loader: Iterable[Batch]) -> Iterator[Batch]:
    """The batches of ``loader`` cycled without end, reshuffled on every pass."""
    while True:
        yield from loader
