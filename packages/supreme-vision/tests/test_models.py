"""Model specs: ResNet18 architecture, recipes, ViT weights (conformance: test_conformance)."""

from __future__ import annotations

import pytest
import torch
from supreme.contracts import Recipe
from supreme_vision.models.resnet import ResNet18


def test_resnet18_reference_size() -> None:
    # The CIFAR ResNet18 with 10 outputs has 11,173,962 parameters.
    model = ResNet18().create(10, 3, 32)
    assert sum(p.numel() for p in model.parameters()) == 11_173_962


@pytest.mark.parametrize("size", [8, 28, 32])
def test_resnet18_grey_small_inputs(size: int) -> None:
    model = ResNet18(ResNet18.Config(width=4)).create(7, 1, size)
    assert model.conv1.weight.shape == (4, 1, 3, 3)
    assert model.linear.in_features == 32  # 8w after four stages
    assert model(torch.zeros(3, 1, size, size)).shape == (3, 7)


def test_resnet18_stem_keeps_resolution() -> None:
    model = ResNet18(ResNet18.Config(width=2)).create(3, 3, 16)
    seen = []
    model.layer1.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    model.layer4.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    model(torch.zeros(1, 3, 16, 16))
    assert seen == [(1, 2, 16, 16), (1, 16, 2, 2)]  # stride 1 stem, strides 1/2/2/2


def test_resnet18_recipe_is_the_reference_one() -> None:
    recipe = ResNet18.default_recipe
    assert (recipe.optimizer, recipe.lr, recipe.momentum, recipe.weight_decay) == (
        "sgd",
        0.1,
        0.9,
        5e-4,
    )
    assert (recipe.warmup_epochs, recipe.schedule, recipe.gamma) == (1, "multistep", 0.2)
    assert recipe.batch_size == 64 and recipe.selection == "last"


def test_resnet18_recipe_for_digits_uses_the_dataset_table() -> None:
    from supreme_vision.datasets.digits import Digits

    recipe = ResNet18().recipe(Digits())
    assert isinstance(recipe, Recipe)
    assert recipe.epochs == Digits.recipes["resnet"]["epochs"]
    assert recipe.augment.hflip is False and recipe.augment.crop_padding == 1
    # the dataset overrides the learning rate (docs/models.md, "Convergence of the
    # references"); the model's other optimiser settings survive the override
    assert recipe.lr == 0.02 and ResNet18.default_recipe.lr == 0.1
    assert (recipe.optimizer, recipe.momentum, recipe.weight_decay) == ("sgd", 0.9, 5e-4)


def test_width_is_validated() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        ResNet18.Config(width=0)
    with pytest.raises(ValidationError):
        ResNet18.Config(widht=8)  # type: ignore[call-arg]


# -- ViT ------------------------------------------------------------------------------------


def test_vit_recipe_is_the_reference_one() -> None:
    from supreme_vision.models import ViT

    recipe = ViT.default_recipe
    assert (recipe.optimizer, recipe.lr, recipe.weight_decay) == ("adamw", 5e-5, 0.01)
    assert (recipe.schedule, recipe.warmup_epochs) == ("cosine", 1)
    assert (ViT.input_size, ViT.normalisation) == (224, "imagenet")


def test_vit_pretrained_without_weights_fails_at_once(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import time

    import huggingface_hub.constants
    from supreme.errors import ConfigError
    from supreme_vision.models import ViT

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))  # an empty cache
    start = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        ViT().create(10, 3, 224)
    assert time.perf_counter() - start < 5  # no network attempt, no retries
    assert "pretrained = true but no weights" in info.value.message
    assert "hf download timm/vit_base_patch16_224.orig_in21k_ft_in1k" in info.value.hint
    with pytest.raises(ConfigError, match="does not exist"):
        ViT(ViT.Config(weights=tmp_path / "missing.safetensors")).create(10, 3, 224)


def test_timm_weights_come_from_the_file_and_the_head_is_fresh(tmp_path) -> None:
    import timm
    from safetensors.torch import save_file
    from supreme_vision.models._timm import create_timm

    name = "vit_tiny_patch16_224.augreg_in21k_ft_in1k"
    torch.manual_seed(0)
    source = timm.create_model(name, pretrained=False, img_size=32, num_classes=1000)
    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(path))
    torch.manual_seed(1)
    loaded = create_timm(name, model="t", pretrained=True, weights=path, num_classes=4, img_size=32)
    assert torch.equal(loaded.patch_embed.proj.weight, source.patch_embed.proj.weight)
    assert torch.equal(loaded.blocks[0].attn.qkv.weight, source.blocks[0].attn.qkv.weight)
    assert loaded.head.weight.shape == (4, 192)
    # PyTorch's default Linear init: uniform within 1/sqrt(fan_in)
    assert loaded.head.weight.abs().max() <= 192**-0.5
