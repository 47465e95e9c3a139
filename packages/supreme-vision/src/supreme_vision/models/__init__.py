"""The model specs supreme-vision registers (each in its own module)."""

from supreme_vision.models.resnet import ResNet18
from supreme_vision.models.vit import ViT, ViTTiny

#: Every model spec this package provides, in registration order.
MODELS = (ResNet18, ViT, ViTTiny)

__all__ = ["MODELS", "ResNet18", "ViT", "ViTTiny"]
