"""SCRUB: a student that stays close to the teacher on D_r and moves away from it on D_f.

The teacher is the frozen original model; the student starts as a copy of it. Each epoch
first (for the first ``max_steps`` epochs) takes "max" steps on D_f that increase the
temperature-scaled KL divergence to the teacher, then "min" steps on D_r that decrease
γ·CE + α·KL. Kurmanji et al., "Towards Unbounded Machine Unlearning" (NeurIPS 2023).
Reference code: SUPREME ``methods/state_of_the_art/scrub.py`` (after the authors'
``meghdadk/SCRUB``).

Differences from the reference: the SUPREME reference added a parameter-distance term
0.5·Σ‖θ_s − θ_t‖_F (un-squared Frobenius norm, summed over tensors) to every loss — a
term the SCRUB code it derives from computed between the student and itself (hence 0)
and which the SCRUB paper does not have (§9-11). We follow the paper: ``smoothing = 0``
by default; ``smoothing = 0.5`` reproduces the SUPREME reference. Adam keeps the
reference's coupled weight decay 0.1. Parameters frozen in the model (like a ViT pooler
without gradient) stay frozen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from pydantic import Field
from supreme.contracts import ComponentConfig, UnlearningMethod
from supreme.contracts.search import Search
from supreme.contracts.types import (
    BatchSize,
    Decay,
    EpochCount,
    Epochs,
    LearningRate,
    PositiveScale,
    Scale,
    WeightDecay,
)

if TYPE_CHECKING:
    import torch
    from lightning.fabric import Fabric
    from supreme.contracts import UnlearnData
    from torch import nn

Batches = Iterable[tuple["torch.Tensor", "torch.Tensor"]]


def _ignore(n: int = 1) -> None:
    """A progress callback that does nothing."""


def distill_kl(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL(teacher ‖ student) of temperature-softened outputs, per-sample mean, times T²."""
    import torch.nn.functional as F

    log_p = F.log_softmax(student / temperature, dim=1)
    q = F.softmax(teacher / temperature, dim=1)
    return F.kl_div(log_p, q, reduction="batchmean") * temperature**2


def parameter_distance(student: nn.Module, teacher: nn.Module) -> torch.Tensor:
    """Σ over parameter tensors of ‖θ_s − θ_t‖_F (the reference's smoothing term)."""
    import torch

    return torch.stack([
        torch.linalg.vector_norm(p - q.detach())
        for p, q in zip(student.parameters(), teacher.parameters(), strict=True)
        if p.requires_grad
    ]).sum()


class SCRUB(UnlearningMethod):
    """SCRUB: max steps away from the teacher on D_f, min steps toward it on D_r."""

    name = "scrub"
    #: supreme tune's search space: Kurmanji et al. (NeurIPS 2023): the rate, the max-steps and the
    #: KL weight.
    search_space = {"lr": Search(1e-5, 1e-2, log=True), "max_steps": Search(1, 5),
                    "kl_weight": Search(0.1, 2.0)}
    scenarios = frozenset({"fullclass", "subclass", "random"})

    class Config(ComponentConfig):
        epochs: Epochs = Field(10, description="epochs of min steps over D_r")
        max_steps: EpochCount = Field(3, description="the first epochs also take max steps on D_f")
        lr: LearningRate = Field(5e-4, description="Adam learning rate")
        weight_decay: WeightDecay = Field(0.1, description="Adam (coupled L2) weight decay")
        lr_decay_epochs: tuple[EpochCount, ...] = Field(
            (5, 8, 9), max_length=10_000, description="lr ×decay after these"
        )
        lr_decay: Decay = 0.1
        temperature: PositiveScale = Field(2.0, description="KL temperature T")
        kl_weight: Scale = Field(0.5, description="α: weight of the KL on D_r")
        ce_weight: Scale = Field(1.0, description="γ: weight of the CE on D_r")
        smoothing: Scale = Field(0.0, description="weight of Σ‖θ_s−θ_t‖_F (reference 0.5)")
        batch_size: BatchSize | None = Field(None, description="D_r batch; default: scenario's")
        forget_batch_size: BatchSize | None = Field(
            None, description="D_f batch; default: scenario's"
        )

    config: Config

    def learning_rate(self, epoch: int) -> float:
        """The lr of 1-based ``epoch``: decayed once for every decay epoch already passed."""
        cfg = self.config
        return cfg.lr * cfg.lr_decay ** sum(1 for m in cfg.lr_decay_epochs if m < epoch)

    def unlearn(self, model: nn.Module, data: UnlearnData, fabric: Fabric) -> nn.Module:
        from supreme.api import track

        from supreme_methods._training import (
            adam,
            prepare,
            sync_buffers,
            trainable,
        )

        cfg = self.config
        student, optimizer = prepare(
            fabric, model, lambda m: adam(trainable(m), cfg.lr, cfg.weight_decay)
        )
        forget = data.loader("forget", batch_size=cfg.forget_batch_size)
        retain = data.loader("retain", batch_size=cfg.batch_size)
        max_epochs = min(cfg.max_steps, cfg.epochs)
        total = cfg.epochs * len(retain) + max_epochs * len(forget)
        with track(total, "scrub") as advance:
            for epoch in range(1, cfg.epochs + 1):
                for group in optimizer.param_groups:
                    group["lr"] = self.learning_rate(epoch)
                if epoch <= cfg.max_steps:
                    self.max_epoch(student, data.original, forget, optimizer, fabric, advance)
                self.min_epoch(student, data.original, retain, optimizer, fabric, advance)
        return sync_buffers(fabric, student)

    def _regulariser(self, student: nn.Module, teacher: nn.Module) -> torch.Tensor | float:
        weight = self.config.smoothing
        return weight * parameter_distance(student, teacher) if weight else 0.0

    def max_epoch(self, student: nn.Module, teacher: nn.Module, forget: Batches,
                  optimizer: torch.optim.Optimizer, fabric: Fabric,
                  advance: Callable[[int], None] = _ignore) -> None:
        """One pass over D_f of steps that *increase* the KL to the teacher."""
        import torch

        student.train()
        for x, _ in forget:
            with torch.no_grad():
                target = teacher(x)
            loss = -distill_kl(student(x), target, self.config.temperature)
            _step(fabric, optimizer, loss + self._regulariser(student, teacher))
            advance(1)

    def min_epoch(self, student: nn.Module, teacher: nn.Module, retain: Batches,
                  optimizer: torch.optim.Optimizer, fabric: Fabric,
                  advance: Callable[[int], None] = _ignore) -> None:
        """One pass over D_r of steps on γ·CE + α·KL (stay close to the teacher)."""
        import torch
        import torch.nn.functional as F

        cfg = self.config
        student.train()
        for x, y in retain:
            with torch.no_grad():
                target = teacher(x)
            out = student(x)
            loss = (cfg.ce_weight * F.cross_entropy(out, y)
                    + cfg.kl_weight * distill_kl(out, target, cfg.temperature))
            _step(fabric, optimizer, loss + self._regulariser(student, teacher))
            advance(1)


def _step(fabric: Fabric, optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    optimizer.zero_grad(set_to_none=True)
    fabric.backward(loss)
    optimizer.step()
