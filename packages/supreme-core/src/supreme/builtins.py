"""The core's own plugin: the two reference rows, registered through the public hooks.

``original`` is M_o itself and ``retrain`` is M_r, a model trained from scratch on the
retain set D_r with exactly M_o's recipe (the gold standard every method is compared to).
The pipeline produces both once per cell and shares them across methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from supreme.contracts import ORIGINAL, RETRAIN, UnlearningMethod
from supreme.hookspecs import hookimpl

if TYPE_CHECKING:
    from lightning.fabric import Fabric
    from torch import nn

    from supreme.contracts import UnlearnData


class Original(UnlearningMethod):
    """Reference row: the original model M_o, unchanged (no unlearning)."""

    name = ORIGINAL
    reference = ORIGINAL

    def unlearn(self, model: nn.Module, data: UnlearnData, fabric: Fabric) -> nn.Module:
        return model


class Retrain(UnlearningMethod):
    """Reference row: M_r, retrained from scratch on D_r with M_o's recipe."""

    name = RETRAIN
    reference = RETRAIN

    def unlearn(self, model: nn.Module, data: UnlearnData, fabric: Fabric) -> nn.Module:
        # A fresh initialisation (seeded by s_u), trained with M_o's recipe and augmentation.
        return data.fit(data.new_model(), "retain", augment=True, description="retrain M_r")


@hookimpl
def supreme_register_methods() -> list[type[UnlearningMethod]]:
    return [Original, Retrain]
