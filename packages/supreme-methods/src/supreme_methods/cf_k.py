"""CF-k (catastrophic forgetting of the last k layers): fine-tune only the last k layers on D_r.

Every layer but the last k is frozen (parameters and BatchNorm statistics: the frozen
part runs in eval mode), and the last k layers are fine-tuned on the retain set, so the
forget set is forgotten only through catastrophic forgetting in the top of the network.
Goel et al., "Towards Adversarial Evaluations for Inexact Machine Unlearning", arXiv
2201.06640 (2022). Authors' code: ``shash42/Evaluating-Inexact-Unlearning``; the
re-implementation in Kurmanji et al.'s ``meghdadk/SCRUB`` notebooks (CF-k on ResNet =
fine-tune the last residual stage ``layer4``) was the one studied.

"The last k layers" is defined in :mod:`supreme_methods._layers`: child modules holding
parameters, in registration order, looking inside ``Sequential``/``ModuleList``
containers. On the CIFAR ResNet18 a layer is the stem convolution, the stem BatchNorm,
one of the eight residual blocks or the classifier, and the default k = 3 trains the last
stage (two blocks) and the classifier; on a ViT the layers are the patch embedding, each
transformer block, the final LayerNorm and the classifier.

Differences from the reference: the SCRUB re-implementation unfroze ``layer4`` only,
leaving the classifier frozen, and trained with plain SGD (no momentum) plus an ℓ2 pull
towards M_o, in eval mode throughout; here k counts the classifier as a layer and the
optimiser is FT's (SGD with momentum 0.9 and weight decay 5e-4, constant lr), so CF-k
differs from ``finetune`` only in which layers learn. The trained layers run in train
mode (their BatchNorm statistics follow D_r).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import Field
from supreme.contracts import ComponentConfig, UnlearningMethod
from supreme.contracts.search import Search
from supreme.contracts.types import BatchSize, Epochs, LearningRate, Momentum, WeightDecay

if TYPE_CHECKING:
    from lightning.fabric import Fabric
    from supreme.contracts import UnlearnData
    from torch import nn

#: The most layers k may name (a bound for the config; the model's count is checked at run time).
MAX_LAYERS = 100_000


class LastLayers(UnlearningMethod):
    """Base of CF-k and EU-k: train the last k layers on D_r, everything else frozen."""

    scenarios = frozenset({"fullclass", "subclass", "random"})
    #: EU-k re-initialises the last k layers before training them.
    reinitialise: ClassVar[bool] = False

    class Config(ComponentConfig):
        k: int = Field(3, ge=1, le=MAX_LAYERS, description="how many layers, from the output, learn")
        epochs: Epochs | None = Field(10, description="passes over D_r; None: M_o's recipe epochs")
        lr: LearningRate = Field(0.01, description="SGD learning rate (constant)")
        momentum: Momentum = 0.9
        weight_decay: WeightDecay = 5e-4
        batch_size: BatchSize | None = Field(None, description="default: the scenario's batch size")

    config: Config

    def epochs(self, data: UnlearnData) -> int:
        """The configured epochs, or M_o's when unset."""
        return self.config.epochs or data.recipe.epochs

    def unlearn(self, model: nn.Module, data: UnlearnData, fabric: Fabric) -> nn.Module:
        from supreme.api import unwrap

        from supreme_methods._layers import freeze_all_but, last_layers, restore_flags, train_only
        from supreme_methods._training import cross_entropy, prepare, sgd, train_epochs, trainable

        cfg = self.config
        plain = unwrap(model)
        last = last_layers(plain, cfg.k, self.name)
        if self.reinitialise:
            self.reset(last, data)
        flags = freeze_all_but(plain, last)
        student, optimizer = prepare(
            fabric, plain,
            lambda m: sgd(trainable(m), cfg.lr, cfg.momentum, cfg.weight_decay),
        )
        train_epochs(fabric, student, optimizer, data.loader("retain", batch_size=cfg.batch_size),
                     cross_entropy, epochs=self.epochs(data), description=self.name,
                     on_epoch=lambda _: train_only(student, last))
        restore_flags(plain, flags)
        return student

    def reset(self, last: list[tuple[str, nn.Module]], data: UnlearnData) -> None:
        """Give the ``last`` layers the parameters and buffers of a freshly built network."""
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(data.draw_seed())
            fresh = data.new_model()
        with torch.no_grad():
            for name, module in last:
                module.load_state_dict(fresh.get_submodule(name).state_dict())


class CFK(LastLayers):
    """CF-k: fine-tune only the last k layers on the retain set, the rest frozen."""

    name = "cf_k"
    #: supreme tune's search space: Goel et al.: the number k of re-trained last layers and the
    #: rate.
    search_space = {"k": Search(1, 5), "lr": Search(1e-3, 1e-1, log=True), "epochs": Search(1, 10)}
