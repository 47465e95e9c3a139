"""Fisher forgetting: the Fisher diagonal and the noise scale in closed form on a linear model."""

from __future__ import annotations

import copy

import pytest
import torch
from pydantic import ValidationError
from supreme.testing import cpu_fabric
from supreme_methods.fisher import Fisher
from torch import nn


def linear_model() -> nn.Module:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 4))


@pytest.fixture
def linear_data(tiny):
    """The tiny data set (4 classes of 8x8 images) for a linear model, random forgetting."""
    from supreme.testing.methods import tiny_unlearn_data

    _, train = tiny

    def make(scenario="random"):
        return tiny_unlearn_data(linear_model(), train, scenario=scenario, seed=1)

    return make


def retain_inputs(data) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = next(iter(data.local_loader("retain", batch_size=len(data.retain))))
    return x.flatten(1).double(), y


def closed_form(model, data, kind="expected") -> dict[str, torch.Tensor]:
    """F of softmax regression: mean of x_j²·p_k(1−p_k) (expected) or x_j²·(p_k − 1[k=y])²."""
    x, y = retain_inputs(data)
    layer = model[1]
    p = torch.softmax(x @ layer.weight.detach().double().T + layer.bias.detach().double(), dim=1)
    target = p if kind == "expected" else nn.functional.one_hot(y, 4).double()
    # expected: Σ_c p_c (p_k − 1[k=c])² = p_k(1 − p_k); empirical: (p_k − 1[k=y])²
    per_class = p * (1 - p) if kind == "expected" else (p - target) ** 2
    return {"1.weight": (per_class.T @ x**2) / len(x), "1.bias": per_class.mean(0)}


def test_reference_defaults_and_bounds():
    cfg = Fisher.Config()
    assert (cfg.alpha, cfg.fisher, cfg.per_row) == (1e-6, "expected", True)
    with pytest.raises(ValidationError, match="alpha"):
        Fisher.Config(alpha=0)
    with pytest.raises(ValidationError, match="fisher"):
        Fisher.Config(fisher="true")


@pytest.mark.parametrize("kind", ["expected", "empirical"])
def test_fisher_diagonal_matches_the_closed_form(linear_data, kind):
    data = linear_data()
    model = linear_model()
    method = Fisher(Fisher.Config(fisher=kind, batch_size=7, chunk_size=5))
    got = method.information(model, data)
    for name, want in closed_form(model, data, kind).items():
        assert torch.allclose(got[name].double(), want, rtol=1e-4, atol=1e-9), name


@pytest.mark.parametrize(("per_row", "scenario"), [(True, "random"), (False, "random"),
                                                   (True, "fullclass")])
def test_noise_follows_the_inverse_fisher(linear_data, per_row, scenario):
    """θ_u = μ + σ·n with σ² = 10·α·min(1/(F + 1e-8), 100) for the linear classifier
    (averaged over each row for the weight), n the generator's normal draws."""
    data = linear_data(scenario)
    model = linear_model()
    alpha = 1e-3
    fisher = closed_form(model, data)
    var = {n: 10 * alpha * (1 / (f + 1e-8)).clamp(max=100.0) for n, f in fisher.items()}
    if per_row:
        var["1.weight"] = var["1.weight"].mean(1, keepdim=True).expand(4, 64)
    mean = {n: p.detach().double().clone() for n, p in model.named_parameters()}
    if scenario == "fullclass":
        var["1.weight"][0], var["1.bias"][0] = 1e-3, 1e-3
        mean["1.weight"][0], mean["1.bias"][0] = 0.0, 0.0
    generator = copy.deepcopy(data.generator)
    noise = {n: torch.randn(p.shape, generator=generator).double()
             for n, p in model.named_parameters()}
    result = Fisher(Fisher.Config(alpha=alpha, per_row=per_row)).unlearn(model, data, cpu_fabric())
    for name, p in result.named_parameters():
        want = mean[name] + var[name].sqrt() * noise[name]
        assert torch.allclose(p.detach().double(), want, rtol=1e-4, atol=1e-7), name
    # the variance is not constant: it follows F (the check above is not about a scalar)
    assert var["1.bias"].max() > 1.2 * var["1.bias"].min()


def test_classifier_is_the_last_layer_not_any_tensor_with_a_row_per_class(tiny):
    """A hidden layer with as many units as classes is not the classifier (capped at 1e3)."""
    from supreme_methods.fisher import classifier

    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 4), nn.ReLU(), nn.Linear(4, 4))
    head = classifier(model, 4)
    assert head == {id(model[3].weight), id(model[3].bias)}


def test_changes_only_parameters_and_leaves_buffers(tiny, fullclass_data):
    original, _ = tiny
    model = copy.deepcopy(original).train()
    result = Fisher().unlearn(model, fullclass_data, cpu_fabric())
    before, after = original.state_dict(), result.state_dict()
    params = dict(result.named_parameters())
    for key in before:
        if key in params:
            assert not torch.equal(after[key], before[key]), key
        else:
            assert torch.equal(after[key], before[key]), key
    assert result.training
