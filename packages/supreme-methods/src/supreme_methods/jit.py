"""JiT: zero-shot unlearning by making the model locally smooth (Lipschitz) around D_f.

For every forget batch, the model's output change under small Gaussian input
perturbations, divided by the input change, is summed over the batch and averaged over
``noise_samples`` perturbations; one SGD step minimises that Lipschitz estimate. Only
D_f is used. Foster et al., "Zero-shot Machine Unlearning at Scale via Lipschitz
Regularization" (2024). Reference code: SUPREME ``methods/state_of_the_art/jit.py``.

Differences from the reference: the reference compared a train-mode forward of the
clean batch (BatchNorm with batch statistics) with an eval-mode forward of the perturbed
batch, so even zero noise gave a non-zero estimate for BatchNorm networks (§9-12). We
run both forwards in the same mode (``mode = "eval"`` by default: BatchNorm uses its
running statistics, which the forget data then do not update; ``"train"`` uses batch
statistics for both). The perturbed forward uses the current weights without a copy.
Under several processes the batch sum is scaled by the world size so that DDP's gradient
average equals the single-process gradient of the global batch sum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field
from supreme.contracts import ComponentConfig, UnlearningMethod
from supreme.contracts.search import Search
from supreme.contracts.types import BatchSize, Epochs, LearningRate, PositiveScale

if TYPE_CHECKING:
    import torch
    from lightning.fabric import Fabric
    from supreme.contracts import UnlearnData
    from torch import nn


def lipschitz_estimate(
    model: nn.Module, x: torch.Tensor, out: torch.Tensor, noise: torch.Tensor
) -> torch.Tensor:
    """Σ_i ‖f(x_i) − f(x'_i)‖ / ‖x_i − x'_i‖ with x' = clamp(x + noise, [min x, max x])."""
    import torch

    perturbed = torch.clamp(x + noise, x.min(), x.max())
    with torch.no_grad():
        out_perturbed = model(perturbed)
    num = torch.linalg.vector_norm((out - out_perturbed).flatten(1), dim=1)
    den = torch.linalg.vector_norm((x - perturbed).flatten(1), dim=1).clamp_min(1e-12)
    return (num / den).sum().abs()


class JiT(UnlearningMethod):
    """JiT: Lipschitz regularisation of the model around the forget samples (zero-shot)."""

    name = "jit"
    #: supreme tune's search space: Foster et al. (JiT): the rate η and the perturbation σ.
    search_space = {"lr": Search(1e-6, 1e-2, log=True), "noise_std": Search(1e-3, 1.0, log=True)}
    scenarios = frozenset({"fullclass", "subclass", "random"})

    class Config(ComponentConfig):
        epochs: Epochs = 1
        lr: LearningRate = Field(1e-3, description="SGD learning rate (no momentum)")
        noise_std: PositiveScale = Field(0.1, description="σ of the input perturbation")
        noise_samples: int = Field(10, ge=1, le=10_000, description="perturbations per batch")
        mode: Literal["eval", "train"] = Field(
            "eval", description="BatchNorm mode of both forwards"
        )
        batch_size: BatchSize | None = Field(None, description="default: the scenario's batch size")

    config: Config

    def unlearn(self, model: nn.Module, data: UnlearnData, fabric: Fabric) -> nn.Module:
        import torch
        from supreme.api import track, unwrap

        from supreme_methods._training import prepare, sgd, sync_buffers

        cfg = self.config
        for module in model.modules():  # autograd needs the activations it saved
            if hasattr(module, "inplace"):
                setattr(module, "inplace", False)  # noqa: B010
        student, optimizer = prepare(fabric, model, lambda m: sgd(m.parameters(), cfg.lr))
        plain = unwrap(student)  # perturbed forwards need no gradient synchronisation
        forget = data.loader("forget", batch_size=cfg.batch_size)
        noise_rng = torch.Generator().manual_seed(data.draw_seed() + fabric.global_rank)
        with track(cfg.epochs * len(forget), "jit") as advance:
            for _ in range(cfg.epochs):
                student.train(cfg.mode == "train")
                for x, _ in forget:
                    out = student(x)
                    estimates = [
                        lipschitz_estimate(
                            plain, x, out,
                            cfg.noise_std * torch.randn(x.shape, generator=noise_rng)
                            .to(x.device, non_blocking=True),  # no host-device sync
                        )
                        for _ in range(cfg.noise_samples)
                    ]
                    loss = torch.stack(estimates).mean() * fabric.world_size
                    optimizer.zero_grad(set_to_none=True)
                    fabric.backward(loss)
                    optimizer.step()
                    advance(1)
        return sync_buffers(fabric, student)
