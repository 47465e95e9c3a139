"""Layers of a network, in order: what CF-k and EU-k mean by "the last k layers".

A *layer* is a child module that holds parameters, found by walking the module tree from
the root in registration order and looking inside ``nn.Sequential`` and ``nn.ModuleList``
containers (at any depth) instead of counting them as one layer. Anything else that holds
parameters (a convolution, a BatchNorm, a residual block, a transformer block, a linear
head) is one layer, whatever it contains. Modules without parameters (activations,
pooling, dropout, identity) are not layers. Parameters held directly by a container that
is walked (such as a ViT's class token and position embedding, held by the root) belong
to no layer and are never among the last k.

For the networks SUPREME ships, registration order is the order of the forward pass:

* ``resnet18`` (CIFAR ResNet18), 11 layers: ``conv1``, ``bn1``, the eight residual blocks
  ``layer1.0`` ... ``layer4.1`` (each with its shortcut), ``linear``; the last 3 are the
  two blocks of the last stage and the classifier;
* ``vit`` / ``vit_tiny`` (timm), depth + 3 layers: ``patch_embed``, ``blocks.0`` ...
  ``blocks.<depth-1>``, ``norm``, ``head``; the last 3 are the last transformer block, the
  final LayerNorm and the classifier;
* ``supreme.testing.TinyNet``, 5 layers: ``features.0`` (conv), ``features.1`` (BN),
  ``features.3`` (conv), ``features.4`` (BN), ``head``.

This module imports torch; it is only imported inside ``unlearn``.
"""

from __future__ import annotations

from torch import nn


def layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(qualified name, module)`` of every layer of ``model``, first to last."""
    found: list[tuple[str, nn.Module]] = []

    def visit(prefix: str, module: nn.Module) -> None:
        for name, child in module.named_children():
            path = prefix + name
            if isinstance(child, (nn.Sequential, nn.ModuleList)):
                visit(path + ".", child)
            elif next(child.parameters(), None) is not None:
                found.append((path, child))

    visit("", model)
    return found


def last_layers(model: nn.Module, k: int, method: str) -> list[tuple[str, nn.Module]]:
    """The last ``k`` layers of ``model``; a ``ValueError`` naming the layers when it has fewer."""
    every = layers(model)
    if not 1 <= k <= len(every):
        names = ", ".join(name for name, _ in every)
        raise ValueError(
            f"{method}: k = {k}, but the {type(model).__name__} has {len(every)} layers "
            f"({names}); set [method.{method}] k between 1 and {len(every)}"
        )
    return every[len(every) - k:]


def freeze_all_but(model: nn.Module, trained: list[tuple[str, nn.Module]]
                   ) -> dict[str, bool]:
    """Turn gradients off outside ``trained``; returns every parameter's former flag.

    A parameter that was already frozen in ``model`` stays frozen.
    """
    before = {name: p.requires_grad for name, p in model.named_parameters()}
    inside = {id(p) for _, module in trained for p in module.parameters()}
    for p in model.parameters():
        p.requires_grad_(p.requires_grad and id(p) in inside)
    return before


def restore_flags(model: nn.Module, flags: dict[str, bool]) -> None:
    """Give every parameter back the ``requires_grad`` flag it had."""
    for name, p in model.named_parameters():
        p.requires_grad_(flags[name])


def train_only(model: nn.Module, trained: list[tuple[str, nn.Module]]) -> None:
    """Eval mode everywhere but in ``trained`` (frozen BatchNorm keeps its statistics)."""
    model.eval()
    for _, module in trained:
        module.train()
