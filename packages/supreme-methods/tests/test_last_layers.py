"""CF-k and EU-k: only the last k layers change; EU-k re-initialises them first."""

from __future__ import annotations

import pytest
import torch
from methods_helpers import accuracy, student
from pydantic import ValidationError
from supreme.pipeline.train import unwrap
from supreme.testing import cpu_fabric
from supreme_methods._layers import last_layers, layers
from supreme_methods.cf_k import CFK
from supreme_methods.eu_k import EUK

TINY_LAYERS = ["features.0", "features.1", "features.3", "features.4", "head"]


def split_state(model, k):
    """(keys of the last k layers, keys of everything else) of ``model``'s state dict."""
    names = [n for n, _ in last_layers(model, k, "test")]
    keys = list(model.state_dict())
    last = [key for key in keys if any(key.startswith(n + ".") for n in names)]
    return last, [key for key in keys if key not in last]


def test_defaults_and_bounds():
    assert (CFK.Config().k, CFK.Config().epochs, CFK.Config().lr) == (3, 10, 0.01)
    assert (EUK.Config().k, EUK.Config().epochs) == (3, None)
    with pytest.raises(ValidationError, match="k"):
        CFK.Config(k=0)


def test_layers_of_the_shipped_networks():
    from supreme.testing import TinyNet

    assert [n for n, _ in layers(TinyNet())] == TINY_LAYERS
    resnet = pytest.importorskip("supreme_vision.models.resnet_net").CifarResNet(10)
    assert [n for n, _ in layers(resnet)] == [
        "conv1", "bn1", "layer1.0", "layer1.1", "layer2.0", "layer2.1", "layer3.0",
        "layer3.1", "layer4.0", "layer4.1", "linear"]
    timm = pytest.importorskip("timm.models.vision_transformer")
    vit = timm.VisionTransformer(img_size=8, patch_size=4, embed_dim=8, depth=2, num_heads=2,
                                 num_classes=3)
    assert [n for n, _ in layers(vit)] == ["patch_embed", "blocks.0", "blocks.1", "norm", "head"]


def test_too_many_layers_is_a_clear_error(tiny, fullclass_data):
    original, _ = tiny
    with pytest.raises(ValueError, match=r"cf_k: k = 6, but the TinyNet has 5 layers .*features\.0"):
        CFK(CFK.Config(k=6)).unlearn(student(original), fullclass_data, cpu_fabric())


@pytest.mark.parametrize("k", [1, 3])
def test_cf_k_leaves_all_but_the_last_k_layers_bit_identical(tiny, k):
    from supreme.testing.methods import tiny_unlearn_data

    original, train = tiny
    data = tiny_unlearn_data(original, train)
    result = unwrap(CFK(CFK.Config(k=k, epochs=2, lr=0.05)).unlearn(
        student(original), data, cpu_fabric()))
    last, rest = split_state(result, k)
    before, after = original.state_dict(), result.state_dict()
    assert all(torch.equal(after[key], before[key]) for key in rest)  # BN statistics included
    assert all(not torch.equal(after[key], before[key]) for key in last
               if after[key].is_floating_point())
    assert all(p.requires_grad for p in result.parameters()), "flags restored"


def test_eu_k_reinitialises_the_last_k_layers_and_keeps_the_rest(tiny):
    from supreme.testing.methods import tiny_unlearn_data

    original, train = tiny
    data = tiny_unlearn_data(original, train)
    method = EUK(EUK.Config(k=3, epochs=3, lr=0.05))
    result = unwrap(method.unlearn(student(original), data, cpu_fabric()))
    last, rest = split_state(result, 3)
    before, after = original.state_dict(), result.state_dict()
    assert all(torch.equal(after[key], before[key]) for key in rest)
    assert all(not torch.allclose(after[key].float(), before[key].float()) for key in last
               if key.endswith("weight"))
    assert accuracy(result, data, "retain") > 0.5


def test_eu_k_starts_from_a_fresh_network(tiny, monkeypatch):
    """With nothing to train (lr ~ 0) the last k layers equal new_model()'s under the drawn seed."""
    from supreme.testing.methods import tiny_unlearn_data
    from supreme_methods import cf_k

    original, train = tiny
    data = tiny_unlearn_data(original, train, seed=3)
    monkeypatch.setattr(cf_k.LastLayers, "epochs", lambda self, data: 1)
    method = EUK(EUK.Config(k=2, lr=1e-30, momentum=0.0, weight_decay=0.0))
    seed = tiny_unlearn_data(original, train, seed=3).draw_seed()  # the method's first draw
    result = unwrap(method.unlearn(student(original), data, cpu_fabric()))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fresh = data.new_model()
    for name, module in last_layers(result, 2, "eu_k"):
        for (pname, p), q in zip(module.named_parameters(),
                                 fresh.get_submodule(name).parameters(), strict=True):
            assert torch.allclose(p, q, rtol=1e-6, atol=1e-20), f"{name}.{pname}"


def test_eu_k_defaults_to_the_original_recipe_epochs(tiny, fullclass_data):
    assert EUK().epochs(fullclass_data) == fullclass_data.recipe.epochs
    assert CFK().epochs(fullclass_data) == 10
