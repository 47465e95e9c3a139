"""Which evaluation splits a metric reports on (no torch here: imported by the plugin)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from supreme.contracts import EvalContext, Outputs

#: The held-out splits most metrics report on: D' (``test``), D'_r and D'_f.
TEST_SPLITS = ("test", "retain_test", "forget_test")


def test_splits(ctx: EvalContext) -> list[str]:
    """The held-out splits this context has, in :data:`TEST_SPLITS` order, skipping empty ones.

    An empty split has no mean, so it gets no key rather than a NaN.
    """
    return [s for s in TEST_SPLITS if s in ctx.splits and len(ctx.splits[s]) > 0]


def per_test_split(ctx: EvalContext, score: Callable[[Outputs], float]) -> dict[str, float]:
    """``{split: score(outputs of the evaluated model)}`` over :func:`test_splits`."""
    return {split: score(ctx.outputs("unlearned", split)) for split in test_splits(ctx)}


def against_reference(
    ctx: EvalContext, score: Callable[[torch.Tensor, torch.Tensor], float]
) -> dict[str, float]:
    """``{split: score(logits of M_u, logits of M_r)}`` over :func:`test_splits`."""
    return {
        split: score(ctx.outputs("unlearned", split).logits, ctx.outputs("reference", split).logits)
        for split in test_splits(ctx)
    }
