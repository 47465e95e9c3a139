"""Bad Teacher (BadT): distil from a competent teacher on D_r and an incompetent one on D_f.

The student (M_o) is trained to match the frozen original model on a random 30 % of the
retain set and a randomly initialised network of the same architecture on the forget set,
with a temperature-scaled KL divergence. Chundawat et al., "Can Bad Teaching Induce
Forgetting? Unlearning in Deep Networks Using an Incompetent Teacher" (AAAI 2023).
Reference code: SUPREME ``methods/state_of_the_art/bad_teacher.py``.

Differences from the reference:

* the KL divergence is the per-sample KL averaged over samples (``batchmean``); the
  reference used PyTorch's default element mean, which divides by the number of classes
  too (§9-13). ``legacy_kl = true`` restores it for parity (with Adam a constant loss
  factor changes little, Adam being invariant to the loss scale up to its ε);
* the incompetent teacher is whatever the model spec's factory builds (``data.new_model()``),
  seeded from the method's generator; the reference's ViT teacher was a pretrained
  backbone with a random head (§9-13);
* the retain subset comes from the seeded generator (identical on every rank) instead of
  Python's ``random`` on rank 0 and a broadcast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field
from supreme.contracts import ComponentConfig, UnlearningMethod
from supreme.contracts.search import Search
from supreme.contracts.types import BatchSize, Epochs, Fraction, LearningRate, PositiveScale

if TYPE_CHECKING:
    import torch
    from lightning.fabric import Fabric
    from supreme.contracts import UnlearnData
    from torch import nn


def teacher_targets(
    competent: torch.Tensor, incompetent: torch.Tensor, is_forget: torch.Tensor, temperature: float
) -> torch.Tensor:
    """Per sample, the incompetent teacher's soft labels on D_f, the competent one's on D_r."""
    import torch

    flag = is_forget.to(competent.dtype).unsqueeze(1)
    good = torch.softmax(competent / temperature, dim=1)
    bad = torch.softmax(incompetent / temperature, dim=1)
    return flag * bad + (1 - flag) * good


def distillation_loss(
    student: torch.Tensor, target: torch.Tensor, temperature: float, legacy: bool = False
) -> torch.Tensor:
    """KL(target ‖ softmax(student/T)) per sample, averaged over samples (÷ C if legacy)."""
    import torch.nn.functional as F

    loss = F.kl_div(F.log_softmax(student / temperature, dim=1), target, reduction="batchmean")
    return loss / target.shape[1] if legacy else loss


class BadTeacher(UnlearningMethod):
    """BadT: distil a random teacher on the forget set and M_o on a retain subset."""

    name = "bad_teacher"
    #: supreme tune's search space: Chundawat et al. (AAAI 2023): the rate, the temperature and the
    #: retain share.
    search_space = {"lr": Search(1e-5, 1e-2, log=True), "temperature": Search(0.5, 8.0, log=True),
                    "retain_fraction": Search(0.05, 1.0)}
    scenarios = frozenset({"fullclass", "subclass", "random"})

    class Config(ComponentConfig):
        epochs: Epochs = 1
        lr: LearningRate = Field(1e-4, description="Adam learning rate")
        batch_size: BatchSize = 256
        temperature: PositiveScale = Field(1.0, description="KL temperature T")
        retain_fraction: Fraction = Field(0.3, description="share of D_r distilled")
        legacy_kl: bool = Field(False, description="reference element-mean KL (÷ classes)")

    config: Config

    def unlearn(self, model: nn.Module, data: UnlearnData, fabric: Fabric) -> nn.Module:
        import torch
        from supreme.contracts import ImageTensors

        from supreme_methods._training import adam, frozen, prepare, train_epochs

        cfg = self.config
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(data.draw_seed())
            incompetent = frozen(fabric.to_device(data.new_model()))
        competent = data.original

        keep = int(cfg.retain_fraction * len(data.retain))
        order = torch.randperm(len(data.retain), generator=data.generator)
        subset = data.retain.subset(order[:keep])
        # the label column carries the teacher flag: 1 = forget (incompetent), 0 = retain
        mixed = ImageTensors.concat([
            data.forget.with_labels(torch.ones(len(data.forget), dtype=torch.long)),
            subset.with_labels(torch.zeros(keep, dtype=torch.long)),
        ])

        def distil(student: nn.Module, x: torch.Tensor, is_forget: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                target = teacher_targets(competent(x), incompetent(x), is_forget, cfg.temperature)
            return distillation_loss(student(x), target, cfg.temperature, cfg.legacy_kl)

        student, optimizer = prepare(fabric, model, lambda m: adam(m.parameters(), cfg.lr))
        loader = data.loader(mixed, batch_size=cfg.batch_size)
        train_epochs(fabric, student, optimizer, loader, distil, epochs=cfg.epochs,
                     description="bad_teacher")
        return student
