"""UNSIR: learn error-maximising noise for the forget class, impair with it, then repair.

1. Noise images N (in normalised input space) are optimised so that the frozen model
   misclassifies them as the forget class: minimise −CE(M(N), y_f) + λ·mean_n ‖N_n‖².
2. Impair: one epoch of CE on the noise (repeated, labelled y_f) plus a bounded number of
   retain samples per class.
3. Repair: one epoch of CE on those retain samples alone.

Tarun et al., "Fast Yet Effective Machine Unlearning" (IEEE TNNLS 2023). Reference code:
SUPREME ``methods/state_of_the_art/unsir.py``. Full-class and sub-class only; the random
scenario has no forget class to impair, and raises a clear error.

Differences from the reference:

* sub-class retain selection (§9-3): the reference grouped samples by *fine* label while
  iterating coarse ids, so it drew from the wrong classes and, for some targets, fed the
  forgotten sub-class itself into impair and repair. We take the first ``retain_per_class``
  samples (dataset order) of every label of D_r — which never contains the forgotten
  sub-class — so the forget super-class keeps its other sub-classes;
* the noise resolution is the model's input size (``noise_size = None``), which is what
  the reference's per-model table (32 for ResNet18, 224 for ViT) encodes;
* the noise initialisation comes from the method's seeded generator (identical on every
  rank); each rank optimises the same noise, so no broadcast is needed;
* no evaluation after impair and repair inside the timed region (§9-28).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pydantic import Field
from supreme.contracts import ComponentConfig, UnlearningMethod
from supreme.contracts.search import Search
from supreme.contracts.types import BatchSize, LearningRate, Scale, StepCount

from supreme_methods._context import ContextRule, resolve

if TYPE_CHECKING:
    import torch
    from lightning.fabric import Fabric
    from supreme.contracts import ImageTensors, UnlearnData
    from torch import nn


class UNSIRRule(ContextRule):
    """UNSIR values for matching cells."""

    noise_iterations: StepCount | None = None


UNSIR_TABLE = (
    UNSIRRule(noise_iterations=25),
    UNSIRRule(scenario="subclass", noise_iterations=250),
)


def first_per_class(tensors: ImageTensors, per_class: int) -> torch.Tensor:
    """Indices of the first ``per_class`` samples of every label, in dataset order."""
    import torch

    picks = [
        (tensors.labels == label).nonzero().flatten()[:per_class]
        for label in torch.unique(tensors.labels).tolist()
    ]
    return torch.sort(torch.cat(picks)).values


class UNSIR(UnlearningMethod):
    """UNSIR: error-maximising noise for the forget class, one impair and one repair epoch."""

    name = "unsir"
    #: supreme tune's search space: Tarun et al.: the impair and repair rates and the noise rate.
    search_space = {"impair_lr": Search(1e-5, 1e-2, log=True), "repair_lr": Search(1e-5, 1e-2, log=True),
                    "noise_lr": Search(1e-3, 1.0, log=True)}
    scenarios = frozenset({"fullclass", "subclass"})

    class Config(ComponentConfig):
        noise_iterations: StepCount | None = Field(
            None, description="noise steps; None = by_context (25, sub-class 250)"
        )
        noise_count: int = Field(32, ge=1, le=100_000, description="distinct noise images")
        noise_size: int | None = Field(None, ge=1, le=4096, description="side; None = model input size")
        noise_lr: LearningRate = Field(0.1, description="Adam lr of the noise")
        noise_l2: Scale = Field(0.1, description="weight of mean_n ‖N_n‖²")
        noise_repeats: int = Field(
            80, ge=1, le=1_000_000, description="copies of each noise image in impair"
        )
        retain_per_class: int = Field(
            500, ge=1, le=100_000_000, description="retain samples per label"
        )
        impair_lr: LearningRate = 1e-4
        impair_batch_size: BatchSize = 32
        repair_lr: LearningRate = 1e-4
        repair_batch_size: BatchSize = 128
        by_context: tuple[UNSIRRule, ...] = UNSIR_TABLE

    config: Config

    def check_scenario(self, data: UnlearnData) -> int:
        from supreme.errors import UsageError

        if data.scenario not in self.scenarios or data.forget_class is None:
            raise UsageError(
                f"unsir does not support the {data.scenario!r} scenario: its noise is learnt "
                "for one forget class, and random-sample forgetting has none",
                "Use unsir with fullclass or subclass, or drop it from `methods` for random.",
            )
        return data.forget_class

    def learn_noise(self, model: nn.Module, data: UnlearnData, iterations: int) -> torch.Tensor:
        """Error-maximising noise for the forget class, optimised against frozen ``model``."""
        import torch
        import torch.nn.functional as F

        cfg = self.config
        forget_class = self.check_scenario(data)
        channels, side, _ = data.input_shape
        side = cfg.noise_size or side
        shape = (cfg.noise_count, channels, side, side)
        noise = torch.randn(shape, generator=data.generator).to(data.device)
        noise.requires_grad_(True)
        target = torch.full((cfg.noise_count,), forget_class, device=noise.device)
        optimizer = torch.optim.Adam([noise], lr=cfg.noise_lr)
        was_training = model.training
        model.eval()
        for _ in range(iterations):
            loss = -F.cross_entropy(model(noise), target)
            loss = loss + cfg.noise_l2 * noise.pow(2).sum(dim=(1, 2, 3)).mean()
            (noise.grad,) = torch.autograd.grad(loss, [noise])
            optimizer.step()
        model.train(was_training)
        return noise.detach()

    def unlearn(self, model: nn.Module, data: UnlearnData, fabric: Fabric) -> nn.Module:
        from supreme.api import unwrap

        from supreme_methods._training import (
            adam,
            cross_entropy,
            prepare,
            restart,
            train_epochs,
        )

        cfg = self.config
        forget_class = self.check_scenario(data)
        iterations = resolve(cfg, data)["noise_iterations"]
        noise = self.learn_noise(unwrap(model), data, iterations)
        retain = data.retain.subset(first_per_class(data.retain, cfg.retain_per_class))

        student, optimizer = prepare(fabric, model, lambda m: adam(m.parameters(), cfg.impair_lr))
        mixed = NoiseAndImages(noise, cfg.noise_repeats, forget_class, retain,
                               cfg.impair_batch_size, data)
        train_epochs(fabric, student, optimizer, mixed, cross_entropy, epochs=1,
                     description="unsir impair")
        restart(optimizer, cfg.repair_lr)  # the reference's repair uses a new Adam
        repair = data.loader(retain, batch_size=cfg.repair_batch_size)
        train_epochs(fabric, student, optimizer, repair, cross_entropy, epochs=1,
                     description="unsir repair")
        return student


class NoiseAndImages:
    """Shuffled batches mixing ``repeats`` copies of noise inputs (one label) with images.

    Like ``UnlearnData.loader``: the same permutation on every rank
    (from the method's generator), each rank taking its share of every global batch.
    Host-to-device copies do not block (no synchronisation per batch).
    """

    def __init__(self, noise: torch.Tensor, repeats: int, noise_label: int, images: ImageTensors,
                 batch_size: int, data: UnlearnData) -> None:
        self.noise, self.noise_label, self.images = noise, noise_label, images
        self.noise_total = repeats * len(noise)
        self.batch_size, self.data = batch_size, data
        self.seed = data.draw_seed()

    def __len__(self) -> int:
        return -(-(self.noise_total + len(self.images)) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        import torch
        from supreme.api import rank_share

        device = self.data.device
        rank, world = self.data.rank, self.data.world_size
        total = self.noise_total + len(self.images)
        order = torch.randperm(total, generator=torch.Generator().manual_seed(self.seed))
        for b in range(len(self)):
            index = rank_share(order[b * self.batch_size:(b + 1) * self.batch_size], order,
                               rank, world)
            is_noise = index < self.noise_total
            noise_idx = (index[is_noise] % len(self.noise)).to(self.noise.device, non_blocking=True)
            image_idx = index[~is_noise] - self.noise_total
            x_img = self.data.prepare(torch.as_tensor(self.images.images[image_idx]))
            x = torch.cat([self.noise[noise_idx].to(device, non_blocking=True), x_img])
            y = torch.cat([
                torch.full((len(noise_idx),), self.noise_label, dtype=torch.long),
                self.images.labels[image_idx],
            ]).to(device, non_blocking=True)
            yield x, y
