"""Conformance check for model specs: :func:`check_model`.

Run it from a plugin's test suite for every model the plugin registers::

    from supreme.testing.models import check_model

    @pytest.mark.parametrize("spec_cls", MY_MODELS)
    def test_conformance(spec_cls):
        check_model(spec_cls)

It builds the network for a tiny batch at the spec's input size, runs a forward and a
backward pass, checks that initialisation is reproducible under a fixed torch seed and
that the default recipe is valid. Each failure raises ``AssertionError`` with a
troubleshooting note.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from supreme.contracts import ComponentConfig, ModelSpec, Recipe
from supreme.testing import component_settings

__all__ = ["check_model"]

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


def _fail(what: str, fix: str) -> AssertionError:
    return AssertionError(f"{what}\n  troubleshooting: {fix}")


def check_model(
    spec_cls: type[ModelSpec],
    config: Mapping[str, Any] | ComponentConfig | None = None,
    *,
    num_classes: int = 3,
    in_channels: int = 3,
    native_size: int = 16,
    batch: int = 2,
) -> nn.Module:
    """Check ``spec_cls`` built with ``config`` (defaults when ``None``; a dict of fields or
    a ``spec_cls.Config``); return one network.

    ``native_size`` is the image side used when the spec takes the dataset's native size
    (``input_size = None``).
    """
    if not NAME_PATTERN.match(spec_cls.name or ""):
        raise _fail(
            f"model name {spec_cls.name!r} is not lowercase snake_case",
            "set the class attribute `name`, e.g. name = 'resnet18'",
        )
    if not spec_cls.describe():
        raise _fail(
            f"{spec_cls.name}: the class has no docstring",
            "its first line is the description shown by `supreme list models`",
        )
    if not spec_cls.family:
        raise _fail(
            f"{spec_cls.name}: family is empty",
            "datasets key their per-model epochs by family ('resnet', 'vit', ...)",
        )
    if spec_cls.normalisation not in ("dataset", "imagenet"):
        raise _fail(
            f"{spec_cls.name}: normalisation = {spec_cls.normalisation!r}",
            "use 'dataset' or 'imagenet'",
        )
    recipe = spec_cls.default_recipe
    if not isinstance(recipe, Recipe):
        raise _fail(
            f"{spec_cls.name}: default_recipe is a {type(recipe).__name__}",
            "build it with supreme.contracts.Recipe(...)",
        )
    Recipe.model_validate(recipe.model_dump())  # re-validate (frozen models may be built unchecked)
    spec = spec_cls(component_settings(spec_cls, config, check="check_model"))
    size = spec_cls.input_size or native_size

    def build(seed: int) -> nn.Module:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            return spec.create(num_classes, in_channels, size)

    model = build(0)
    again = build(0)
    other = build(1)
    first, second = model.state_dict(), again.state_dict()
    if first.keys() != second.keys() or not all(torch.equal(first[k], second[k]) for k in first):
        raise _fail(
            f"{spec_cls.name}: two networks created under torch.manual_seed(0) differ",
            "initialise only from the global torch RNG (no numpy/random/time seeding)",
        )
    if all(torch.equal(first[k], other.state_dict()[k]) for k in first):
        raise _fail(
            f"{spec_cls.name}: networks created under seeds 0 and 1 are identical",
            "create() must initialise from the global torch RNG (training seeds matter)",
        )

    x = torch.randn(batch, in_channels, size, size, generator=torch.Generator().manual_seed(0))
    model.train()
    logits = model(x)
    if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (batch, num_classes):
        raise _fail(
            f"{spec_cls.name}: forward gave {getattr(logits, 'shape', type(logits))}, "
            f"expected ({batch}, {num_classes})",
            "return plain logits [B, num_classes] (no tuples or model-output objects)",
        )
    if not torch.isfinite(logits).all():
        raise _fail(f"{spec_cls.name}: non-finite logits", "check the initialisation")
    logits.float().logsumexp(1).sum().backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not trainable:
        raise _fail(f"{spec_cls.name}: no trainable parameters", "unlearning needs gradients")
    missing = [n for n, p in trainable if p.grad is None]
    if missing:
        raise _fail(
            f"{spec_cls.name}: parameters without a gradient: {missing[:5]}",
            "every trainable parameter must take part in the forward pass",
        )
    if not all(torch.isfinite(p.grad).all() for _, p in trainable):  # type: ignore[arg-type]
        raise _fail(f"{spec_cls.name}: non-finite gradients", "check the forward pass")
    model.eval()
    with torch.no_grad():
        if not torch.equal(model(x), model(x)):
            raise _fail(
                f"{spec_cls.name}: two eval-mode forward passes differ",
                "eval mode must be deterministic (no active dropout)",
            )
    return model
