"""layerwise_distance: zero for identical networks, hand-computed norms otherwise."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from supreme.errors import SupremeError
from supreme.testing import TinyNet
from supreme_metrics.layerwise_distance import LayerwiseDistance


def context_of(model: torch.nn.Module, reference: torch.nn.Module, logit_context):
    ctx = logit_context({("unlearned", "test"): (torch.zeros(1, 2), torch.zeros(1))})
    ctx.models = {"unlearned": model, "reference": reference}
    return ctx


def net() -> TinyNet:
    torch.manual_seed(0)
    return TinyNet(4)


def test_identical_networks_are_at_distance_zero(logit_context) -> None:
    model = net()
    result = LayerwiseDistance().compute(context_of(model, copy.deepcopy(model), logit_context))
    assert result == {"total": 0.0, "layer.features.0": 0.0, "layer.features.1": 0.0,
                      "layer.features.3": 0.0, "layer.features.4": 0.0, "layer.head": 0.0}


def test_hand_computed_norms_per_layer_and_overall(logit_context) -> None:
    reference = net()
    model = copy.deepcopy(reference)
    with torch.no_grad():
        model.head.bias.add_(torch.tensor([3.0, 4.0, 0.0, 0.0]))  # head: √(9 + 16) = 5
        model.features[1].weight.add_(1.0)  # BN 1: 8 weights + 8 biases moved by 1 -> 4
        model.features[1].bias.add_(1.0)
        model.features[1].running_mean.add_(100.0)  # a buffer: not a parameter, ignored
    result = LayerwiseDistance().compute(context_of(model, reference, logit_context))
    assert result["layer.head"] == pytest.approx(5.0)
    assert result["layer.features.1"] == pytest.approx(4.0)
    assert result["layer.features.0"] == 0.0
    assert result["total"] == pytest.approx(math.sqrt(25 + 16))


def test_different_architectures_are_an_error_naming_the_parameters(logit_context) -> None:
    ctx = context_of(TinyNet(4, width=8), TinyNet(4, width=4), logit_context)
    with pytest.raises(SupremeError, match=r"parameter 'features.0.weight' of 'test' has shape "
                                           r"\(8, 1, 3, 3\), M_r's has \(4, 1, 3, 3\)"):
        LayerwiseDistance().compute(ctx)
