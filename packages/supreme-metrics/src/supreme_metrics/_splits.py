"""Which evaluation splits a metric reports on (no torch here: imported by the plugin)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supreme.contracts import EvalContext

#: The held-out splits most metrics report on: D' (``test``), D'_r and D'_f.
TEST_SPLITS = ("test", "retain_test", "forget_test")


def test_splits(ctx: EvalContext) -> list[str]:
    """The held-out splits this context has, in :data:`TEST_SPLITS` order, skipping empty ones.

    An empty split has no mean, so it gets no key rather than a NaN.
    """
    return [s for s in TEST_SPLITS if s in ctx.splits and len(ctx.splits[s]) > 0]
