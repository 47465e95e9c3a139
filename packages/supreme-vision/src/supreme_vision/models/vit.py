"""``vit`` and ``vit_tiny``: Vision Transformers built with timm.

Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for Image Recognition at
Scale", ICLR 2021. ``vit`` is ViT-B/16 at 224x224 with the original ImageNet-21k pre-trained,
ImageNet-1k fine-tuned weights (timm tag ``orig_in21k_ft_in1k``, the weights of the
reference's ``google/vit-base-patch16-224``), classifying the CLS token after the final
LayerNorm with a freshly initialised linear head (reference §3.2). Weights are read from a local
file or the Hugging Face cache, never downloaded at run time.

``vit_tiny`` is a small ViT (ViT-Ti widths, patch 4) on 32x32 inputs, randomly initialised,
for CPU tests and small offline experiments.

Deliberate differences: inputs are the dataset images resized whole to 224 (the reference
resizes to 256 and center-crops 224), and training augmentation is a random crop with
2-pixel padding at the native resolution plus a horizontal flip (the reference's random
224 crop of a 256 image shifts by the same fraction). Normalisation uses ImageNet
statistics as the reference does (timm's weights were trained with mean = std = 0.5).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, model_validator
from supreme.contracts import Augment, ComponentConfig, ModelSpec, Recipe

if TYPE_CHECKING:
    from torch import nn

VIT_AUGMENT = Augment.model_validate({"crop_padding": 2, "hflip": True, "rotation": 0.0})


class ViT(ModelSpec):
    """ViT-B/16 at 224x224 (timm), pre-trained on ImageNet-21k, fine-tuned (reference model)."""

    name = "vit"
    family = "vit"
    input_size = 224
    normalisation = "imagenet"
    # Spec §3.3, ViT column; epochs come from each dataset's table.
    default_recipe = Recipe.model_validate(
        {
            "epochs": 8,
            "batch_size": 64,
            "optimizer": "adamw",
            "lr": 5e-5,
            "weight_decay": 0.01,
            "warmup_epochs": 1,
            "schedule": "cosine",
            "milestones": (),
            "augment": VIT_AUGMENT,
        }
    )

    class Config(ComponentConfig):
        pretrained: bool = Field(True, description="start from pre-trained weights (local file or HF cache)")
        weights: Path | None = Field(
            None, description="a local weights file (.safetensors/.pth) of the timm model"
        )
        tag: str = Field("orig_in21k_ft_in1k", description="timm pretrained tag of vit_base_patch16_224")

    def create(self, num_classes: int, in_channels: int, image_size: int) -> nn.Module:
        from supreme_vision.models._timm import create_timm

        cfg = self.config
        return create_timm(
            f"vit_base_patch16_224.{cfg.tag}",  # type: ignore[attr-defined]
            model=self.name,
            pretrained=cfg.pretrained,  # type: ignore[attr-defined]
            weights=cfg.weights,  # type: ignore[attr-defined]
            num_classes=num_classes,
            in_chans=in_channels,
            img_size=image_size,
        )


class ViTTiny(ModelSpec):
    """Small ViT (timm, patch 4, 32x32 input), randomly initialised, for CPU runs and tests."""

    name = "vit_tiny"
    family = "vit"
    input_size = 32
    normalisation = "dataset"
    # From scratch a ViT needs a far larger learning rate than when fine-tuning.
    default_recipe = Recipe.model_validate(
        {
            "epochs": 8,
            "batch_size": 64,
            "optimizer": "adamw",
            "lr": 1e-3,
            "weight_decay": 0.05,
            "warmup_epochs": 1,
            "schedule": "cosine",
            "milestones": (),
            "augment": VIT_AUGMENT,
        }
    )

    class Config(ComponentConfig):
        embed_dim: int = Field(192, ge=8, le=2048, description="token width")
        depth: int = Field(12, ge=1, le=48, description="transformer blocks")
        num_heads: int = Field(3, ge=1, le=64, description="attention heads (must divide embed_dim)")
        patch_size: int = Field(4, ge=1, le=32, description="patch side (must divide 32)")

        @model_validator(mode="after")
        def _divisible(self) -> ViTTiny.Config:
            if self.embed_dim % self.num_heads:
                raise ValueError(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")
            if 32 % self.patch_size:
                raise ValueError(f"patch_size {self.patch_size} does not divide the 32-pixel input")
            return self

    def create(self, num_classes: int, in_channels: int, image_size: int) -> nn.Module:
        from timm.models.vision_transformer import VisionTransformer

        cfg = self.config
        return VisionTransformer(
            img_size=image_size,
            patch_size=cfg.patch_size,  # type: ignore[attr-defined]
            in_chans=in_channels,
            num_classes=num_classes,
            embed_dim=cfg.embed_dim,  # type: ignore[attr-defined]
            depth=cfg.depth,  # type: ignore[attr-defined]
            num_heads=cfg.num_heads,  # type: ignore[attr-defined]
            global_pool="token",
        )
