"""Random labelling (RL, "Amnesiac" unlearning): train on D_f with wrong labels plus D_r.

Every forget sample gets a label drawn uniformly from the classes other than the one to
forget (full-class, sub-class) or other than its own label (random samples); the model is
then trained on these relabelled samples together with the whole retain set. Graves et
al., "Amnesiac Machine Learning" (AAAI 2021). Reference code: SUPREME
``methods/baselines/random_labeling.py`` (``fit_one_unlearning_cycle``).

Differences from the reference: labels are drawn from the method's seeded generator
(identical on every rank) in one vectorised draw, instead of Python's ``random`` on rank 0
and a broadcast; for random samples the label is drawn directly from the C−1 other
classes (the same distribution as the reference's redraw-until-different loop); no
per-epoch evaluation in the timed region (§9-28).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field
from supreme.contracts import ComponentConfig, UnlearningMethod
from supreme.contracts.search import Search
from supreme.contracts.types import BatchSize, Epochs, LearningRate

if TYPE_CHECKING:
    import torch
    from lightning.fabric import Fabric
    from supreme.contracts import UnlearnData
    from torch import nn


def other_labels(
    excluded: torch.Tensor, num_classes: int, generator: torch.Generator
) -> torch.Tensor:
    """One label per entry of ``excluded``, uniform over the ``num_classes − 1`` others."""
    import torch

    if num_classes < 2:
        raise ValueError("random labelling needs at least two classes")
    draw = torch.randint(0, num_classes - 1, excluded.shape, generator=generator)
    return draw + (draw >= excluded).long()


class RandomLabeling(UnlearningMethod):
    """RL: train on the forget set with random wrong labels together with the retain set."""

    name = "random_labeling"
    #: supreme tune's search space: Graves et al. (AAAI 2021) fine-tune briefly at a small rate.
    search_space = {"lr": Search(1e-5, 1e-2, log=True), "epochs": Search(1, 5)}
    scenarios = frozenset({"fullclass", "subclass", "random"})

    class Config(ComponentConfig):
        epochs: Epochs = Field(3, description="passes over relabelled D_f ∪ D_r")
        lr: LearningRate = Field(1e-4, description="Adam learning rate")
        batch_size: BatchSize = 128

    config: Config

    def relabelled_forget(self, data: UnlearnData) -> torch.Tensor:
        """The random labels of D_f (drawn from ``data.generator``)."""
        import torch

        forget = data.forget
        if data.forget_class is None:  # random samples: anything but the sample's own label
            excluded = forget.labels
        else:
            excluded = torch.full_like(forget.labels, data.forget_class)
        return other_labels(excluded, data.num_classes, data.generator)

    def unlearn(self, model: nn.Module, data: UnlearnData, fabric: Fabric) -> nn.Module:
        from supreme.contracts import ImageTensors

        from supreme_methods._training import (
            adam,
            cross_entropy,
            prepare,
            train_epochs,
        )

        cfg = self.config
        relabelled = data.forget.with_labels(self.relabelled_forget(data))
        mixed = ImageTensors.concat([relabelled, data.retain])
        student, optimizer = prepare(fabric, model, lambda m: adam(m.parameters(), cfg.lr))
        loader = data.loader(mixed, batch_size=cfg.batch_size)
        train_epochs(fabric, student, optimizer, loader, cross_entropy, epochs=cfg.epochs,
                     description="random_labeling")
        return student
