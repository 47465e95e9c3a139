"""The shared body of the SSD family (SSD, LFSSD, SSD-Det, LFSSD-Det, ASSD).

Each member is a subclass that sets its criterion, whether importances are per sample,
and its reference α/λ table. One pass over D_f gives the forget importance F, one pass
over D = D_r ∪ D_f the full importance O; every parameter element with F > α·O is
multiplied by min(1, (λ·O/F)^exponent).

O depends only on M_o and D, not on the forget target, so it is computed through
``data.cache`` once per (M_o, criterion, importance settings) and reused across targets
and methods (the reference recomputed it for every target, §9-29).

No torch at module level: imported when the plugin loads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field
from supreme.contracts import ComponentConfig, UnlearningMethod
from supreme.contracts.types import BatchSize, PositiveScale, Scale

from supreme_methods._context import ContextRule, resolve

if TYPE_CHECKING:
    from lightning.fabric import Fabric
    from supreme.contracts import UnlearnData
    from torch import nn

    from supreme_methods._importance import Importance


Criterion = Literal["ce", "l2"]


class DampeningRule(ContextRule):
    """α (selection threshold) and λ (dampening constant) for matching cells."""

    alpha: PositiveScale | None = None
    dampening: Scale | None = None


#: §4.4 of the reference spec, SSD and SSD-Det column (default α 10, λ 1).
SSD_TABLE = (
    DampeningRule(alpha=10.0, dampening=1.0),
    DampeningRule(scenario="fullclass", datasets=("pins", "pinsfacerecognition"), alpha=50.0,
                  dampening=0.1),
    DampeningRule(scenario="subclass", datasets=("cifar20",), models=("vit",), alpha=25.0),
)
#: LFSSD and LFSSD-Det column.
LFSSD_TABLE = (
    DampeningRule(alpha=10.0, dampening=1.0),
    DampeningRule(scenario="fullclass", datasets=("cifar20",), alpha=5.0),
    DampeningRule(scenario="random", alpha=3.5),
)


class DampeningConfig(ComponentConfig):
    """Hyperparameters shared by the SSD family."""

    alpha: PositiveScale | None = Field(None, description="selection threshold α; None = by_context")
    dampening: Scale | None = Field(None, description="dampening constant λ; None = by_context")
    exponent: PositiveScale = Field(1.0, description="exponent of λ·O/F")
    lower_bound: PositiveScale = Field(1.0, description="cap of the multiplicative factor")
    batch_size: BatchSize | None = Field(None, description="default: the scenario's batch size")
    by_context: tuple[DampeningRule, ...] = SSD_TABLE


class PerSampleConfig(DampeningConfig):
    chunk_size: BatchSize | None = Field(
        16, description="samples per vmapped gradient call (memory bound); None: a batch"
    )


class SynapticDampening(UnlearningMethod):
    """Base class of the SSD family (not registered itself)."""

    criterion: ClassVar[Criterion] = "ce"
    per_sample: ClassVar[bool] = False
    Config = DampeningConfig
    config: DampeningConfig

    def __init__(self, config: ComponentConfig | None = None) -> None:
        super().__init__(config)
        #: α and λ used by the last call of ``unlearn`` (for reports and tests).
        self.used: dict[str, float] = {}

    def hyperparameters(self, data: UnlearnData) -> dict[str, Any]:
        return resolve(self.config, data)

    def importances(self, module: nn.Module, data: UnlearnData) -> tuple[Importance, Importance]:
        """(F over D_f, O over D) at the current weights of ``module`` (M_o)."""
        from supreme_methods import _importance as imp

        batch = self.config.batch_size or data.batch_size
        if self.per_sample:
            chunk = getattr(self.config, "chunk_size", None)

            def full() -> Importance:
                return imp.per_sample_importance(module, data.train, data, self.criterion,
                                                 batch, chunk, "importance over D")

            o = data.cache("ssd_importance", {"criterion": self.criterion, "per_sample": True},
                           full)
            f = imp.per_sample_importance(module, data.forget, data, self.criterion, batch, chunk,
                                          "importance over D_f")
            return f, o

        forget_loader = data.loader("forget", batch_size=batch)
        order_seed = data.draw_seed()  # drawn on every call, cached or not

        def full_batches() -> Importance:
            train = data.train
            ordered = train.subset(imp.canonical_order(train))
            loader = data.loader(ordered, batch_size=batch, seed=order_seed)
            return imp.batch_importance(module, loader, self.criterion, data, len(loader),
                                        "importance over D")

        key = {"criterion": self.criterion, "per_sample": False, "batch_size": batch,
               "order_seed": order_seed, "world_size": data.world_size}
        o = data.cache("ssd_importance", key, full_batches)
        f = imp.batch_importance(module, forget_loader, self.criterion, data,
                                 len(forget_loader), "importance over D_f")
        return f, o

    def threshold(self, forget: Importance, full: Importance, data: UnlearnData,
                  alpha: float) -> float:
        """α used for selection (ASSD overrides this)."""
        return alpha

    def unlearn(self, model: nn.Module, data: UnlearnData, fabric: Fabric) -> nn.Module:
        from supreme.api import unwrap

        from supreme_methods._importance import dampen

        values = self.hyperparameters(data)
        module = unwrap(model)
        was_training = module.training
        device = next(module.parameters()).device
        forget, full = self.importances(module, data)
        full = {n: v.to(device) for n, v in full.items()}
        alpha = self.threshold(forget, full, data, values["alpha"])
        self.used = {"alpha": alpha, "dampening": values["dampening"]}
        dampen(module, forget, full, alpha, values["dampening"], self.config.exponent,
               self.config.lower_bound)
        module.zero_grad(set_to_none=True)
        module.train(was_training)
        return module
