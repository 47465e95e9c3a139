"""``resnet18``: the CIFAR-style ResNet18 trained from scratch (He et al., 2016).

"Deep Residual Learning for Image Recognition", CVPR 2016, in the small-image form used by
the reference system (reference §3.1): a 3x3 stride-1 stem with no max-pool, four stages of two
BasicBlocks with widths w, 2w, 4w, 8w (w = 64 in the reference) and first-block strides
1, 2, 2, 2, global average pooling and a linear head. PyTorch's default initialisation.

Deliberate differences: the input channel count follows the dataset (1 for greyscale
digits) and the base width is configurable (``width``) for fast CPU tests; with the defaults
the network is the reference one. Adaptive pooling makes it work on any input of at least
8x8 pixels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field
from supreme.contracts import ComponentConfig, ModelSpec, Recipe

if TYPE_CHECKING:
    from torch import nn


class ResNet18(ModelSpec):
    """CIFAR-style ResNet18 (3x3 stem, no max-pool), trained from scratch."""

    name = "resnet18"
    family = "resnet"
    input_size = None
    normalisation = "dataset"
    # Spec §3.3, ResNet column; epochs and milestones come from each dataset's table.
    default_recipe = Recipe.model_validate(
        {
            "optimizer": "sgd",
            "lr": 0.1,
            "momentum": 0.9,
            "weight_decay": 5e-4,
            "warmup_epochs": 1,
            "schedule": "multistep",
            "gamma": 0.2,
            "batch_size": 64,
        }
    )

    class Config(ComponentConfig):
        width: int = Field(64, ge=1, le=1024, description="channels of the first stage (64 = reference)")

    def create(self, num_classes: int, in_channels: int, image_size: int) -> nn.Module:
        from supreme_vision.models.resnet_net import CifarResNet

        return CifarResNet(
            num_classes=num_classes,
            in_channels=in_channels,
            width=self.config.width,  # type: ignore[attr-defined]
            blocks=(2, 2, 2, 2),
        )
